package auth

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/vn"
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

	// changed marks a user a transition changed (the store writes it with the
	// next version); endSessions, one whose sessions end with the write
	// (valid_after moves on, every refresh token is revoked).
	changed, endSessions bool
}

// User statuses.
const (
	statusActive   = "active"
	statusDisabled = "disabled"
)

// Active reports whether the user may sign in and use their sessions.
func (u User) Active() bool { return u.Status == statusActive }

// Patch changes the profile fields p sets (p is normalized already).
func (u *User) Patch(p UserPatch) {
	if p.FullName != nil {
		u.FullName = *p.FullName
	}
	if p.Phone != nil {
		u.Phone = *p.Phone
	}
	if p.Email != nil {
		u.Email = *p.Email
	}
	u.changed = true
}

// SetStatus disables or re-enables the user; either way their sessions end.
func (u *User) SetStatus(disabled bool) {
	u.Status = statusActive
	if disabled {
		u.Status = statusDisabled
	}
	u.changed, u.endSessions = true, true
}

// SetPassword replaces the password hash, ending every session; mustChange
// is whether the next sign-in must change it (an admin's reset).
func (u *User) SetPassword(hash string, mustChange bool) {
	u.PasswordHash, u.MustChangePassword = hash, mustChange
	u.changed, u.endSessions = true, true
}

// UserView is a user as administrators see it.
type UserView struct {
	User
	Assignments []AssignmentView
}

// AssignmentView is one live role assignment: active, or awaiting approval.
type AssignmentView struct {
	ID          uuid.UUID
	Role        string
	AreaEdition string
	AreaCode    string
	AreaPath    string
	Status      string // AssignmentActive or AssignmentPending
}

// Assignment states: a grant of a data role is pending until a second
// system administrator approves it; a rejected one is revoked.
const (
	AssignmentActive   = "active"
	AssignmentPending  = "pending"
	AssignmentRejected = "rejected"
)

// homeArea is where events about the user are filed for scoped auditors: the
// area of their first active assignment ("" for none).
func (v UserView) homeArea() string {
	if len(v.Assignments) == 0 {
		return ""
	}
	return v.Assignments[0].AreaPath
}

// redact is a user's state for the audit trail: never the password hash.
func (v UserView) redact() map[string]any {
	roles := make([]string, 0, len(v.Assignments))
	for _, a := range v.Assignments {
		if a.Status == AssignmentPending {
			roles = append(roles, a.Role+"@"+a.AreaCode+" (pending)")
			continue
		}
		roles = append(roles, a.Role+"@"+a.AreaCode)
	}
	return map[string]any{"username": v.Username, "full_name": v.FullName, "phone": v.Phone, "email": v.Email,
		"status": v.Status, "must_change_password": v.MustChangePassword, "assignments": roles, "version": v.Version}
}

// homeArea is where a signed-in user's own events are filed for scoped
// auditors: the area of their first role assignment (none without roles).
func homeArea(a access.Actor) string {
	if len(a.Assignments) == 0 {
		return ""
	}
	return a.Assignments[0].AreaPath
}

// NewUser is a user to create.
type NewUser struct {
	Username           string
	FullName           string
	Phone, Email       string
	Password           string
	MustChangePassword bool
	Assignments        []Grant
	// askApproval: roles that read personal data are pending until a second
	// administrator approves them (set for users an administrator creates
	// over the API; the command line and seeds grant at once).
	askApproval bool
}

// Grant is a role at an area, by the area's code.
type Grant struct {
	Role     string
	AreaCode string
}

var usernameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,63}$`)

// Roles are the roles a user may hold.
var Roles = []string{"commune_worker", "district_approver", "province_auditor", "program_manager", "system_admin"}

// ReadsPersonalData is whether the role reads households, members or what is
// derived from them (configs/casbin_policy.csv): every role but
// system_admin. Granting one needs a second system administrator's approval.
func (g Grant) ReadsPersonalData() bool { return g.Role != "system_admin" }

// problems are the grant's field errors as the i-th assignment of a request.
func (g Grant) problems(i int) []apperr.FieldError {
	for _, r := range Roles {
		if r == g.Role {
			return nil
		}
	}
	return []apperr.FieldError{{Field: fmt.Sprintf("assignments[%d].role", i), Code: "invalid",
		Message: "is not a role: " + strings.Join(Roles, ", ")}}
}

// validate normalizes the new user and reports every problem at once.
func (n *NewUser) validate() error {
	n.Username = strings.ToLower(strings.TrimSpace(n.Username))
	n.FullName = vn.NormalizeName(n.FullName)
	n.Phone = vn.NormalizePhone(n.Phone)
	var fe []apperr.FieldError
	if !usernameRe.MatchString(n.Username) {
		fe = append(fe, apperr.FieldError{Field: "username", Code: "invalid", Message: "must be 3-64 of a-z, 0-9, '.', '_' or '-'"})
	}
	if n.FullName == "" {
		fe = append(fe, apperr.FieldError{Field: "full_name", Code: "required", Message: "is required"})
	} else if len(n.FullName) > maxFullName {
		fe = append(fe, errFullName)
	}
	if n.Phone != "" && !vn.ValidPhone(n.Phone) {
		fe = append(fe, errPhone)
	}
	if n.Email != "" && !validEmail(n.Email) {
		fe = append(fe, errEmail)
	}
	if len([]rune(n.Password)) < MinPasswordLength {
		fe = append(fe, passwordTooShort("password"))
	}
	for i, g := range n.Assignments {
		fe = append(fe, g.problems(i)...)
	}
	return apperr.Fields(fe)
}

// maxFullName bounds a user's name in bytes of UTF-8, at creation as at a change.
const maxFullName = 200

var (
	errFullName = apperr.FieldError{Field: "full_name", Code: "invalid", Message: "must be 1-200 bytes of UTF-8"}
	errPhone    = apperr.FieldError{Field: "phone", Code: "invalid", Message: "must be a Vietnamese phone number such as 0912345678"}
	errEmail    = apperr.FieldError{Field: "email", Code: "invalid", Message: "must be an email address"}
)

func validEmail(s string) bool { return strings.Contains(s, "@") && len(s) <= 254 }

func passwordTooShort(field string) apperr.FieldError {
	return apperr.FieldError{Field: field, Code: "too_short", Message: fmt.Sprintf("must be at least %d characters", MinPasswordLength)}
}

// UserPatch changes profile fields; nil leaves a field alone.
type UserPatch struct {
	FullName, Phone, Email *string
}

// normalize normalizes the fields set and reports every problem at once.
func (p UserPatch) normalize() error {
	var fe []apperr.FieldError
	if p.FullName != nil {
		*p.FullName = vn.NormalizeName(*p.FullName)
		if *p.FullName == "" || len(*p.FullName) > maxFullName {
			fe = append(fe, errFullName)
		}
	}
	if p.Phone != nil {
		*p.Phone = vn.NormalizePhone(*p.Phone)
		if *p.Phone != "" && !vn.ValidPhone(*p.Phone) {
			fe = append(fe, errPhone)
		}
	}
	if p.Email != nil && *p.Email != "" && !validEmail(*p.Email) {
		fe = append(fe, errEmail)
	}
	return apperr.Fields(fe)
}

// newPassword checks a password a user chooses for themself against their
// current one (which they have proved to know).
func newPassword(current, next string) error {
	if current == next {
		return apperr.Fields([]apperr.FieldError{{Field: "new_password", Code: "invalid", Message: "must differ from the current password"}})
	}
	return nil
}

// Session is what a sign-in returns.
type Session struct {
	AccessToken        string
	AccessExpires      time.Time
	RefreshToken       string
	RefreshExpires     time.Time
	MustChangePassword bool
}

// refreshToken is a stored refresh token (its hash only).
type refreshToken struct {
	ID, FamilyID, UserID uuid.UUID
	IssuedAt, ExpiresAt  time.Time
	UsedAt, RevokedAt    *time.Time
}

// reused reports a token presented again after it was rotated, while its
// family lives: stolen, or a confused client. The family must be revoked.
func (t refreshToken) reused() bool { return t.UsedAt != nil && t.RevokedAt == nil }

// spent reports a token rotated or revoked already.
func (t refreshToken) spent() bool { return t.UsedAt != nil || t.RevokedAt != nil }

// usable reports whether the token may be rotated for u at now: neither
// spent nor revoked nor expired, u active, and issued after u's sessions last
// ended.
func (t refreshToken) usable(u User, now time.Time) bool {
	return !t.spent() && u.Active() && !now.After(t.ExpiresAt) && !t.IssuedAt.Before(u.ValidAfter)
}

// cachedSession is a user's state as last read, for token checks.
type cachedSession struct {
	actor      access.Actor
	active     bool
	validAfter time.Time
	mustChange bool
	fetched    time.Time
}

// accepts reports whether an access token issued at issuedAt still opens the
// session (tokens carry whole seconds).
func (c cachedSession) accepts(issuedAt time.Time) bool {
	return c.active && !issuedAt.Before(c.validAfter.Truncate(time.Second))
}
