package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// User administration for system_admin. A user is in an admin's scope when
// one of the user's active assignments lies in it; others are "not found".
// An admin grants only at areas inside their own scope.

// UserView is a user as administrators see it.
type UserView struct {
	User
	Assignments []AssignmentView
}

// AssignmentView is one active role assignment.
type AssignmentView struct {
	ID       uuid.UUID
	Role     string
	AreaCode string
	AreaPath string
}

var errUserNotFound = apperr.New(apperr.NotFound, "user_not_found", "no such user")

// inScope limits a users query to those with an assignment in scope.
func inScope(q *gorm.DB, scope access.Scope) *gorm.DB {
	if scope.IsEverywhere() {
		return q
	}
	cond, args := scope.SQL("a.path")
	return q.Where(`EXISTS (SELECT 1 FROM role_assignments r JOIN areas a ON a.code = r.area_code
		WHERE r.user_id = users.id AND r.revoked_at IS NULL AND `+cond+`)`, args...)
}

// GetUser is one user in scope.
func (s *Service) GetUser(ctx context.Context, scope access.Scope, id uuid.UUID) (UserView, error) {
	u, err := scanUser(inScope(s.db.Conn(ctx).Table("users"), scope).Select(userColumns).Where("id = ?", id).Row())
	if errors.Is(err, sql.ErrNoRows) {
		return UserView{}, errUserNotFound
	}
	if err != nil {
		return UserView{}, db.MapError(err)
	}
	return s.view(ctx, u)
}

func (s *Service) view(ctx context.Context, u User) (UserView, error) {
	rows, err := s.db.Conn(ctx).Raw(`SELECT r.id, r.role, r.area_code, a.path::text FROM role_assignments r
		JOIN areas a ON a.code = r.area_code WHERE r.user_id = ? AND r.revoked_at IS NULL ORDER BY r.granted_at`, u.ID).Rows()
	if err != nil {
		return UserView{}, db.MapError(err)
	}
	defer rows.Close()
	v := UserView{User: u, Assignments: []AssignmentView{}}
	for rows.Next() {
		var a AssignmentView
		if err := rows.Scan(&a.ID, &a.Role, &a.AreaCode, &a.AreaPath); err != nil {
			return UserView{}, err
		}
		v.Assignments = append(v.Assignments, a)
	}
	return v, db.MapError(rows.Err())
}

// ListUsers is a page of users in scope, by username, after the given one.
func (s *Service) ListUsers(ctx context.Context, scope access.Scope, after string, limit int) ([]UserView, error) {
	q := inScope(s.db.Conn(ctx).Table("users"), scope).Select(userColumns).Order("username").Limit(limit)
	if after != "" {
		q = q.Where("username > ?", after)
	}
	rows, err := q.Rows()
	if err != nil {
		return nil, db.MapError(err)
	}
	var users []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		users = append(users, u)
	}
	rows.Close()
	out := make([]UserView, 0, len(users))
	for _, u := range users {
		v, err := s.view(ctx, u)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

var errGrantOutsideScope = apperr.New(apperr.Forbidden, "grant_outside_scope",
	"you can grant roles only at areas inside your own")

// checkGrants refuses grants at areas outside the admin's scope (or unknown).
func (s *Service) checkGrants(ctx context.Context, scope access.Scope, grants []Grant) error {
	for i, g := range grants {
		var path string
		err := s.db.Conn(ctx).Raw(`SELECT path::text FROM areas WHERE code = ?`, g.AreaCode).Row().Scan(&path)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.Fields([]apperr.FieldError{{Field: fmt.Sprintf("assignments[%d].area_code", i), Code: "invalid", Message: "no such area"}})
		}
		if err != nil {
			return db.MapError(err)
		}
		if !scope.Contains(path) {
			return errGrantOutsideScope
		}
	}
	return nil
}

