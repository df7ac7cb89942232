package auth_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/auth"
	"github.com/ansinh/ansinh/internal/platform/web"
)

type userBody struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	Version     int    `json:"version"`
	Status      string `json:"status"`
	Assignments []struct {
		ID       string `json:"id"`
		Role     string `json:"role"`
		AreaCode string `json:"area_code"`
		AreaPath string `json:"area_path"`
	} `json:"assignments"`
}

func (u userBody) areas() string {
	var codes []string
	for _, a := range u.Assignments {
		codes = append(codes, a.Role+"@"+a.AreaCode)
	}
	return strings.Join(codes, ",")
}

// createUser makes a user with several roles through the service (the admin
// API grants one at a time).
func createUser(t *testing.T, a interface{ Auth() *auth.Service }, username string, grants ...auth.Grant) string {
	t.Helper()
	ctx := access.WithActor(context.Background(), access.System("test"))
	id, err := a.Auth().CreateUser(ctx, auth.NewUser{Username: username, FullName: "Người dùng " + username,
		Password: apptest.Password, Assignments: grants})
	if err != nil {
		t.Fatalf("create %s: %v", username, err)
	}
	return id.String()
}

// A district admin lists the users with any role in the district, each with
// all of their roles (read for the whole page at once), page by page.
func TestListUsersPagesWithEachUsersAssignments(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "admin-914", "system_admin", "914", false)
	admin := apptest.Login(t, h, "admin-914", apptest.Password).AccessToken
	createUser(t, a, "u1.both", auth.Grant{Role: "commune_worker", AreaCode: "30791"}, auth.Grant{Role: "commune_worker", AreaCode: "31036"})
	createUser(t, a, "u2.two", auth.Grant{Role: "commune_worker", AreaCode: "30793"}, auth.Grant{Role: "district_approver", AreaCode: "914"})
	createUser(t, a, "u3.outside", auth.Grant{Role: "commune_worker", AreaCode: "31036"})
	createUser(t, a, "u4.one", auth.Grant{Role: "commune_worker", AreaCode: "30796"})

	var got []userBody
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("the pages do not end")
		}
		path := "/api/v1/users?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		page := apptest.Decode[web.Page[userBody]](t, apptest.Send(t, h, "GET", path, admin, nil), 200)
		if len(page.Items) > 2 {
			t.Fatalf("a page of %d", len(page.Items))
		}
		got = append(got, page.Items...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	want := map[string]string{
		"admin-914": "system_admin@914",
		"u1.both":   "commune_worker@30791,commune_worker@31036",
		"u2.two":    "commune_worker@30793,district_approver@914",
		"u4.one":    "commune_worker@30796",
	}
	if len(got) != len(want) {
		t.Fatalf("listed %d users, want %d: %+v", len(got), len(want), got)
	}
	for i, u := range got {
		if i > 0 && got[i-1].Username >= u.Username {
			t.Errorf("not in username order: %s after %s", u.Username, got[i-1].Username)
		}
		if u.areas() != want[u.Username] {
			t.Errorf("%s: assignments %q, want %q", u.Username, u.areas(), want[u.Username])
		}
		for _, as := range u.Assignments {
			if as.ID == "" || !strings.HasPrefix(as.AreaPath, "91.") {
				t.Errorf("%s: assignment %+v", u.Username, as)
			}
		}
	}
}

