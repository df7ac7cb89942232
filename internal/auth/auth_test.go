package auth_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/apptest"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/auth"
)

func TestLoginMeAndJWKS(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "worker-a", "commune_worker", "30791", false)
	p := apptest.Login(t, h, "Worker-A ", apptest.Password) // usernames are case- and space-insensitive
	w := apptest.Send(t, h, "GET", "/api/v1/me", p.AccessToken, nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"area_path":"91.914.30791"`) ||
		!strings.Contains(w.Body.String(), `"household:write"`) || strings.Contains(w.Body.String(), `"audit:read"`) {
		t.Fatalf("me: %d %s", w.Code, w.Body.String())
	}
	if apptest.CountEvents(t, a, "auth.login") != 1 {
		t.Fatal("a login is an audit event")
	}
	// The token's kid is published.
	tok, _, err := jwt.NewParser().ParseUnverified(p.AccessToken, &jwt.RegisteredClaims{})
	if err != nil {
		t.Fatal(err)
	}
	w = apptest.Send(t, h, "GET", "/.well-known/jwks.json", "", nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"kid":"`+tok.Header["kid"].(string)+`"`) || tok.Method.Alg() != "EdDSA" {
		t.Fatalf("jwks: %s (alg %s)", w.Body.String(), tok.Method.Alg())
	}
}

// Every malformed, forged or stale token is refused with 401 and audited.
func TestAccessTokenRejections(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	id := apptest.CreateUser(t, a, "worker-b", "commune_worker", "30791", false)
	good := apptest.Login(t, h, "worker-b", apptest.Password).AccessToken
	if w := apptest.Send(t, h, "GET", "/api/v1/me", good, nil); w.Code != 200 {
		t.Fatalf("a good token: %d", w.Code)
	}
	parts := strings.Split(good, ".")
	var hdr map[string]any
	b, _ := base64.RawURLEncoding.DecodeString(parts[0])
	json.Unmarshal(b, &hdr)
	kid := hdr["kid"].(string)
	now := time.Now()
	claims := func(mut func(*jwt.RegisteredClaims)) *jwt.RegisteredClaims {
		c := &jwt.RegisteredClaims{Issuer: "ansinh", Subject: id.String(), Audience: jwt.ClaimStrings{"ansinh-api"},
			ExpiresAt: jwt.NewNumericDate(now.Add(10 * time.Minute)), IssuedAt: jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now), ID: uuid.NewString()}
		if mut != nil {
			mut(c)
		}
		return c
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	signEd := func(c *jwt.RegisteredClaims, key ed25519.PrivateKey, kid string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
		tok.Header["kid"] = kid
		s, _ := tok.SignedString(key)
		return s
	}
	// The server's public key, as an attacker would fetch it, used as an HMAC secret.
	var jwks struct {
		Keys []struct{ X string } `json:"keys"`
	}
	json.Unmarshal(apptest.Send(t, h, "GET", "/.well-known/jwks.json", "", nil).Body.Bytes(), &jwks)
	pub, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].X)
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(nil))
	hs.Header["kid"] = kid
	hsToken, _ := hs.SignedString(pub)
	none := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil))
	noneToken, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	payload, _ := json.Marshal(claims(func(c *jwt.RegisteredClaims) { c.Subject = uuid.NewString() }))
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]

	// The server's own key (the development default), for well-signed tokens
	// with bad claims.
	cfg := apptest.Config(t, "postgres://unused@localhost/x")
	keys, err := cfg.Auth.SigningPrivateKeys()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"expired": signEd(claims(func(c *jwt.RegisteredClaims) {
			c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour))
			c.IssuedAt = jwt.NewNumericDate(now.Add(-2 * time.Hour))
		}), keys[0], kid),
		"wrong issuer":              signEd(claims(func(c *jwt.RegisteredClaims) { c.Issuer = "evil" }), keys[0], kid),
		"wrong audience":            signEd(claims(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"other-api"} }), keys[0], kid),
		"not yet valid":             signEd(claims(func(c *jwt.RegisteredClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour)) }), keys[0], kid),
		"alg none":                  noneToken,
		"HS256 with the public key": hsToken,
		"missing exp":               signEd(claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil }), otherKey, kid),
		"tampered payload":          tampered,
		"unknown kid":               signEd(claims(nil), otherKey, "0000000000000000"),
		"another key, real kid":     signEd(claims(nil), otherKey, kid),
		"garbage":                   "not.a.jwt",
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/me", signEd(claims(nil), keys[0], kid), nil); w.Code != 200 {
		t.Fatalf("a well-formed token signed with the server key must pass (the cases below differ in one claim): %d", w.Code)
	}
	before := apptest.CountEvents(t, a, "auth.token_rejected")
	for name, tok := range cases {
		w := apptest.Send(t, h, "GET", "/api/v1/me", tok, nil)
		if w.Code != 401 || !strings.Contains(w.Body.String(), `"code":"invalid_token"`) {
			t.Errorf("%s: want 401 invalid_token, got %d %s", name, w.Code, w.Body.String())
		}
	}
	if got := apptest.CountEvents(t, a, "auth.token_rejected") - before; got != len(cases) {
		t.Errorf("every rejection is audited: %d of %d", got, len(cases))
	}
}