// CreateUserIn creates a user as an admin with the given scope.
func (s *Service) CreateUserIn(ctx context.Context, scope access.Scope, n NewUser) (UserView, error) {
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

// UserPatch changes profile fields; nil leaves a field alone.
type UserPatch struct {
	FullName, Phone, Email *string
}

// UpdateUser changes a user's profile if version still matches.
func (s *Service) UpdateUser(ctx context.Context, scope access.Scope, id uuid.UUID, version int, p UserPatch) (UserView, error) {
	var fe []apperr.FieldError
	if p.FullName != nil {
		*p.FullName = vn.NormalizeName(*p.FullName)
		if *p.FullName == "" || len(*p.FullName) > 200 {
			fe = append(fe, apperr.FieldError{Field: "full_name", Code: "invalid", Message: "must be 1-200 characters"})
		}
	}
	if p.Phone != nil {
		*p.Phone = vn.NormalizePhone(*p.Phone)
	}
	if p.Phone != nil && *p.Phone != "" && !vn.ValidPhone(*p.Phone) {
		fe = append(fe, apperr.FieldError{Field: "phone", Code: "invalid", Message: "must be a Vietnamese phone number such as 0912345678"})
	}
	if p.Email != nil && *p.Email != "" && (!strings.Contains(*p.Email, "@") || len(*p.Email) > 254) {
		fe = append(fe, apperr.FieldError{Field: "email", Code: "invalid", Message: "must be an email address"})
	}
	if err := apperr.Fields(fe); err != nil {
		return UserView{}, err
	}
	return s.changeUser(ctx, scope, id, &version, "user.update", func(conn *gorm.DB, u *User) error {
		if p.FullName != nil {
			u.FullName = *p.FullName
		}
		if p.Phone != nil {
			u.Phone = *p.Phone
		}
		if p.Email != nil {
			u.Email = *p.Email
		}
		return conn.Exec(`UPDATE users SET full_name = ?, phone = NULLIF(?, ''), email = NULLIF(?, ''), version = version + 1,
			updated_at = now() WHERE id = ?`, u.FullName, u.Phone, u.Email, u.ID).Error
	})
}

// SetStatus disables (ending every session) or re-enables a user.
func (s *Service) SetStatus(ctx context.Context, scope access.Scope, id uuid.UUID, disabled bool, reason string) (UserView, error) {
	status, action := "active", "user.enable"
	if disabled {
		status, action = "disabled", "user.disable"
	}
	if actor, _ := access.ActorFrom(ctx); actor.UserID == id {
		return UserView{}, apperr.New(apperr.Conflict, "own_account", "you cannot change the status of your own account")
	}
	v, err := s.changeUser(ctx, scope, id, nil, action, func(conn *gorm.DB, u *User) error {
		u.Status = status
		if err := conn.Exec(`UPDATE users SET status = ?, valid_after = now(), version = version + 1, updated_at = now() WHERE id = ?`,
			status, u.ID).Error; err != nil {
			return err
		}
		return conn.Exec(`UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = ? AND revoked_at IS NULL`, u.ID).Error
	}, reason)
	s.forget(id)
	return v, err
}

// ResetPassword sets a one-time password the user must change, ending their
// sessions, and returns it.
func (s *Service) ResetPassword(ctx context.Context, scope access.Scope, id uuid.UUID) (string, error) {
	temp := OneTimePassword()
	hash, err := HashPassword(temp)
	if err != nil {
		return "", err
	}
	_, err = s.changeUser(ctx, scope, id, nil, "user.password_reset", func(conn *gorm.DB, u *User) error {
		u.MustChangePassword = true
		if err := conn.Exec(`UPDATE users SET password_hash = ?, must_change_password = true, valid_after = now(),
			version = version + 1, updated_at = now() WHERE id = ?`, hash, u.ID).Error; err != nil {
			return err
		}
		return conn.Exec(`UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = ? AND revoked_at IS NULL`, u.ID).Error
	})
	s.forget(id)
	return temp, err
}

// Grant adds a role assignment at an area inside the admin's scope.
func (s *Service) Grant(ctx context.Context, scope access.Scope, id uuid.UUID, g Grant) (UserView, error) {
	if err := (&NewUser{Username: "placeholder", FullName: "x", Password: strings.Repeat("x", MinPasswordLength),
		Assignments: []Grant{g}}).validate(); err != nil {
		return UserView{}, err
	}
	if err := s.checkGrants(ctx, scope, []Grant{g}); err != nil {
		return UserView{}, err
	}
	v, err := s.changeUser(ctx, scope, id, nil, "user.grant", func(conn *gorm.DB, u *User) error {
		return conn.Exec(`INSERT INTO role_assignments (id, user_id, role, area_code, granted_by) VALUES (?, ?, ?, ?, ?)`,
			uuid.Must(uuid.NewV7()), u.ID, g.Role, g.AreaCode, actorID(ctx)).Error
	}, g.Role+"@"+g.AreaCode)
	if apperr.Is(err, apperr.Conflict) {
		return UserView{}, apperr.New(apperr.Conflict, "already_granted", "the user already holds %s at %s", g.Role, g.AreaCode)
	}
	s.forget(id)
	return v, err
}

// Revoke ends a role assignment (kept, with who and when). The assignment's
// area must be inside the admin's scope.
func (s *Service) Revoke(ctx context.Context, scope access.Scope, id, assignment uuid.UUID) (UserView, error) {
	v, err := s.changeUser(ctx, scope, id, nil, "user.revoke", func(conn *gorm.DB, u *User) error {
		var path string
		err := conn.Raw(`SELECT a.path::text FROM role_assignments r JOIN areas a ON a.code = r.area_code
			WHERE r.id = ? AND r.user_id = ? AND r.revoked_at IS NULL`, assignment, u.ID).Row().Scan(&path)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.New(apperr.NotFound, "assignment_not_found", "no such active assignment")
		}
		if err != nil {
			return err
		}
		if !scope.Contains(path) {
			return errGrantOutsideScope
		}
		return conn.Exec(`UPDATE role_assignments SET revoked_at = now(), revoked_by = ? WHERE id = ?`, actorID(ctx), assignment).Error
	}, assignment.String())
	s.forget(id)
	return v, err
}