// Grants and revocations: checked against the admin's scope, refused when
// unknown or duplicate; they change the user's roles, not the user's version.
func TestGrantAndRevokeRules(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "admin-914", "system_admin", "914", false)
	admin := apptest.Login(t, h, "admin-914", apptest.Password).AccessToken
	id := createUser(t, a, "two.districts", auth.Grant{Role: "commune_worker", AreaCode: "30791"}, auth.Grant{Role: "commune_worker", AreaCode: "31036"})
	user := "/api/v1/users/" + id

	before := apptest.Decode[userBody](t, apptest.Send(t, h, "GET", user, admin, nil), 200)
	if before.areas() != "commune_worker@30791,commune_worker@31036" {
		t.Fatalf("a user with one role in scope is seen with all roles: %q", before.areas())
	}
	var outside, inside string
	for _, as := range before.Assignments {
		if as.AreaCode == "31036" {
			outside = as.ID
		} else {
			inside = as.ID
		}
	}
	for name, c := range map[string]struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		"revoke outside the scope": {"DELETE", user + "/assignments/" + outside, nil, 403, "grant_outside_scope"},
		"revoke an unknown one":    {"DELETE", user + "/assignments/" + "0190d7c2-0000-7000-8000-000000000000", nil, 404, "assignment_not_found"},
		"revoke a malformed id":    {"DELETE", user + "/assignments/x", nil, 404, "assignment_not_found"},
		"malformed user id":        {"GET", "/api/v1/users/x", nil, 404, "user_not_found"},
		"grant a duplicate":        {"POST", user + "/assignments", map[string]string{"role": "commune_worker", "area_code": "30791"}, 409, "already_granted"},
		"grant an unknown area":    {"POST", user + "/assignments", map[string]string{"role": "commune_worker", "area_code": "99999"}, 422, "validation_failed"},
		"grant an unknown role":    {"POST", user + "/assignments", map[string]string{"role": "king", "area_code": "30791"}, 422, "validation_failed"},
	} {
		w := apptest.Send(t, h, c.method, c.path, admin, c.body)
		if w.Code != c.status || apptest.ProblemCode(t, w) != c.code {
			t.Errorf("%s: %d %s, want %d %s", name, w.Code, w.Body.String(), c.status, c.code)
		}
	}
	if w := apptest.Send(t, h, "POST", user+"/assignments", admin, map[string]string{"role": "king", "area_code": "99999"}); !strings.Contains(w.Body.String(), `"assignments[0].role"`) {
		t.Errorf("the role is checked first: %s", w.Body.String())
	}
	if w := apptest.Send(t, h, "POST", user+"/assignments", admin, map[string]string{"role": "commune_worker", "area_code": "99999"}); !strings.Contains(w.Body.String(), `"assignments[0].area_code"`) {
		t.Errorf("an unknown area: %s", w.Body.String())
	}

	granted := apptest.Decode[struct{ User userBody }](t, apptest.Send(t, h, "POST", user+"/assignments", admin,
		map[string]string{"role": "district_approver", "area_code": "914"}), 202).User // pending approval
	if granted.areas() != "commune_worker@30791,commune_worker@31036,district_approver@914" || granted.Version != before.Version {
		t.Errorf("after the grant: %q version %d (was %d)", granted.areas(), granted.Version, before.Version)
	}
	if got := apptest.Scalar[string](t, a.DB(), `SELECT coalesce(doc->>'reason', '') FROM audit_events WHERE action = 'user.grant_request'`); got != "district_approver@914" {
		t.Errorf("the grant's reason: %q", got)
	}
	revoked := apptest.Decode[userBody](t, apptest.Send(t, h, "DELETE", user+"/assignments/"+inside, admin, nil), 200)
	if revoked.areas() != "commune_worker@31036,district_approver@914" || revoked.Version != before.Version {
		t.Errorf("after the revocation: %q version %d", revoked.areas(), revoked.Version)
	}
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM role_assignments WHERE id = ? AND revoked_by IS NOT NULL
		AND revoked_by = (SELECT id FROM users WHERE username = 'admin-914')`, inside); n != 1 {
		t.Error("a revocation records who revoked")
	}
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM role_assignments WHERE user_id = ? AND area_code = '914'
		AND granted_by = (SELECT id FROM users WHERE username = 'admin-914')`, id); n != 1 {
		t.Error("a grant records who granted")
	}
	// The same assignment twice: the second finds no active assignment.
	if w := apptest.Send(t, h, "DELETE", user+"/assignments/"+inside, admin, nil); w.Code != 404 {
		t.Errorf("revoking twice: %d", w.Code)
	}
}

