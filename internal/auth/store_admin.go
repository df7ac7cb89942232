package auth

import (
	"context"
	"database/sql"
	"errors"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// holdsRoleIn is the condition that a user (users.id) holds an active assignment
// in scope, with its arguments. Every user is in the unlimited scope, with
// roles or without.
func holdsRoleIn(scope access.Scope) (string, []any) {
	if scope.IsEverywhere() {
		return "TRUE", nil
	}
	cond, args := scope.SQL("a.path")
	return `EXISTS (SELECT 1 FROM role_assignments r JOIN areas a ON a.edition = r.area_edition AND a.code = r.area_code
		WHERE r.user_id = users.id AND r.revoked_at IS NULL AND ` + cond + `)`, args
}

// userIn is the user with the id if they are in scope.
func (s store) userIn(ctx context.Context, scope access.Scope, id uuid.UUID) (User, bool, error) {
	cond, args := holdsRoleIn(scope)
	return oneUser(s.db.Conn(ctx).Raw(`SELECT `+userColumns+` FROM users WHERE id = ? AND `+cond,
		append([]any{id}, args...)...).Row())
}

// usersIn is a page of the users in scope by username, after the given one
// ("" for the first page).
func (s store) usersIn(ctx context.Context, scope access.Scope, after string, limit int) ([]User, error) {
	cond, args := holdsRoleIn(scope)
	return db.Collect(s.db.Conn(ctx).Raw(`SELECT `+userColumns+` FROM users WHERE username > ? AND `+cond+`
		ORDER BY username LIMIT ?`, append(append([]any{after}, args...), limit)...), scanUser)
}

// views are the users with their live assignments, active or awaiting
// approval (in the order granted), read in one query for the lot.
func (s store) views(ctx context.Context, users ...User) ([]UserView, error) {
	if len(users) == 0 {
		return []UserView{}, nil
	}
	ids := make([]uuid.UUID, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	byUser := make(map[uuid.UUID][]AssignmentView, len(users))
	err := db.Each(s.db.Conn(ctx).Raw(`SELECT r.user_id, r.id, r.role, r.area_edition, r.area_code, a.path::text, r.status FROM role_assignments r
		JOIN areas a ON a.edition = r.area_edition AND a.code = r.area_code WHERE r.user_id = ANY(?::uuid[]) AND r.revoked_at IS NULL ORDER BY r.granted_at`,
		db.UUIDArray(ids)), func(row db.Scanner) error {
		var user uuid.UUID
		var a AssignmentView
		if err := row.Scan(&user, &a.ID, &a.Role, &a.AreaEdition, &a.AreaCode, &a.AreaPath, &a.Status); err != nil {
			return err
		}
		byUser[user] = append(byUser[user], a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]UserView, len(users))
	for i, u := range users {
		out[i] = UserView{User: u, Assignments: byUser[u.ID]}
		if out[i].Assignments == nil {
			out[i].Assignments = []AssignmentView{}
		}
	}
	return out, nil
}

// view is one user with their active assignments.
func (s store) view(ctx context.Context, u User) (UserView, error) {
	vs, err := s.views(ctx, u)
	if err != nil {
		return UserView{}, err
	}
	return vs[0], nil
}

// addUser inserts a new user (n validated) with the password's hash.
func (s store) addUser(ctx context.Context, id uuid.UUID, n NewUser, hash string) error {
	return s.db.Conn(ctx).Exec(`INSERT INTO users (id, username, full_name, phone, email, password_hash, must_change_password)
		VALUES (?, ?, ?, NULLIF(?, ''), NULLIF(?, ''), ?, ?)`,
		id, n.Username, n.FullName, n.Phone, n.Email, hash, n.MustChangePassword).Error
}

// addAssignment grants a role to a user at an area, by grantedBy (nil for a
// user's first roles, given as the user is made); found false (and nothing
// written) when there is no such area.
func (s store) addAssignment(ctx context.Context, userID uuid.UUID, g Grant, grantedBy *uuid.UUID) (found bool, err error) {
	_, found, err = s.addAssignmentAs(ctx, userID, g, grantedBy, AssignmentActive)
	return found, err
}

// addAssignmentAs is addAssignment in a given status: the new assignment's
// id and area path.
func (s store) addAssignmentAs(ctx context.Context, userID uuid.UUID, g Grant, grantedBy *uuid.UUID, status string) (
	AssignmentView, bool, error) {
	a := AssignmentView{ID: uuid.Must(uuid.NewV7()), Role: g.Role, AreaCode: g.AreaCode, Status: status}
	// The code is read in the edition in use, and the assignment names it.
	err := s.db.Conn(ctx).Raw(`INSERT INTO role_assignments (id, user_id, role, area_edition, area_code, granted_by, status)
		SELECT ?, ?, ?, edition, code, ?, ? FROM areas WHERE edition = area_edition_in_use() AND code = ?
		RETURNING area_edition, (SELECT path::text FROM areas a
			WHERE a.edition = role_assignments.area_edition AND a.code = role_assignments.area_code)`,
		a.ID, userID, g.Role, grantedBy, status, g.AreaCode).Row().Scan(&a.AreaEdition, &a.AreaPath)
	if errors.Is(err, sql.ErrNoRows) {
		return AssignmentView{}, false, nil
	}
	return a, err == nil, err
}

// pendingAssignment is a user's assignment awaiting approval.
func (s store) pendingAssignment(ctx context.Context, userID, assignment uuid.UUID) (AssignmentView, bool, error) {
	a := AssignmentView{ID: assignment}
	err := s.db.Conn(ctx).Raw(`SELECT r.role, r.area_edition, r.area_code, a.path::text, r.status FROM role_assignments r
		JOIN areas a ON a.edition = r.area_edition AND a.code = r.area_code WHERE r.id = ? AND r.user_id = ? AND r.revoked_at IS NULL AND r.status = 'pending'`,
		assignment, userID).Row().Scan(&a.Role, &a.AreaEdition, &a.AreaCode, &a.AreaPath, &a.Status)
	if errors.Is(err, sql.ErrNoRows) {
		return AssignmentView{}, false, nil
	}
	return a, err == nil, err
}

// decideAssignment activates a pending assignment, or rejects it (and
// revokes it, by the actor in ctx); done false when it is no longer pending.
func (s store) decideAssignment(ctx context.Context, assignment uuid.UUID, approve bool) (done bool, err error) {
	q := `UPDATE role_assignments SET status = 'active' WHERE id = ? AND status = 'pending' AND revoked_at IS NULL`
	args := []any{assignment}
	if !approve {
		q = `UPDATE role_assignments SET status = 'rejected', revoked_at = now(), revoked_by = ?
			WHERE id = ? AND status = 'pending' AND revoked_at IS NULL`
		args = []any{access.ActorID(ctx), assignment}
	}
	res := s.db.Conn(ctx).Exec(q, args...)
	return res.RowsAffected > 0, res.Error
}

// liveAssignment is the area path and status (pending or active) of a
// user's assignment that is not revoked.
func (s store) liveAssignment(ctx context.Context, userID, assignment uuid.UUID) (path, status string, found bool, err error) {
	err = s.db.Conn(ctx).Raw(`SELECT a.path::text, r.status FROM role_assignments r JOIN areas a ON a.edition = r.area_edition AND a.code = r.area_code
		WHERE r.id = ? AND r.user_id = ? AND r.revoked_at IS NULL`, assignment, userID).Row().Scan(&path, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	return path, status, err == nil, err
}

// revokeAssignment ends an assignment, revoked by the actor in ctx (the row
// stays, with who and when).
func (s store) revokeAssignment(ctx context.Context, assignment uuid.UUID) error {
	return s.db.Conn(ctx).Exec(`UPDATE role_assignments SET revoked_at = now(), revoked_by = ? WHERE id = ?`,
		access.ActorID(ctx), assignment).Error
}