func actorID(ctx context.Context) *uuid.UUID {
	a, _ := access.ActorFrom(ctx)
	if a.UserID == uuid.Nil {
		return nil
	}
	return &a.UserID
}

// changeUser is the read-modify-write of a user in scope: it locks the row,
// checks the version when one is given, applies change, and records the event
// with the state before and after, in one transaction.
func (s *Service) changeUser(ctx context.Context, scope access.Scope, id uuid.UUID, version *int, action string,
	change func(conn *gorm.DB, u *User) error, reason ...string) (UserView, error) {
	var out UserView
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		conn := s.db.Conn(ctx)
		if err := conn.Exec(`SELECT 1 FROM users WHERE id = ? FOR UPDATE`, id).Error; err != nil {
			return err
		}
		u, err := scanUser(inScope(conn.Table("users"), scope).Select(userColumns).Where("id = ?", id).Row())
		if errors.Is(err, sql.ErrNoRows) {
			return errUserNotFound
		}
		if err != nil {
			return err
		}
		if version != nil && *version != u.Version {
			return apperr.New(apperr.PreconditionFailed, "precondition_failed", "the user was changed since you read it (version %d, now %d)", *version, u.Version)
		}
		before, err := s.view(ctx, u)
		if err != nil {
			return err
		}
		if err := change(conn, &u); err != nil {
			return err
		}
		fresh, _, err := s.store.userBy(ctx, "id", id)
		if err != nil {
			return err
		}
		if out, err = s.view(ctx, fresh); err != nil {
			return err
		}
		area := ""
		if len(out.Assignments) > 0 {
			area = out.Assignments[0].AreaPath
		} else if len(before.Assignments) > 0 {
			area = before.Assignments[0].AreaPath
		}
		return audit.Record(ctx, conn, audit.Event{Action: action, EntityType: "user", EntityID: id.String(), AreaPath: area,
			Reason: strings.Join(reason, " "), Before: redact(before), After: redact(out)})
	})
	return out, err
}

// redact is a user's state for the audit trail: never the password hash.
func redact(v UserView) map[string]any {
	roles := make([]string, 0, len(v.Assignments))
	for _, a := range v.Assignments {
		roles = append(roles, a.Role+"@"+a.AreaCode)
	}
	return map[string]any{"username": v.Username, "full_name": v.FullName, "phone": v.Phone, "email": v.Email,
		"status": v.Status, "must_change_password": v.MustChangePassword, "assignments": roles, "version": v.Version}
}
