package auth_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ansinh/ansinh/internal/apptest"
)

func TestUserAdministration(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "admin-914", "system_admin", "914", false) // a district's administrator
	admin := apptest.Login(t, h, "admin-914", apptest.Password).AccessToken

	// Create: a one-time password comes back and must be changed.
	w := apptest.Send(t, h, "POST", "/api/v1/users", admin, map[string]any{"username": "lan.nguyen", "full_name": "  Nguyễn Thị Lan ",
		"phone": "0912345678", "assignments": []map[string]string{{"role": "commune_worker", "area_code": "30791"}}})
	if w.Code != 201 {
		t.Fatalf("create: %d %s", w.Code, w.Body.String())
	}
	var created struct {
		User struct {
			ID          string `json:"id"`
			FullName    string `json:"full_name"`
			Version     int    `json:"version"`
			Assignments []struct {
				ID string `json:"id"`
			} `json:"assignments"`
		} `json:"user"`
		TemporaryPassword string `json:"temporary_password"`
	}
	json.Unmarshal(w.Body.Bytes(), &created)
	if created.User.FullName != "Nguyễn Thị Lan" || created.TemporaryPassword == "" {
		t.Fatalf("created: %s", w.Body.String())
	}
	if p := apptest.Login(t, h, "lan.nguyen", created.TemporaryPassword); !p.MustChangePassword {
		t.Fatal("an admin-made password must be changed")
	}
	user := "/api/v1/users/" + created.User.ID

	// No granting above one's own area; no duplicate username.
	for name, body := range map[string]map[string]string{
		"province":         {"role": "province_auditor", "area_code": "91"},
		"another district": {"role": "commune_worker", "area_code": "31036"},
	} {
		if w := apptest.Send(t, h, "POST", user+"/assignments", admin, body); w.Code != 403 || !strings.Contains(w.Body.String(), "grant_outside_scope") {
			t.Errorf("grant at %s: %d %s", name, w.Code, w.Body.String())
		}
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/users", admin, map[string]any{"username": "lan.nguyen", "full_name": "X",
		"assignments": []map[string]string{{"role": "commune_worker", "area_code": "30791"}}}); w.Code != 409 {
		t.Errorf("duplicate username: %d", w.Code)
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/users", admin, map[string]any{"username": "x", "full_name": "",
		"phone": "12345", "assignments": []map[string]string{{"role": "king", "area_code": "30791"}}}); w.Code != 422 ||
		!strings.Contains(w.Body.String(), `"username"`) || !strings.Contains(w.Body.String(), `"phone"`) || !strings.Contains(w.Body.String(), `"assignments[0].role"`) {
		t.Errorf("invalid user: %d %s", w.Code, w.Body.String())
	}

	// Update with If-Match.
	w = apptest.Send(t, h, "GET", user, admin, nil)
	etag := w.Header().Get("ETag")
	if w.Code != 200 || etag != fmt.Sprintf(`"%d"`, created.User.Version) {
		t.Fatalf("get: %d etag %q", w.Code, etag)
	}
	patch := func(ifMatch string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("PATCH", user, strings.NewReader(`{"email":"lan@example.vn"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+admin)
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		rw := httptest.NewRecorder()
		h.ServeHTTP(rw, req)
		apptest.Check(t, req, rw)
		return rw
	}
	if w := patch(""); w.Code != 428 {
		t.Errorf("without If-Match: %d", w.Code)
	}
	if w := patch(etag); w.Code != 200 || !strings.Contains(w.Body.String(), "lan@example.vn") {
		t.Errorf("with If-Match: %d %s", w.Code, w.Body.String())
	}
	if w := patch(etag); w.Code != 412 {
		t.Errorf("stale If-Match: %d", w.Code)
	}

	// Disable ends the user's session at once (this replica forgets its cache).
	lan := apptest.Login(t, h, "lan.nguyen", created.TemporaryPassword).AccessToken
	if w := apptest.Send(t, h, "POST", user+"/disable", admin, map[string]string{"reason": "chuyển công tác"}); w.Code != 200 {
		t.Fatalf("disable: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/me", lan, nil); w.Code != 401 {
		t.Errorf("a disabled user's token: %d", w.Code)
	}
	doc := apptest.Scalar[string](t, a.DB(), `SELECT doc::text FROM audit_events WHERE action = 'user.disable'`)
	if !strings.Contains(doc, `"reason":"chuyển công tác"`) || !strings.Contains(doc, `"status":"disabled"`) ||
		!strings.Contains(doc, `"status":"active"`) || strings.Contains(doc, "argon2") {
		t.Errorf("the disable event: %s", doc)
	}
	if w := apptest.Send(t, h, "POST", user+"/enable", admin, nil); w.Code != 200 {
		t.Errorf("enable: %d", w.Code)
	}

	// Grant inside the district, revoke, and a revoked assignment stays in history.
	w = apptest.Send(t, h, "POST", user+"/assignments", admin, map[string]string{"role": "commune_worker", "area_code": "30793"})
	// A data role is pending until another administrator approves it (the grant, and the user's two).
	if w.Code != 202 || strings.Count(w.Body.String(), `"role":"commune_worker"`) != 3 {
		t.Fatalf("grant: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.Send(t, h, "DELETE", user+"/assignments/"+created.User.Assignments[0].ID, admin, nil); w.Code != 200 ||
		strings.Contains(w.Body.String(), `"area_code":"30791"`) {
		t.Fatalf("revoke: %d %s", w.Code, w.Body.String())
	}
	if kept := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM role_assignments WHERE revoked_at IS NOT NULL`); kept != 1 {
		t.Errorf("a revoked assignment is kept: %d", kept)
	}

	// A user outside the admin's district is not found; the admin cannot disable themself.
	other := apptest.CreateUser(t, a, "worker-elsewhere", "commune_worker", "31036", false)
	if w := apptest.Send(t, h, "GET", "/api/v1/users/"+other.String(), admin, nil); w.Code != 404 {
		t.Errorf("out-of-scope user: %d", w.Code)
	}
	w = apptest.Send(t, h, "GET", "/api/v1/users", admin, nil)
	if strings.Contains(w.Body.String(), "worker-elsewhere") || !strings.Contains(w.Body.String(), "lan.nguyen") {
		t.Errorf("list must be scoped: %s", w.Body.String())
	}
	var me struct{ ID string }
	json.Unmarshal(apptest.Send(t, h, "GET", "/api/v1/me", admin, nil).Body.Bytes(), &me)
	if w := apptest.Send(t, h, "POST", "/api/v1/users/"+me.ID+"/disable", admin, map[string]string{"reason": "x"}); w.Code != 409 {
		t.Errorf("self-disable: %d", w.Code)
	}

	// Reset password: old sessions end, the one-time password must be changed.
	w = apptest.Send(t, h, "POST", user+"/reset-password", admin, nil)
	var reset struct {
		TemporaryPassword string `json:"temporary_password"`
	}
	json.Unmarshal(w.Body.Bytes(), &reset)
	if w.Code != 200 || reset.TemporaryPassword == "" {
		t.Fatalf("reset: %d", w.Code)
	}
	if p := apptest.Login(t, h, "lan.nguyen", reset.TemporaryPassword); !p.MustChangePassword {
		t.Error("a reset password must be changed")
	}
}

// A retried write with the same Idempotency-Key is answered from the first
// response and changes nothing again.
func TestIdempotentWrites(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "admin-idem", "system_admin", "91", false)
	admin := apptest.Login(t, h, "admin-idem", apptest.Password).AccessToken
	body := `{"username":"retry.user","full_name":"Trần Văn Thử","password":"a long enough pw","assignments":[{"role":"commune_worker","area_code":"30791"}]}`
	post := func(key, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/api/v1/users", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+admin)
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		apptest.Check(t, req, w)
		return w
	}
	first := post("create-retry-user-1", body)
	if first.Code != 201 {
		t.Fatalf("first: %d %s", first.Code, first.Body.String())
	}
	again := post("create-retry-user-1", body)
	if again.Code != 201 || again.Body.String() != first.Body.String() || again.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the retry must replay the first answer: %d %s", again.Code, again.Body.String())
	}
	if n := apptest.CountEvents(t, a, "user.create"); n != 2 { // admin-idem and retry.user, once
		t.Fatalf("user.create events: %d", n)
	}
	if w := post("create-retry-user-1", strings.Replace(body, "retry.user", "other.user", 1)); w.Code != 422 ||
		!strings.Contains(w.Body.String(), "idempotency_key_reused") {
		t.Fatalf("the key on another request: %d %s", w.Code, w.Body.String())
	}
	if w := post("bad key with spaces", body); w.Code != 422 {
		t.Fatalf("a malformed key: %d", w.Code)
	}
	if w := post("", body); w.Code != 409 {
		t.Fatalf("without a key the duplicate is a conflict: %d", w.Code)
	}
}
