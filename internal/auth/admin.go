package auth

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/approval"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// User administration for system_admin. A user is in an admin's scope when
// one of the user's active assignments lies in it; others are "not found".
// An admin grants only at areas inside their own scope.

// CreateUser creates a user with role assignments, audited with the actor in
// ctx. An existing username is a Conflict.
func (s *Service) CreateUser(ctx context.Context, n NewUser) (uuid.UUID, error) {
	if err := n.validate(); err != nil {
		return uuid.Nil, err
	}
	hash, err := s.passwords.hash(ctx, n.Password)
	if err != nil {
		return uuid.Nil, err
	}
	id := uuid.Must(uuid.NewV7())
	err = s.db.WithTx(ctx, func(ctx context.Context) error {
		if err := s.store.addUser(ctx, id, n, hash); err != nil {
			return err
		}
		grants := []map[string]string{}
		for _, g := range n.Assignments {
			status, err := s.addFirstAssignment(ctx, id, g, n.askApproval)
			if err != nil {
				return err
			}
			grants = append(grants, map[string]string{"role": g.Role, "area": g.AreaCode, "status": status})
		}
		var home string
		if len(n.Assignments) > 0 {
			a, err := s.areas.Get(ctx, n.Assignments[0].AreaCode)
			if err != nil {
				return err
			}
			home = a.Path
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "user.create", EntityType: "user", EntityID: id.String(),
			AreaPath: home, After: map[string]any{"username": n.Username, "full_name": n.FullName, "assignments": grants,
				"must_change_password": n.MustChangePassword}})
	})
	if apperr.Is(err, apperr.Conflict) {
		return uuid.Nil, apperr.New(apperr.Conflict, "username_taken", "the username %s is taken", n.Username)
	}
	return id, err
}

// addFirstAssignment gives a new user a role: active at once, or, when
// askApproval and the role reads personal data, pending and submitted for a
// second administrator's approval. It answers the assignment's status.
func (s *Service) addFirstAssignment(ctx context.Context, id uuid.UUID, g Grant, askApproval bool) (string, error) {
	noArea := apperr.Fields([]apperr.FieldError{{Field: "area", Code: "invalid", Message: "no administrative area " + g.AreaCode}})
	if !askApproval || !g.ReadsPersonalData() {
		found, err := s.store.addAssignment(ctx, id, g, nil)
		if err == nil && !found {
			err = noArea
		}
		return AssignmentActive, err
	}
	if s.approvals == nil {
		return "", errApprovalsUnwired
	}
	a, found, err := s.store.addAssignmentAs(ctx, id, g, access.ActorID(ctx), AssignmentPending)
	if err == nil && !found {
		err = noArea
	}
	if err != nil {
		return "", err
	}
	return AssignmentPending, s.approvals.Submit(ctx, approval.Subject{Type: GrantSubjectType, ID: a.ID, AreaPath: a.AreaPath},
		"grant "+g.Role+" at "+g.AreaCode)
}

// GetUser is one user in scope.
func (s *Service) GetUser(ctx context.Context, scope access.Scope, id uuid.UUID) (UserView, error) {
	u, found, err := s.store.userIn(ctx, scope, id)
	if err != nil {
		return UserView{}, db.MapError(err)
	}
	if !found {
		return UserView{}, errUserNotFound
	}
	return s.store.view(ctx, u)
}

// ListUsers is a page of users in scope, by username, after the given one.
func (s *Service) ListUsers(ctx context.Context, scope access.Scope, after string, limit int) ([]UserView, error) {
	users, err := s.store.usersIn(ctx, scope, after, limit)
	if err != nil {
		return nil, err
	}
	return s.store.views(ctx, users...)
}

// checkGrants refuses grants at areas outside the admin's scope (or unknown).
func (s *Service) checkGrants(ctx context.Context, scope access.Scope, grants []Grant) error {
	for i, g := range grants {
		a, err := s.areas.Get(ctx, g.AreaCode)
		if e, ok := apperr.As(err); ok && e.Code == "area_not_found" {
			return apperr.Fields([]apperr.FieldError{{Field: fmt.Sprintf("assignments[%d].area_code", i), Code: "invalid", Message: "no such area"}})
		}
		if err != nil {
			return err
		}
		if !scope.Contains(a.Path) {
			return errGrantOutsideScope
		}
	}
	return nil
}

// CreateUserIn creates a user as an admin with the given scope; roles that
// read personal data are pending until another system administrator
// approves them (DecideGrant), as with Grant.
func (s *Service) CreateUserIn(ctx context.Context, scope access.Scope, n NewUser) (UserView, error) {
	n.askApproval = true
	if err := s.checkGrants(ctx, scope, n.Assignments); err != nil {
		return UserView{}, err
	}
	if len(n.Assignments) == 0 {
		return UserView{}, apperr.Fields([]apperr.FieldError{{Field: "assignments", Code: "required", Message: "a user needs at least one role"}})
	}
	id, err := s.CreateUser(ctx, n)
	if err != nil {
		return UserView{}, err
	}
	return s.GetUser(ctx, scope, id)
}

// UpdateUser changes a user's profile if version still matches.
func (s *Service) UpdateUser(ctx context.Context, scope access.Scope, id uuid.UUID, version int, p UserPatch) (UserView, error) {
	if err := p.normalize(); err != nil {
		return UserView{}, err
	}
	return s.administer(ctx, scope, id, &version, "user.update", "", func(_ context.Context, u *User) error {
		u.Patch(p)
		return nil
	})
}

// SetStatus disables (ending every session) or re-enables a user.
func (s *Service) SetStatus(ctx context.Context, scope access.Scope, id uuid.UUID, disabled bool, reason string) (UserView, error) {
	action := "user.enable"
	if disabled {
		action = "user.disable"
	}
	if actor, _ := access.ActorFrom(ctx); actor.UserID == id {
		return UserView{}, errOwnAccount
	}
	v, err := s.administer(ctx, scope, id, nil, action, reason, func(_ context.Context, u *User) error {
		u.SetStatus(disabled)
		return nil
	})
	s.forgetOnCommit(ctx, id)
	return v, err
}

// ResetPassword sets a one-time password the user must change, ending their
// sessions, and returns it.
func (s *Service) ResetPassword(ctx context.Context, scope access.Scope, id uuid.UUID) (string, error) {
	temp := OneTimePassword()
	hash, err := s.passwords.hash(ctx, temp)
	if err != nil {
		return "", err
	}
	_, err = s.administer(ctx, scope, id, nil, "user.password_reset", "", func(_ context.Context, u *User) error {
		u.SetPassword(hash, true)
		return nil
	})
	s.forgetOnCommit(ctx, id)
	return temp, err
}

// Grant adds a role assignment at an area inside the admin's scope, to
// someone else. A role that reads personal data is only asked for: the
// assignment is pending (pending true) until another system administrator
// approves it (DecideGrant); system_admin is granted at once.
func (s *Service) Grant(ctx context.Context, scope access.Scope, id uuid.UUID, g Grant) (PendingGrant, bool, error) {
	if err := notOwnAccount(ctx, id); err != nil {
		return PendingGrant{}, false, err
	}
	if err := apperr.Fields(g.problems(0)); err != nil {
		return PendingGrant{}, false, err
	}
	if err := s.checkGrants(ctx, scope, []Grant{g}); err != nil {
		return PendingGrant{}, false, err
	}
	var out PendingGrant
	var err error
	if g.ReadsPersonalData() {
		out, err = s.requestGrant(ctx, scope, id, g)
	} else {
		out.User, err = s.administer(ctx, scope, id, nil, "user.grant", g.Role+"@"+g.AreaCode, func(ctx context.Context, u *User) error {
			found, err := s.store.addAssignment(ctx, u.ID, g, access.ActorID(ctx))
			if err == nil && !found {
				err = apperr.Fields([]apperr.FieldError{{Field: "assignments[0].area_code", Code: "invalid", Message: "no such area"}})
			}
			return err
		})
	}
	if apperr.Is(err, apperr.Conflict) {
		return PendingGrant{}, false, apperr.New(apperr.Conflict, "already_granted", "the user already holds or awaits %s at %s", g.Role, g.AreaCode)
	}
	s.forgetOnCommit(ctx, id)
	return out, g.ReadsPersonalData(), err
}

// Revoke ends a role assignment (kept, with who and when). The assignment's
// area must be inside the admin's scope. A grant still awaiting approval is
// withdrawn from the approval flow too, so it waits for nobody.
func (s *Service) Revoke(ctx context.Context, scope access.Scope, id, assignment uuid.UUID) (UserView, error) {
	if err := notOwnAccount(ctx, id); err != nil {
		return UserView{}, err
	}
	v, err := s.administer(ctx, scope, id, nil, "user.revoke", assignment.String(), func(ctx context.Context, u *User) error {
		path, status, found, err := s.store.liveAssignment(ctx, u.ID, assignment)
		if err != nil {
			return err
		}
		if !found {
			return errAssignmentNotFound
		}
		if !scope.Contains(path) {
			return errGrantOutsideScope
		}
		if status == AssignmentPending {
			if s.approvals == nil {
				return errApprovalsUnwired
			}
			err := s.approvals.Withdraw(ctx, approval.Subject{Type: GrantSubjectType, ID: assignment}, "revoked before a decision")
			if err != nil {
				return err
			}
		}
		return s.store.revokeAssignment(ctx, assignment)
	})
	s.forgetOnCommit(ctx, id)
	return v, err
}

// administer changes a user in scope (checking version when one is given)
// and records action with the user's state before and after, in one
// transaction. change alters the user through its transitions, or writes
// their role assignments itself.
func (s *Service) administer(ctx context.Context, scope access.Scope, id uuid.UUID, version *int, action, reason string,
	change func(context.Context, *User) error) (UserView, error) {
	var out UserView
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		var before UserView
		err := s.store.update(ctx, scope, id, version, func(u *User) error {
			var err error
			if before, err = s.store.view(ctx, *u); err != nil {
				return err
			}
			return change(ctx, u)
		})
		if err != nil {
			return err
		}
		fresh, _, err := s.store.userByID(ctx, id)
		if err != nil {
			return err
		}
		if out, err = s.store.view(ctx, fresh); err != nil {
			return err
		}
		home := out.homeArea()
		if home == "" {
			home = before.homeArea()
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: action, EntityType: "user", EntityID: id.String(),
			AreaPath: home, Reason: reason, Before: before.redact(), After: out.redact()})
	})
	return out, err
}
