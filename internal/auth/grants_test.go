package auth_test

import (
	"strings"
	"testing"

	"github.com/ansinh/ansinh/internal/apptest"
)

type grantBody struct {
	Assignment struct {
		ID     string `json:"id"`
		Role   string `json:"role"`
		Status string `json:"status"`
	} `json:"assignment"`
	Approval struct {
		State string `json:"state"`
	} `json:"approval"`
}

// Nobody grants or revokes roles on their own account: the demo admin gave
// itself commune_worker and province_auditor and read full ID numbers.
func TestNoSelfAssignment(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	id := apptest.CreateUser(t, a, "admin-self", "system_admin", "91", false)
	admin := apptest.Login(t, h, "admin-self", apptest.Password).AccessToken
	self := "/api/v1/users/" + id.String() + "/assignments"
	for _, g := range []map[string]string{{"role": "commune_worker", "area_code": "30791"}, {"role": "province_auditor", "area_code": "91"},
		{"role": "system_admin", "area_code": "914"}} {
		w := apptest.Send(t, h, "POST", self, admin, g)
		if w.Code != 403 || apptest.ProblemCode(t, w) != "own_assignments" {
			t.Errorf("self-grant of %s: %d %s", g["role"], w.Code, w.Body.String())
		}
	}
	own := apptest.Scalar[string](t, a.DB(), `SELECT id::text FROM role_assignments WHERE user_id = ?`, id)
	if w := apptest.Send(t, h, "DELETE", self+"/"+own, admin, nil); w.Code != 403 || apptest.ProblemCode(t, w) != "own_assignments" {
		t.Errorf("self-revoke: %d %s", w.Code, w.Body.String())
	}
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM role_assignments WHERE user_id = ?`, id); n != 1 {
		t.Errorf("the admin's assignments: %d, want its one", n)
	}
}

// A role that reads personal data takes two administrators: A asks, the
// grant is pending and gives nothing; A cannot approve it, nor can the user;
// B approves and only then may the user read. A rejection leaves it
// inactive. A system administrator as such reads no household and reveals no
// ID number.
func TestDataRoleGrantNeedsSecondAdmin(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	adminA := apptest.Token(t, a, "admin-a", "system_admin", "91")
	adminB := apptest.Token(t, a, "admin-b", "system_admin", "91")
	target := apptest.CreateUser(t, a, "admin-c", "system_admin", "91", false)
	userToken := apptest.Login(t, h, "admin-c", apptest.Password).AccessToken
	worker := apptest.Token(t, a, "worker-k", "commune_worker", "30791")
	hw := apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("GR-1", "30791", "091078001234"))
	hh := apptest.DecodeHousehold(t, hw)
	household := "/api/v1/households/" + hh.ID
	canRead := func() int { return apptest.Send(t, h, "GET", household, userToken, nil).Code }

	// A system administrator reads no household data.
	if c := canRead(); c != 403 {
		t.Fatalf("a system_admin reads a household: %d", c)
	}
	if w := apptest.Send(t, h, "GET", household+"?reveal=id_number", userToken, nil); w.Code != 403 || strings.Contains(w.Body.String(), "091078001234") {
		t.Fatalf("a system_admin reveals an ID number: %d %s", w.Code, w.Body.String())
	}

	user := "/api/v1/users/" + target.String()
	w := apptest.Send(t, h, "POST", user+"/assignments", adminA, map[string]string{"role": "commune_worker", "area_code": "30791"})
	g := apptest.Decode[grantBody](t, w, 202)
	if g.Assignment.Status != "pending" || g.Approval.State != "pending" || g.Assignment.ID == "" {
		t.Fatalf("the grant: %s", w.Body.String())
	}
	if c := canRead(); c != 403 {
		t.Fatalf("a pending grant gives a permission: %d", c)
	}
	approve := user + "/assignments/" + g.Assignment.ID + "/approve"
	if w := apptest.Send(t, h, "POST", approve, adminA, nil); w.Code != 403 || apptest.ProblemCode(t, w) != "own_submission" {
		t.Fatalf("the asker approves: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.Send(t, h, "POST", approve, userToken, nil); w.Code != 403 || apptest.ProblemCode(t, w) != "own_assignments" {
		t.Fatalf("the user approves their own grant: %d %s", w.Code, w.Body.String())
	}
	if c := canRead(); c != 403 {
		t.Fatalf("refused approvals give a permission: %d", c)
	}
	if w := apptest.Send(t, h, "POST", approve, adminB, nil); w.Code != 200 || !strings.Contains(w.Body.String(), `"status":"active"`) {
		t.Fatalf("the second admin approves: %d %s", w.Code, w.Body.String())
	}
	if c := canRead(); c != 200 {
		t.Fatalf("after the approval: %d", c)
	}
	if w := apptest.Send(t, h, "POST", approve, adminB, nil); w.Code != 409 {
		t.Fatalf("approving twice: %d %s", w.Code, w.Body.String())
	}

	// A rejection (with a reason) leaves the assignment inactive, revoked.
	w = apptest.Send(t, h, "POST", user+"/assignments", adminA, map[string]string{"role": "province_auditor", "area_code": "91"})
	g = apptest.Decode[grantBody](t, w, 202)
	reject := user + "/assignments/" + g.Assignment.ID + "/reject"
	if w := apptest.Send(t, h, "POST", reject, adminB, nil); w.Code != 422 {
		t.Fatalf("a rejection without a reason: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.Send(t, h, "POST", reject, adminB, map[string]string{"reason": "not an auditor"}); w.Code != 200 {
		t.Fatalf("reject: %d %s", w.Code, w.Body.String())
	}
	if s := apptest.Scalar[string](t, a.DB(), `SELECT status || (revoked_at IS NOT NULL)::text FROM role_assignments WHERE id = ?`,
		g.Assignment.ID); s != "rejectedtrue" {
		t.Fatalf("the rejected grant: %s", s)
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/audit/events", userToken, nil); w.Code != 403 {
		t.Fatalf("a rejected auditor grant gives audit read: %d", w.Code)
	}

	// Both steps are audit events.
	for action, want := range map[string]int{"user.grant_request": 2, "user.grant_approve": 1, "user.grant_reject": 1} {
		if n := apptest.CountEvents(t, a, action); n != want {
			t.Errorf("%s events: %d, want %d", action, n, want)
		}
	}
}

// An administrator cannot hand a data role to a fresh account either (and
// sign in with its password): a new user's data roles are pending too.
func TestCreatedUserDataRolesPending(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	adminA := apptest.Token(t, a, "admin-d", "system_admin", "91")
	w := apptest.Send(t, h, "POST", "/api/v1/users", adminA, map[string]any{"username": "fresh.worker", "full_name": "Lê Văn Mới",
		"password": "a long enough pw", "assignments": []map[string]string{{"role": "commune_worker", "area_code": "30791"}}})
	if w.Code != 201 || !strings.Contains(w.Body.String(), `"status":"pending"`) {
		t.Fatalf("create: %d %s", w.Code, w.Body.String())
	}
	p := apptest.Login(t, h, "fresh.worker", "a long enough pw")
	me := apptest.Send(t, h, "GET", "/api/v1/me", p.AccessToken, nil)
	if strings.Contains(me.Body.String(), `"household:read"`) {
		t.Fatalf("a pending role gives permissions: %s", me.Body.String())
	}
}

// A pending grant revoked before anyone decided it is withdrawn from the
// approval flow: it no longer waits for a decision that would fail (before,
// the request stayed pending for ever and approving it answered 409).
func TestRevokedPendingGrantIsWithdrawn(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	adminA := apptest.Token(t, a, "admin-wa", "system_admin", "91")
	adminB := apptest.Token(t, a, "admin-wb", "system_admin", "91")
	target := apptest.CreateUser(t, a, "worker-w", "system_admin", "91", false)
	user := "/api/v1/users/" + target.String()
	w := apptest.Send(t, h, "POST", user+"/assignments", adminA, map[string]string{"role": "commune_worker", "area_code": "30791"})
	g := apptest.Decode[grantBody](t, w, 202)

	if w := apptest.Send(t, h, "DELETE", user+"/assignments/"+g.Assignment.ID, adminA, nil); w.Code != 200 {
		t.Fatalf("revoking the pending grant: %d %s", w.Code, w.Body.String())
	}
	state := apptest.Scalar[string](t, a.DB(), `SELECT state FROM approval_requests WHERE subject_type = 'role_grant' AND subject_id = ?`, g.Assignment.ID)
	if state != "withdrawn" {
		t.Errorf("the approval request of a revoked grant is %q, want withdrawn", state)
	}
	steps := apptest.Scalar[string](t, a.DB(), `SELECT string_agg(action, ',' ORDER BY at, action DESC) FROM approval_steps
		WHERE subject_type = 'role_grant' AND subject_id = ?`, g.Assignment.ID)
	if steps != "submit,withdraw" {
		t.Errorf("the grant's steps: %q, want submit,withdraw", steps)
	}
	w = apptest.Send(t, h, "POST", user+"/assignments/"+g.Assignment.ID+"/approve", adminB, map[string]string{})
	if w.Code != 409 {
		t.Errorf("approving a withdrawn grant: %d %s", w.Code, w.Body.String())
	}
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM role_assignments WHERE id = ? AND status = 'active'`, g.Assignment.ID); n != 0 {
		t.Errorf("a withdrawn grant became active")
	}
}
