package auth

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// store holds the package's SQL on users, role assignments and refresh
// tokens (user administration's queries are in store_admin.go, the login
// throttle's in store_throttle.go).
type store struct{ db *db.DB }

const userColumns = `id, username, full_name, coalesce(phone, ''), coalesce(email, ''), status, password_hash,
	must_change_password, valid_after, last_login_at, version`

func scanUser(row db.Scanner) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Username, &u.FullName, &u.Phone, &u.Email, &u.Status, &u.PasswordHash,
		&u.MustChangePassword, &u.ValidAfter, &u.LastLoginAt, &u.Version)
	return u, err
}

// oneUser scans a query of at most one user: found false when none.
func oneUser(row *sql.Row) (User, bool, error) {
	u, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, false, nil
	}
	return u, err == nil, err
}

// userByID is the user with the given id, found false when none.
func (s store) userByID(ctx context.Context, id uuid.UUID) (User, bool, error) {
	return oneUser(s.db.Conn(ctx).Raw(`SELECT `+userColumns+` FROM users WHERE id = ?`, id).Row())
}

// userByUsername is the user with the given (normalized) username.
func (s store) userByUsername(ctx context.Context, username string) (User, bool, error) {
	return oneUser(s.db.Conn(ctx).Raw(`SELECT `+userColumns+` FROM users WHERE username = ?`, username).Row())
}

// assignments are a user's active role assignments with their area paths
// (a grant awaiting approval gives nothing) and the paths of the units of
// earlier editions their area took in whole, through every reorganization
// (the records made under those units are its past). A unit that was divided
// is nobody's past but the province's: its successors each took only a part.
func (s store) assignments(ctx context.Context, userID uuid.UUID) ([]access.Assignment, error) {
	return db.Collect(s.db.Conn(ctx).Raw(`SELECT r.role, r.area_edition, r.area_code, a.path::text,
		coalesce((SELECT string_agg(o::text, ' ' ORDER BY o) FROM area_past_paths(r.area_edition, r.area_code) o WHERE o <> a.path), '')
		FROM role_assignments r JOIN areas a ON a.edition = r.area_edition AND a.code = r.area_code
		WHERE r.user_id = ? AND r.revoked_at IS NULL AND r.status = 'active' ORDER BY r.role, r.area_code`, userID),
		func(row db.Scanner) (access.Assignment, error) {
			var a access.Assignment
			var past string
			err := row.Scan(&a.Role, &a.AreaEdition, &a.AreaCode, &a.AreaPath, &past)
			a.PastPaths = strings.Fields(past) // ltree labels have no spaces
			return a, err
		})
}

// signedIn notes a user's sign-in.
func (s store) signedIn(ctx context.Context, id uuid.UUID) error {
	return s.db.Conn(ctx).Exec(`UPDATE users SET last_login_at = now() WHERE id = ?`, id).Error
}

// update is the read-modify-write of a user in scope, in the caller's
// transaction: it locks the row, checks version (when given) before anything
// changes, applies change and, when change altered the user, writes it with
// the next version; a change that ends the user's sessions moves valid_after
// on and revokes every refresh token of the user. A user outside scope is
// errUserNotFound.
func (s store) update(ctx context.Context, scope access.Scope, id uuid.UUID, version *int, change func(*User) error) error {
	conn := s.db.Conn(ctx)
	// Lock first, then read in scope: the read sees assignments committed
	// while it waited for the lock.
	if err := conn.Exec(`SELECT 1 FROM users WHERE id = ? FOR UPDATE`, id).Error; err != nil {
		return err
	}
	u, found, err := s.userIn(ctx, scope, id)
	if err != nil {
		return err
	}
	if !found {
		return errUserNotFound
	}
	if version != nil && *version != u.Version {
		return errStale(*version, u.Version)
	}
	if err := change(&u); err != nil || !u.changed {
		return err
	}
	if err := conn.Exec(`UPDATE users SET full_name = ?, phone = NULLIF(?, ''), email = NULLIF(?, ''), status = ?,
		password_hash = ?, must_change_password = ?, valid_after = CASE WHEN ? THEN now() ELSE valid_after END,
		version = version + 1, updated_at = now() WHERE id = ?`,
		u.FullName, u.Phone, u.Email, u.Status, u.PasswordHash, u.MustChangePassword, u.endSessions, u.ID).Error; err != nil {
		return err
	}
	if !u.endSessions {
		return nil
	}
	return conn.Exec(`UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = ? AND revoked_at IS NULL`, u.ID).Error
}

// addRefresh stores a refresh token's hash in family.
func (s store) addRefresh(ctx context.Context, family, userID uuid.UUID, hash []byte, expires time.Time) error {
	return s.db.Conn(ctx).Exec(`INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at) VALUES (?, ?, ?, ?, ?)`,
		uuid.Must(uuid.NewV7()), family, userID, hash, expires).Error
}

// refreshForUpdate is the refresh token with the hash, locked.
func (s store) refreshForUpdate(ctx context.Context, hash []byte) (refreshToken, bool, error) {
	var t refreshToken
	res := s.db.Conn(ctx).Raw(`SELECT id, family_id, user_id, issued_at, expires_at, used_at, revoked_at
		FROM refresh_tokens WHERE token_hash = ? FOR UPDATE`, hash).Scan(&t)
	return t, res.RowsAffected > 0, res.Error
}

// refreshFamily is the family and user of the refresh token with the hash.
func (s store) refreshFamily(ctx context.Context, hash []byte) (family, user uuid.UUID, found bool, err error) {
	var t struct{ FamilyID, UserID uuid.UUID }
	res := s.db.Conn(ctx).Raw(`SELECT family_id, user_id FROM refresh_tokens WHERE token_hash = ?`, hash).Scan(&t)
	return t.FamilyID, t.UserID, res.RowsAffected > 0, res.Error
}

// refreshUsed spends a refresh token (it was rotated).
func (s store) refreshUsed(ctx context.Context, id uuid.UUID) error {
	return s.db.Conn(ctx).Exec(`UPDATE refresh_tokens SET used_at = now() WHERE id = ?`, id).Error
}

// revokeFamily revokes every live refresh token of a family.
func (s store) revokeFamily(ctx context.Context, family uuid.UUID) error {
	return s.db.Conn(ctx).Exec(`UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = ? AND revoked_at IS NULL`,
		family).Error
}
