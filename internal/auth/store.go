package auth

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// User is a stored user.
type User struct {
	ID                 uuid.UUID
	Username           string
	FullName           string
	Phone              string
	Email              string
	Status             string
	PasswordHash       string
	MustChangePassword bool
	ValidAfter         time.Time
	LastLoginAt        *time.Time
	Version            int
}

const userColumns = `id, username, full_name, coalesce(phone, ''), coalesce(email, ''), status, password_hash,
	must_change_password, valid_after, last_login_at, version`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Username, &u.FullName, &u.Phone, &u.Email, &u.Status, &u.PasswordHash,
		&u.MustChangePassword, &u.ValidAfter, &u.LastLoginAt, &u.Version)
	return u, err
}

type store struct{ db *db.DB }

// userBy returns the user with the given id or username, found false when none.
func (s store) userBy(ctx context.Context, column string, value any) (User, bool, error) {
	u, err := scanUser(s.db.Conn(ctx).Raw(`SELECT `+userColumns+` FROM users WHERE `+column+` = ?`, value).Row())
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, false, nil
	}
	return u, err == nil, err
}

// assignments are a user's active role assignments with their area paths.
func (s store) assignments(ctx context.Context, userID uuid.UUID) ([]access.Assignment, error) {
	rows, err := s.db.Conn(ctx).Raw(`SELECT r.role, r.area_code, a.path::text FROM role_assignments r
		JOIN areas a ON a.code = r.area_code WHERE r.user_id = ? AND r.revoked_at IS NULL ORDER BY r.role, r.area_code`, userID).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []access.Assignment
	for rows.Next() {
		var a access.Assignment
		if err := rows.Scan(&a.Role, &a.AreaCode, &a.AreaPath); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
