package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/google/uuid"
)

func TestRefreshTokenStates(t *testing.T) {
	now := time.Now()
	u := User{ID: uuid.New(), Status: statusActive, ValidAfter: now.Add(-time.Hour)}
	live := refreshToken{IssuedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour)}
	if live.spent() || live.reused() || !live.usable(u, now) {
		t.Fatal("a fresh token is usable")
	}
	used, revoked := live, live
	used.UsedAt, revoked.RevokedAt = &now, &now
	if !used.reused() || used.usable(u, now) {
		t.Error("a rotated token presented again is a reuse")
	}
	revoked.UsedAt = &now
	if revoked.reused() || !revoked.spent() || revoked.usable(u, now) {
		t.Error("a token of a revoked family is refused without revoking again")
	}
	if live.usable(u, now.Add(2*time.Hour)) {
		t.Error("an expired token")
	}
	ended := u
	ended.ValidAfter = now
	if live.usable(ended, now) {
		t.Error("a token issued before the sessions ended")
	}
	disabled := u
	disabled.SetStatus(true)
	if live.usable(disabled, now) || disabled.Active() {
		t.Error("a disabled user's token")
	}
}

func TestUserTransitions(t *testing.T) {
	u := User{Status: statusActive, FullName: "A", Phone: "0912345678", Email: "a@b.vn"}
	name := "B"
	u.Patch(UserPatch{FullName: &name})
	if !u.changed || u.endSessions || u.FullName != "B" || u.Phone != "0912345678" {
		t.Errorf("a profile patch: %+v", u)
	}
	u = User{Status: statusDisabled}
	u.SetStatus(false)
	if !u.Active() || !u.changed || !u.endSessions {
		t.Errorf("enabling: %+v", u)
	}
	u = User{PasswordHash: "old"}
	u.SetPassword("new", true)
	if u.PasswordHash != "new" || !u.MustChangePassword || !u.endSessions {
		t.Errorf("a reset: %+v", u)
	}
}

func TestSessionAcceptsTokensIssuedAfterItsStart(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	c := cachedSession{active: true, validAfter: start}
	if !c.accepts(start.Truncate(time.Second)) {
		t.Error("a token of the same second (tokens carry whole seconds)")
	}
	if c.accepts(start.Add(-time.Second)) {
		t.Error("a token from before the session started")
	}
	c.active = false
	if c.accepts(start.Add(time.Minute)) {
		t.Error("an inactive user's token")
	}
}

func TestNewUserValidation(t *testing.T) {
	n := NewUser{Username: " Lan.Nguyen ", FullName: "  Nguyễn  Thị Lan ", Phone: "0912 345 678", Password: "long enough pw",
		Assignments: []Grant{{Role: "commune_worker", AreaCode: "30791"}}}
	if err := n.validate(); err != nil || n.Username != "lan.nguyen" || n.Phone != "0912345678" {
		t.Fatalf("a good user: %v %+v", err, n)
	}
	bad := NewUser{Username: "x", Phone: "1", Email: "no", Password: "short", Assignments: []Grant{{Role: "commune_worker"}, {Role: "king"}}}
	err := bad.validate()
	for _, f := range []string{"username", "full_name", "phone", "email", "password", "assignments[1].role"} {
		if err == nil || !containsField(err, f) {
			t.Errorf("no problem reported for %s: %v", f, err)
		}
	}
	if containsField(err, "assignments[0].role") {
		t.Error("a known role is fine")
	}
	long := NewUser{Username: "lan", FullName: strings.Repeat("Nguyễn ", 30), Password: "long enough pw"}
	if err := long.validate(); !containsField(err, "full_name") {
		t.Errorf("a 210-byte name at creation (a change refuses it): %v", err)
	}
}

func containsField(err error, field string) bool {
	e, ok := apperr.As(err)
	if !ok {
		return false
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}