// Profile changes are checked, versioned and audited with the state before
// and after; status changes need a reason to disable and end sessions.
func TestUpdateAndStatusRules(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "admin-914", "system_admin", "914", false)
	admin := apptest.Login(t, h, "admin-914", apptest.Password).AccessToken
	id := createUser(t, a, "to.change", auth.Grant{Role: "commune_worker", AreaCode: "30791"})
	user := "/api/v1/users/" + id
	patch := func(version int, body string) *httptest.ResponseRecorder {
		return apptest.SendWith(t, h, "PATCH", user, admin, rawJSON(body), map[string]string{"If-Match": fmt.Sprintf(`"%d"`, version)})
	}

	w := patch(1, `{"full_name":"  ","phone":"123","email":"no-at-sign"}`)
	if w.Code != 422 || !strings.Contains(w.Body.String(), `"full_name"`) || !strings.Contains(w.Body.String(), `"phone"`) ||
		!strings.Contains(w.Body.String(), `"email"`) {
		t.Fatalf("every bad field at once: %d %s", w.Code, w.Body.String())
	}
	w = patch(1, `{"full_name":"  Lê   Văn Tám ","phone":"0912 345 678"}`)
	u := apptest.Decode[userBody](t, w, 200)
	if u.Version != 2 || w.Header().Get("ETag") != `"2"` || !strings.Contains(w.Body.String(), `"full_name":"Lê Văn Tám"`) ||
		!strings.Contains(w.Body.String(), `"phone":"0912345678"`) {
		t.Fatalf("the update: %s (ETag %s)", w.Body.String(), w.Header().Get("ETag"))
	}
	if w := patch(1, `{"email":"a@b.vn"}`); w.Code != 412 || apptest.ProblemCode(t, w) != "precondition_failed" {
		t.Errorf("a stale version: %d %s", w.Code, w.Body.String())
	}
	if w := patch(2, `{"phone":""}`); w.Code != 200 || strings.Contains(w.Body.String(), `"phone"`) {
		t.Errorf("clearing the phone: %d %s", w.Code, w.Body.String())
	}
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM users WHERE id = ? AND phone IS NULL AND version = 3`, id); n != 1 {
		t.Error("a cleared phone is stored as NULL")
	}
	doc := apptest.Scalar[string](t, a.DB(), `SELECT doc::text FROM audit_events WHERE action = 'user.update' ORDER BY occurred_at LIMIT 1`)
	if !strings.Contains(doc, `"version":1`) || !strings.Contains(doc, `"version":2`) || !strings.Contains(doc, "Lê Văn Tám") {
		t.Errorf("the update event: %s", doc)
	}

	if w := apptest.Send(t, h, "POST", user+"/disable", admin, map[string]string{"reason": "  "}); w.Code != 422 {
		t.Errorf("disable without a reason: %d", w.Code)
	}
	if w := apptest.Send(t, h, "POST", user+"/disable", admin, map[string]string{"reason": "nghỉ việc"}); w.Code != 200 ||
		apptest.Decode[userBody](t, w, 200).Status != "disabled" {
		t.Errorf("disable: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/auth/login", "", map[string]string{"username": "to.change", "password": apptest.Password}); w.Code != 401 {
		t.Errorf("a disabled user signs in: %d", w.Code)
	}
	if w := apptest.Send(t, h, "POST", user+"/enable", admin, nil); w.Code != 200 || apptest.Decode[userBody](t, w, 200).Status != "active" {
		t.Errorf("enable: %d %s", w.Code, w.Body.String())
	}
	apptest.Login(t, h, "to.change", apptest.Password)
	if got := apptest.Scalar[int](t, a.DB(), `SELECT version FROM users WHERE id = ?`, id); got != 5 {
		t.Errorf("each status change is a new version: %d", got)
	}
}

// The signed-in user's own password: checked against the current one, at
// least MinPasswordLength and different from it; afterwards no change is
// required any more.
func TestChangeOwnPasswordRules(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	id := apptest.CreateUser(t, a, "worker-p", "commune_worker", "30791", true)
	p := apptest.Login(t, h, "worker-p", apptest.Password)
	for name, c := range map[string]struct {
		body  map[string]string
		field string
	}{
		"too short":   {map[string]string{"current_password": apptest.Password, "new_password": "short"}, `"field":"new_password","code":"too_short"`},
		"wrong":       {map[string]string{"current_password": "not the password", "new_password": "a new long password"}, `"field":"current_password"`},
		"the same":    {map[string]string{"current_password": apptest.Password, "new_password": apptest.Password}, `"field":"new_password","code":"invalid"`},
		"too long":    {map[string]string{"current_password": apptest.Password, "new_password": strings.Repeat("x", 257)}, `"code":"too_long"`},
		"wrong+short": {map[string]string{"current_password": "not the password", "new_password": "short"}, `"code":"too_short"`},
	} {
		if w := apptest.Send(t, h, "POST", "/api/v1/me/password", p.AccessToken, c.body); w.Code != 422 || !strings.Contains(w.Body.String(), c.field) {
			t.Errorf("%s: %d %s", name, w.Code, w.Body.String())
		}
	}
	if n := apptest.CountEvents(t, a, "user.password_change"); n != 0 {
		t.Fatalf("refused changes are not events: %d", n)
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/me/password", p.AccessToken, map[string]string{"current_password": apptest.Password,
		"new_password": "a new long password"}); w.Code != 204 {
		t.Fatalf("change: %d %s", w.Code, w.Body.String())
	}
	if got := apptest.Scalar[bool](t, a.DB(), `SELECT must_change_password FROM users WHERE id = ?`, id); got {
		t.Error("the change must clear must_change_password")
	}
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM refresh_tokens WHERE user_id = ? AND revoked_at IS NULL`, id); n != 0 {
		t.Errorf("live refresh tokens after a password change: %d", n)
	}
	if p := apptest.Login(t, h, "worker-p", "a new long password"); p.MustChangePassword {
		t.Error("the new password need not be changed again")
	}
	if n := apptest.CountEvents(t, a, "user.password_change"); n != 1 {
		t.Errorf("the change is one event: %d", n)
	}
}

type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }
