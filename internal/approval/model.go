package approval

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Action is a step of the flow.
type Action string

// The actions.
const (
	Submit  Action = "submit"
	Approve Action = "approve"
	Return  Action = "return" // back to the submitter, to fix and submit again
	Reject  Action = "reject" // final
	// Withdraw closes a request whose subject its domain took back (a pending
	// grant revoked): nobody decides it any more. It is not a decision.
	Withdraw Action = "withdraw"
)

// States of a request.
const (
	Pending   = "pending"
	Approved  = "approved"
	Returned  = "returned"
	Rejected  = "rejected"
	Withdrawn = "withdrawn"
)

var stateAfter = map[Action]string{Approve: Approved, Return: Returned, Reject: Rejected}

// Subject is what is put to a decision.
type Subject struct {
	Type     string // e.g. review, enrollment
	ID       uuid.UUID
	AreaPath string // where it belongs: deciders must hold their role above it
}

// Decision is a decision as the subject's domain receives it.
type Decision struct {
	Subject   Subject
	Action    Action
	Reason    string
	Actor     string     // who decided (a user id or a system job's name)
	ActorID   *uuid.UUID // nil for system jobs
	Submitter string
	At        time.Time
}

// Effect applies a decision to its subject, in the decision's transaction;
// an error undoes the decision.
type Effect func(ctx context.Context, d Decision) error

// Step is one recorded step.
type Step struct {
	Action Action
	Actor  string
	Reason string
	At     time.Time
}

// ruling is a decision asked for, parsed: the action, the state it leads to
// and the reason, trimmed.
type ruling struct {
	action Action
	state  string
	reason string
}

// newRuling parses a decision: approve, return or reject; the last two need
// a reason.
func newRuling(action Action, reason string) (ruling, error) {
	state, ok := stateAfter[action]
	if !ok {
		return ruling{}, fmt.Errorf("approval: %q is not a decision", action)
	}
	reason = strings.TrimSpace(reason)
	if action != Approve && reason == "" {
		return ruling{}, errReasonRequired
	}
	return ruling{action: action, state: state, reason: reason}, nil
}

// request is a subject's standing in the flow: one row a subject, kept from
// its first submission on.
type request struct {
	Subject     Subject
	State       string
	SubmittedBy string
	SubmittedAt time.Time
	DecidedBy   *string
	DecidedAt   *time.Time
}

// newRequest is a first submission.
func newRequest(s Subject, actor string, at time.Time) request {
	return request{Subject: s, State: Pending, SubmittedBy: actor, SubmittedAt: at}
}

// resubmit puts a returned request to a decision again, by actor, in the
// area the subject now belongs to.
func (r *request) resubmit(areaPath, actor string, at time.Time) error {
	if r.State != Returned {
		return notPending(r.State)
	}
	r.State, r.Subject.AreaPath, r.SubmittedBy, r.SubmittedAt = Pending, areaPath, actor, at
	r.DecidedBy, r.DecidedAt = nil, nil
	return nil
}

// withdraw closes a request still open (pending, or returned for a fix)
// because its subject was taken back.
func (r *request) withdraw(actor string, at time.Time) error {
	if r.State != Pending && r.State != Returned {
		return notPending(r.State)
	}
	r.State, r.DecidedBy, r.DecidedAt = Withdrawn, &actor, &at
	return nil
}

// awaitingDecision refuses a request that is not pending.
func (r request) awaitingDecision() error {
	if r.State != Pending {
		return notPending(r.State)
	}
	return nil
}

// decide applies a ruling by actor. Nobody decides what they submitted, in
// this round or an earlier one (submittedBefore: a return and someone else's
// resubmission change nothing).
func (r *request) decide(d ruling, actor string, submittedBefore bool, at time.Time) error {
	if err := r.awaitingDecision(); err != nil {
		return err
	}
	if r.SubmittedBy == actor || submittedBefore {
		return ErrOwnSubmission
	}
	r.State, r.DecidedBy, r.DecidedAt = d.state, &actor, &at
	return nil
}
