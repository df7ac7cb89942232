package assessment

import (
	"fmt"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

var (
	errReviewNotFound     = apperr.New(apperr.NotFound, "review_not_found", "no such review")
	errAssessmentNotFound = apperr.New(apperr.NotFound, "assessment_not_found", "no such assessment")
	errObjectionNotFound  = apperr.New(apperr.NotFound, "objection_not_found", "no such objection in this review")
	errStandardNotFound   = apperr.New(apperr.NotFound, "standard_not_found", "no such poverty standard")
	errNotDraft           = apperr.New(apperr.Conflict, "assessment_not_draft",
		"only a draft assessment can be changed: this one was agreed at the village meeting or recognized")
)

// wrongState refuses an action the review's state does not allow, telling
// the client the state it is in.
func wrongState(action, state string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "review_state", State: state,
		Message: fmt.Sprintf("a review that is %s cannot %s", state, action)}
}