func TestTokenClaimsChecks(t *testing.T) {
	t.Parallel()
	// Expiry, issuer and audience, checked by the token service with the real key.
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	issuer := auth.NewTokens([]ed25519.PrivateKey{key}, "ansinh", "ansinh-api", time.Minute)
	good, _, err := issuer.Issue(uuid.New())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := issuer.Verify(good); err != nil {
		t.Fatalf("good token: %v", err)
	}
	for name, verifier := range map[string]*auth.Tokens{
		"wrong issuer":   auth.NewTokens([]ed25519.PrivateKey{key}, "someone-else", "ansinh-api", time.Minute),
		"wrong audience": auth.NewTokens([]ed25519.PrivateKey{key}, "ansinh", "another-api", time.Minute),
	} {
		if _, err := verifier.Verify(good); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	expired := auth.NewTokens([]ed25519.PrivateKey{key}, "ansinh", "ansinh-api", -time.Hour)
	old, _, _ := expired.Issue(uuid.New())
	if _, err := issuer.Verify(old); err == nil {
		t.Error("an expired token was accepted")
	}
	// Rotation: a token signed by the old key verifies while the old key is still listed.
	_, next, _ := ed25519.GenerateKey(rand.Reader)
	rotated := auth.NewTokens([]ed25519.PrivateKey{next, key}, "ansinh", "ansinh-api", time.Minute)
	if _, err := rotated.Verify(good); err != nil {
		t.Errorf("old key after rotation: %v", err)
	}
	if len(rotated.JWKS()) != 2 {
		t.Error("both keys are published during a rotation")
	}
}

func TestSessionsEndOnDisableAndPasswordChange(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	id := apptest.CreateUser(t, a, "worker-c", "commune_worker", "30791", false)
	p := apptest.Login(t, h, "worker-c", apptest.Password)

	// Changing the password ends every session, including refresh tokens.
	if w := apptest.Send(t, h, "POST", "/api/v1/me/password", p.AccessToken, map[string]string{"current_password": "wrong one!!", "new_password": "a new long password"}); w.Code != 422 {
		t.Fatalf("wrong current password: %d", w.Code)
	}
	time.Sleep(1100 * time.Millisecond) // tokens carry whole seconds
	if w := apptest.Send(t, h, "POST", "/api/v1/me/password", p.AccessToken, map[string]string{"current_password": apptest.Password, "new_password": "a new long password"}); w.Code != 204 {
		t.Fatalf("change password: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/me", p.AccessToken, nil); w.Code != 401 {
		t.Fatalf("the old access token after a password change: %d", w.Code)
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": p.RefreshToken}); w.Code != 401 {
		t.Fatalf("the old refresh token after a password change: %d", w.Code)
	}
	p = apptest.Login(t, h, "worker-c", "a new long password")

	// Disabling the user (as the admin API will) ends the session within the cache TTL.
	apptest.Exec(t, a.DB(), `UPDATE users SET status = 'disabled', valid_after = now() WHERE id = ?`, id)
	deadline := time.Now().Add(10 * time.Second)
	for apptest.Send(t, h, "GET", "/api/v1/me", p.AccessToken, nil).Code != 401 {
		if time.Now().After(deadline) {
			t.Fatal("a disabled user's token still works")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/auth/login", "", map[string]string{"username": "worker-c", "password": "a new long password"}); w.Code != 401 {
		t.Fatalf("a disabled user signs in: %d", w.Code)
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "worker-d", "commune_worker", "30791", false)
	first := apptest.Login(t, h, "worker-d", apptest.Password)
	w := apptest.Send(t, h, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken})
	if w.Code != 200 {
		t.Fatalf("refresh: %d %s", w.Code, w.Body.String())
	}
	var second apptest.Tokens
	json.Unmarshal(w.Body.Bytes(), &second)
	if second.RefreshToken == first.RefreshToken || second.AccessToken == "" {
		t.Fatal("refresh must rotate the token")
	}
	// The spent token comes back (stolen): refused, and the whole family dies.
	if w := apptest.Send(t, h, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}); w.Code != 401 {
		t.Fatalf("reuse: %d", w.Code)
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": second.RefreshToken}); w.Code != 401 {
		t.Fatalf("the family must be revoked after reuse: %d", w.Code)
	}
	if apptest.CountEvents(t, a, "auth.refresh_reuse") != 1 {
		t.Fatal("reuse is audited")
	}
	// Logout revokes this device's family only.
	third := apptest.Login(t, h, "worker-d", apptest.Password)
	if w := apptest.Send(t, h, "POST", "/api/v1/auth/logout", "", map[string]string{"refresh_token": third.RefreshToken}); w.Code != 204 {
		t.Fatalf("logout: %d", w.Code)
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": third.RefreshToken}); w.Code != 401 {
		t.Fatalf("refresh after logout: %d", w.Code)
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": "made-up"}); w.Code != 401 {
		t.Fatalf("unknown refresh token: %d", w.Code)
	}
	// Logging out with an unknown token reveals nothing and records nothing.
	if w := apptest.Send(t, h, "POST", "/api/v1/auth/logout", "", map[string]string{"refresh_token": "made-up"}); w.Code != 204 {
		t.Fatalf("logout with an unknown token: %d", w.Code)
	}
	if n := apptest.CountEvents(t, a, "auth.logout"); n != 1 {
		t.Fatalf("auth.logout events: %d, want the one real logout", n)
	}
}

func TestLoginThrottlingAndEnumeration(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "worker-e", "commune_worker", "30791", false)
	wrong := apptest.Send(t, h, "POST", "/api/v1/auth/login", "", map[string]string{"username": "worker-e", "password": "wrong password"})
	unknown := apptest.Send(t, h, "POST", "/api/v1/auth/login", "", map[string]string{"username": "nobody-here", "password": "wrong password"})
	strip := func(b string) string { // the request id differs; nothing else may
		var p map[string]any
		json.Unmarshal([]byte(b), &p)
		delete(p, "request_id")
		out, _ := json.Marshal(p)
		return string(out)
	}
	if wrong.Code != 401 || unknown.Code != 401 || strip(wrong.Body.String()) != strip(unknown.Body.String()) {
		t.Fatalf("unknown user and wrong password must look the same:\n%s\n%s", wrong.Body.String(), unknown.Body.String())
	}
	if apptest.CountEvents(t, a, "auth.login_failed") != 2 {
		t.Fatal("failed logins are audited")
	}
	for range 4 {
		apptest.Send(t, h, "POST", "/api/v1/auth/login", "", map[string]string{"username": "worker-e", "password": "wrong password"})
	}
	// Locked now, even with the right password.
	w := apptest.Send(t, h, "POST", "/api/v1/auth/login", "", map[string]string{"username": "worker-e", "password": apptest.Password})
	if w.Code != 429 || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "login_throttled") {
		t.Fatalf("after repeated failures: %d %s", w.Code, w.Body.String())
	}
	if strings.Contains(w.Body.String(), apptest.Password) {
		t.Fatal("the password leaked")
	}
	if apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM audit_events WHERE doc::text LIKE ?`, "%"+apptest.Password+"%") != 0 {
		t.Fatal("a password reached the audit trail")
	}
}

func TestMustChangePasswordFirst(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "auditor-f", "province_auditor", "91", true)
	p := apptest.Login(t, h, "auditor-f", apptest.Password)
	if !p.MustChangePassword {
		t.Fatal("the login must say so")
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/audit/events", p.AccessToken, nil); w.Code != 403 || !strings.Contains(w.Body.String(), "password_change_required") {
		t.Fatalf("before changing the password: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/me", p.AccessToken, nil); w.Code != 200 {
		t.Fatalf("me stays open: %d", w.Code)
	}
	time.Sleep(1100 * time.Millisecond)
	if w := apptest.Send(t, h, "POST", "/api/v1/me/password", p.AccessToken, map[string]string{"current_password": apptest.Password, "new_password": "auditor's own secret"}); w.Code != 204 {
		t.Fatalf("change: %d %s", w.Code, w.Body.String())
	}
	p = apptest.Login(t, h, "auditor-f", "auditor's own secret")
	if w := apptest.Send(t, h, "GET", "/api/v1/audit/events", p.AccessToken, nil); w.Code != 200 {
		t.Fatalf("after changing the password: %d", w.Code)
	}
}

// A wrong current password counts against the login throttle: the password
// route is no oracle. Past the free failures it answers 429 with Retry-After,
// even with the right password, and the login is locked too (same counter).
func TestPasswordChangeSharesLoginThrottle(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "worker-g", "commune_worker", "30791", false)
	p := apptest.Login(t, h, "worker-g", apptest.Password)
	change := func(current string) *httptest.ResponseRecorder {
		return apptest.Send(t, h, "POST", "/api/v1/me/password", p.AccessToken,
			map[string]string{"current_password": current, "new_password": "a new long password"})
	}
	for i := range 6 { // the free failures, and the one that locks
		if w := change("wrong password " + strconv.Itoa(i)); w.Code != 422 {
			t.Fatalf("wrong current password %d: %d %s", i+1, w.Code, w.Body.String())
		}
	}
	w := change(apptest.Password)
	if w.Code != 429 || w.Header().Get("Retry-After") == "" || apptest.ProblemCode(t, w) != "login_throttled" {
		t.Fatalf("after repeated wrong current passwords: %d %s", w.Code, w.Body.String())
	}
	if n := apptest.Scalar[int](t, a.DB(), `SELECT failures FROM login_throttle WHERE key = 'user:worker-g'`); n != 6 {
		t.Fatalf("the account's failures: %d, want 6", n)
	}
	w = apptest.Send(t, h, "POST", "/api/v1/auth/login", "", map[string]string{"username": "worker-g", "password": apptest.Password})
	if w.Code != 429 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("the login after wrong current passwords: %d %s", w.Code, w.Body.String())
	}
	if apptest.CountEvents(t, a, "auth.password_check_failed") != 6 || apptest.CountEvents(t, a, "auth.password_throttled") != 1 {
		t.Fatal("wrong and throttled password checks are audited")
	}
}

// A successful change clears the account's counter, as a login does.
func TestPasswordChangeClearsThrottle(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "worker-h", "commune_worker", "30791", false)
	p := apptest.Login(t, h, "worker-h", apptest.Password)
	for range 3 {
		apptest.Send(t, h, "POST", "/api/v1/me/password", p.AccessToken,
			map[string]string{"current_password": "wrong password", "new_password": "a new long password"})
	}
	const failures = `SELECT failures FROM login_throttle WHERE key = 'user:worker-h'`
	if n := apptest.Scalar[int](t, a.DB(), failures); n != 3 {
		t.Fatalf("failures after three wrong current passwords: %d", n)
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/me/password", p.AccessToken,
		map[string]string{"current_password": apptest.Password, "new_password": "a new long password"}); w.Code != 204 {
		t.Fatalf("change: %d %s", w.Code, w.Body.String())
	}
	if n := apptest.Scalar[int](t, a.DB(), failures); n != 0 {
		t.Fatalf("failures after a change: %d", n)
	}
}
