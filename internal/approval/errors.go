package approval

import (
	"fmt"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// ErrOwnSubmission refuses a decision by the one who submitted.
var ErrOwnSubmission = apperr.New(apperr.Forbidden, "own_submission", "you submitted this: someone else must decide it")

// errReasonRequired refuses a return or a rejection without a reason.
var errReasonRequired = apperr.Fields([]apperr.FieldError{{Field: "reason", Code: "required", Message: "say why"}})

// notPending refuses a step the request's state does not allow; the state
// travels in the problem, so a client that lost a race learns the winner's.
func notPending(state string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "approval_not_pending", State: state,
		Message: fmt.Sprintf("this is not awaiting a decision: it is %s", state)}
}

// notSubmitted refuses a decision on a subject never submitted.
func notSubmitted() error { return notPending("not submitted") }

// notFound answers a subject outside the decider's scope.
func notFound(subjectType string) error {
	return apperr.New(apperr.NotFound, "not_found", "no such %s", subjectType)
}
