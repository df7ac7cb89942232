package auth

import (
	"context"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/approval"
	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// Granting a role that reads personal data takes two system administrators:
// one asks (the assignment is pending and gives nothing), another approves
// or rejects it through the generic approval flow, which refuses the one who
// asked. Nobody changes their own assignments. Both steps are audit events.

// GrantSubjectType is what a pending grant is called in the approval flow;
// the subject's id is the assignment's.
const GrantSubjectType = "role_grant"

// approvals is the generic approval flow (*approval.Flow).
type approvals interface {
	Submit(ctx context.Context, s approval.Subject, note string) error
	Decide(ctx context.Context, scope access.Scope, s approval.Subject, action approval.Action, reason string) (approval.Decision, error)
	Withdraw(ctx context.Context, s approval.Subject, reason string) error
}

// UseApprovals gives the service the approval flow; register GrantDecided as
// the flow's effect for GrantSubjectType.
func (s *Service) UseApprovals(a approvals) { s.approvals = a }

// PendingGrant is a grant awaiting a second administrator's decision.
type PendingGrant struct {
	User       UserView
	Assignment AssignmentView
	State      string // the approval flow's state: approval.Pending
}

// errApprovalsUnwired is a service built without UseApprovals.
var errApprovalsUnwired = apperr.New(apperr.Internal, "approvals_unavailable", "the approval flow is not wired")

// notOwnAccount refuses a change to the actor's own assignments.
func notOwnAccount(ctx context.Context, id uuid.UUID) error {
	if actor, _ := access.ActorFrom(ctx); actor.UserID == id {
		return errOwnAssignments
	}
	return nil
}

// requestGrant records a pending assignment of a data role and submits it
// for approval, audited as user.grant_request.
func (s *Service) requestGrant(ctx context.Context, scope access.Scope, id uuid.UUID, g Grant) (PendingGrant, error) {
	if s.approvals == nil {
		return PendingGrant{}, errApprovalsUnwired
	}
	var pending AssignmentView
	v, err := s.administer(ctx, scope, id, nil, "user.grant_request", g.Role+"@"+g.AreaCode, func(ctx context.Context, u *User) error {
		a, found, err := s.store.addAssignmentAs(ctx, u.ID, g, access.ActorID(ctx), AssignmentPending)
		if err != nil {
			return err
		}
		if !found {
			return apperr.Fields([]apperr.FieldError{{Field: "assignments[0].area_code", Code: "invalid", Message: "no such area"}})
		}
		pending = a
		return s.approvals.Submit(ctx, approval.Subject{Type: GrantSubjectType, ID: a.ID, AreaPath: a.AreaPath},
			"grant "+g.Role+" at "+g.AreaCode)
	})
	if err != nil {
		return PendingGrant{}, err
	}
	return PendingGrant{User: v, Assignment: pending, State: approval.Pending}, nil
}

// DecideGrant approves or rejects a pending grant on a user in scope, as a
// system administrator other than the one who asked and other than the user
// (audited as user.grant_approve or user.grant_reject). Approved, the
// assignment is active from now on; rejected, it is revoked.
func (s *Service) DecideGrant(ctx context.Context, scope access.Scope, id, assignment uuid.UUID, action approval.Action,
	reason string) (UserView, error) {
	if err := notOwnAccount(ctx, id); err != nil {
		return UserView{}, err
	}
	if s.approvals == nil {
		return UserView{}, errApprovalsUnwired
	}
	v, err := s.administer(ctx, scope, id, nil, "user.grant_"+string(action), reason, func(ctx context.Context, u *User) error {
		a, found, err := s.store.pendingAssignment(ctx, u.ID, assignment)
		if err != nil {
			return err
		}
		if !found {
			return errGrantNotPending
		}
		if !scope.Contains(a.AreaPath) {
			return errGrantOutsideScope
		}
		_, err = s.approvals.Decide(ctx, scope, approval.Subject{Type: GrantSubjectType, ID: a.ID}, action, reason)
		return err
	})
	s.forgetOnCommit(ctx, id)
	return v, err
}

// GrantDecided is the approval flow's effect for grants, in the decision's
// transaction: an approval activates the assignment, a rejection revokes it.
// A grant revoked while it waited cannot be approved.
func (s *Service) GrantDecided(ctx context.Context, d approval.Decision) error {
	switch d.Action {
	case approval.Approve, approval.Reject:
	default:
		return apperr.New(apperr.Conflict, "grant_not_pending", "a grant is approved or rejected, not %s", d.Action)
	}
	done, err := s.store.decideAssignment(ctx, d.Subject.ID, d.Action == approval.Approve)
	if err != nil {
		return err
	}
	if !done {
		return errGrantNotPending
	}
	return nil
}
