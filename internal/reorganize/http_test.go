package reorganize_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

type plan struct {
	Households int `json:"households"`
	Queued     int `json:"queued"`
	Bindings   []struct {
		Kind, Ref, Label, Action, Source string
		FromCode                         string `json:"from_code"`
		ToCode                           string `json:"to_code"`
	} `json:"bindings"`
	Blockers []string `json:"blockers"`
	Communes []struct {
		Code    string         `json:"code"`
		Divided bool           `json:"divided"`
		Placed  map[string]int `json:"placed"`
		Queued  int            `json:"queued"`
	} `json:"communes"`
}

type status struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	Moved   int    `json:"moved"`
	Pending int    `json:"pending"`
	Queued  int    `json:"queued"`
}

type householdOut struct {
	ID             string `json:"id"`
	Code           string `json:"code"`
	CommuneCode    string `json:"commune_code"`
	CommuneEdition string `json:"commune_edition"`
	AreaPath       string `json:"area_path"`
}

// The reorganization through the API, on a test province that includes a
// divided commune: a dry run's plan, a start refused while a district's
// binding is undecided, the village table, the background batches, the
// decision queue of the divided commune's successors, the codes made unique
// in a merged commune, the mobile clients told to start over, and what stays
// with the old units.
func TestReorganizationThroughTheAPI(t *testing.T) {
	t.Parallel()
	// Roles are cached per server for session_cache_ttl (5 s): a run changes
	// them as another server would, so the test does not wait that long.
	a := apptest.NewOn(t, apptest.Config(t, dbtest.NewDatabase(t).AppURL, "ANSINH_AUTH_SESSION_CACHE_TTL", "1ms"))
	h := a.Handler()
	worker := map[string]string{}
	for _, c := range []string{"30791", "30793", "30358"} {
		worker[c] = apptest.Token(t, a, "w"+c, "commune_worker", c)
	}
	approver := apptest.Token(t, a, "approver-914", "district_approver", "914")
	admin := apptest.Token(t, a, "admin-91", "system_admin", "91")
	register := func(commune, code, village string) householdOut {
		t.Helper()
		body := apptest.HouseholdBody(code, commune, "")
		body["village"] = village
		return apptest.Decode[householdOut](t, apptest.Send(t, h, "POST", "/api/v1/households", worker[commune], body), 201)
	}
	// Vĩnh Phú (30791) and Vĩnh Điều (30793) merge into Vĩnh Điều: both have
	// a household coded VD-1. Phước Hưng (30358) was divided among An Phú
	// (30337), Nhơn Hội (30346) and Phú Hữu (30352).
	vd1old := register("30791", "VD-1", "Ấp 1")
	vd1 := register("30793", "VD-1", "Ấp 1")
	ph1 := register("30358", "PH-1", "Ấp Một")
	ph2 := register("30358", "PH-2", "ấp  hai")
	ph3 := register("30358", "PH-3", "Ấp Ba")
	// Vĩnh Phú's household has an open complaint, handled by its commune.
	if w := apptest.Send(t, h, "POST", "/api/v1/complaints", worker["30791"], map[string]any{"household_id": vd1old.ID,
		"complainant_name": "Nguyễn Văn An", "channel": "in_person", "subject_kind": "classification", "content": "Đề nghị xem xét lại"}); w.Code != 201 {
		t.Fatalf("a complaint: %d %s", w.Code, w.Body)
	}
	// The clients of Vĩnh Phú and Phước Hưng hold copies and a sync position.
	cursor := map[string]string{}
	for _, c := range []string{"30791", "30358"} {
		page := apptest.Decode[struct {
			NextCursor string `json:"next_cursor"`
		}](t, apptest.Send(t, h, "GET", "/api/v1/sync/changes", worker[c], nil), 200)
		cursor[c] = page.NextCursor
	}

	villages := []map[string]string{
		{"old_commune_code": "30358", "village": "ấp một", "new_commune_code": "30337"},
		{"old_commune_code": "30358", "village": "Ấp Hai", "new_commune_code": "30346"},
	}
	dry := apptest.Decode[plan](t, apptest.Send(t, h, "POST", "/api/v1/reorganizations", admin,
		map[string]any{"to_edition": "2026-04", "dry_run": true, "villages": villages}), 200)
	if dry.Households != 5 || dry.Queued != 1 {
		t.Fatalf("plan: %d households, %d queued", dry.Households, dry.Queued)
	}
	ref := map[string]string{} // username -> assignment
	for _, b := range dry.Bindings {
		if b.Kind == "assignment" {
			ref[strings.Fields(b.Label)[1]] = b.Ref
		}
		switch {
		case strings.Contains(b.Label, "w30791") && (b.Action != "rebind" || b.ToCode != "30793" || b.Source != "mapping"):
			t.Errorf("Vĩnh Phú's worker follows the mapping: %+v", b)
		case strings.Contains(b.Label, "approver-914") && b.Action != "":
			t.Errorf("a district's approver is never re-bound by the mapping: %+v", b)
		}
	}
	for _, c := range dry.Communes {
		if c.Code == "30358" && (!c.Divided || c.Placed["30337"] != 1 || c.Placed["30346"] != 1 || c.Queued != 1) {
			t.Errorf("Phước Hưng's placement: %+v", c)
		}
		if c.Code == "30791" && c.Placed["30793"] != 1 {
			t.Errorf("Vĩnh Phú's placement: %+v", c)
		}
	}
	blocked := strings.Join(dry.Blockers, "\n")
	if len(dry.Blockers) != 2 || !strings.Contains(blocked, ref["approver-914"]) || !strings.Contains(blocked, ref["w30358"]) {
		t.Fatalf("blockers: %v", dry.Blockers)
	}

	// Not started while a binding is undecided; nothing written.
	w := apptest.Send(t, h, "POST", "/api/v1/reorganizations", admin, map[string]any{"to_edition": "2026-04", "villages": villages})
	if w.Code != 409 || apptest.ProblemCode(t, w) != "reorganization_blocked" || !strings.Contains(w.Body.String(), ref["approver-914"]) {
		t.Fatalf("undecided start: %d %s", w.Code, w.Body)
	}
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM reorganizations`); n != 0 {
		t.Fatalf("a refused start wrote %d runs", n)
	}
	for _, bad := range []map[string]any{
		{"to_edition": "2026"},
		{"to_edition": "1999-01"},
		{"to_edition": "2026-04", "bindings": []map[string]string{{"kind": "assignment", "ref": "x", "action": "move"}}},
	} {
		if w := apptest.Send(t, h, "POST", "/api/v1/reorganizations", admin, bad); w.Code != 422 {
			t.Errorf("%v: %d %s", bad, w.Code, w.Body)
		}
	}

	// Before: the approver of district 914 (Kiên Giang) does not see old An Giang's households.
	if w := apptest.Send(t, h, "GET", "/api/v1/households/"+ph2.ID, approver, nil); w.Code != 404 {
		t.Fatalf("another province's household before the reorganization: %d", w.Code)
	}
	bindings := []map[string]string{
		{"kind": "assignment", "ref": ref["approver-914"], "action": "rebind", "to_code": "91"},
		{"kind": "assignment", "ref": ref["w30358"], "action": "rebind", "to_code": "30337"},
	}
	// With an Idempotency-Key (the whole request one transaction, the
	// batches started once it commits); a retry gets the same answer.
	start := map[string]any{"to_edition": "2026-04", "villages": villages, "bindings": bindings}
	key := map[string]string{"Idempotency-Key": "reorganize-2026-04"}
	w = apptest.SendWith(t, h, "POST", "/api/v1/reorganizations", admin, start, key)
	if w.Code != 202 {
		t.Fatalf("start: %d %s", w.Code, w.Body)
	}
	if again := apptest.SendWith(t, h, "POST", "/api/v1/reorganizations", admin, start, key); again.Code != 202 ||
		again.Header().Get("Location") != w.Header().Get("Location") {
		t.Fatalf("the start retried: %d %s", again.Code, again.Body)
	}
	var st status
	_ = json.Unmarshal(w.Body.Bytes(), &st)
	for deadline := time.Now().Add(20 * time.Second); st.Pending > 0 || st.Moved < 4; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the batches did not finish: %+v", st)
		}
		st = apptest.Decode[status](t, apptest.Send(t, h, "GET", "/api/v1/reorganizations/"+st.ID, admin, nil), 200)
	}
	if st.State != "applying" || st.Moved != 4 || st.Queued != 1 {
		t.Fatalf("after the batches: %+v", st)
	}

	// Everyone signs in again: the roles now stand at today's units.
	for _, c := range []string{"30791", "30358"} {
		worker[c] = apptest.Login(t, h, "w"+c, apptest.Password).AccessToken
	}
	get := func(token, id string) householdOut {
		return apptest.Decode[householdOut](t, apptest.Send(t, h, "GET", "/api/v1/households/"+id, token, nil), 200)
	}
	a1, a2 := get(worker["30791"], vd1.ID), get(worker["30791"], vd1old.ID)
	if a1.CommuneCode != "30793" || a1.CommuneEdition != "2026-04" || a1.AreaPath != "91.30793" || a1.Code != "VD-1" ||
		a2.CommuneCode != "30793" || a2.Code != "VD-1-30791" {
		t.Fatalf("the merged commune: %+v %+v", a1, a2)
	}
	// The open complaint went with it: Vĩnh Điều handles it now.
	if c := apptest.Scalar[string](t, a.DB(), `SELECT handler_edition || ':' || handler_code || ' ' || area_path::text FROM complaints
		WHERE household_id = ?`, vd1old.ID); c != "2026-04:30793 91.30793" {
		t.Fatalf("the open complaint after the move: %s", c)
	}
	if p := get(worker["30358"], ph1.ID); p.CommuneCode != "30337" || p.AreaPath != "91.30337" {
		t.Fatalf("placed by its village: %+v", p)
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/households/"+ph2.ID, worker["30358"], nil); w.Code != 404 {
		t.Fatalf("a household placed in another successor: %d", w.Code)
	}

	// The queue: seen by the workers of the divided commune's successors.
	type queue struct {
		Items []struct {
			HouseholdID string   `json:"household_id"`
			Candidates  []string `json:"candidates"`
		} `json:"items"`
	}
	q := apptest.Decode[queue](t, apptest.Send(t, h, "GET", "/api/v1/reorganizations/"+st.ID+"/queue", worker["30358"], nil), 200)
	if len(q.Items) != 1 || q.Items[0].HouseholdID != ph3.ID || strings.Join(q.Items[0].Candidates, ",") != "30337,30346,30352" {
		t.Fatalf("queue: %+v", q)
	}
	if q := apptest.Decode[queue](t, apptest.Send(t, h, "GET", "/api/v1/reorganizations/"+st.ID+"/queue", worker["30791"], nil), 200); len(q.Items) != 0 {
		t.Fatalf("another commune's queue: %+v", q)
	}
	decide := func(token, household, commune string) *httptest.ResponseRecorder {
		return apptest.Send(t, h, "POST", "/api/v1/reorganizations/"+st.ID+"/queue/"+household, token, map[string]string{"commune_code": commune})
	}
	if w := decide(worker["30358"], ph3.ID, "30352"); w.Code != 403 {
		t.Fatalf("placing in a commune not one's own: %d %s", w.Code, w.Body)
	}
	if w := decide(worker["30358"], ph3.ID, "30793"); w.Code != 422 {
		t.Fatalf("placing in a commune that is no successor: %d %s", w.Code, w.Body)
	}
	if w := decide(worker["30791"], ph3.ID, "30793"); w.Code != 404 {
		t.Fatalf("another commune's worker: %d %s", w.Code, w.Body)
	}
	if w := decide(worker["30358"], ph3.ID, "30337"); w.Code != 200 || !strings.Contains(w.Body.String(), `"code":"PH-3"`) {
		t.Fatalf("decide: %d %s", w.Code, w.Body)
	}
	if w := decide(worker["30358"], ph3.ID, "30337"); w.Code != 404 && w.Code != 409 {
		t.Fatalf("decided twice: %d %s", w.Code, w.Body)
	}
	st = apptest.Decode[status](t, apptest.Send(t, h, "GET", "/api/v1/reorganizations/"+st.ID, admin, nil), 200)
	if st.State != "applied" || st.Queued != 0 || st.Moved != 5 {
		t.Fatalf("after the last decision: %+v", st)
	}

	// Reports across the reform: the old units as they were, today's units
	// with the same households where each went; totals agree.
	auditor := apptest.Token(t, a, "auditor-91", "province_auditor", "91") // the new An Giang
	type report struct {
		Area struct {
			Code, Edition string
		} `json:"area"`
		Items []struct {
			AreaCode   string `json:"area_code"`
			Households int    `json:"households"`
		} `json:"items"`
		Totals struct {
			Households int `json:"households"`
		} `json:"totals"`
	}
	poverty := func(query string) report {
		t.Helper()
		return apptest.Decode[report](t, apptest.Send(t, h, "GET", "/api/v1/reports/poverty?"+query, auditor, nil), 200)
	}
	kienGiang, oldAnGiang, anGiang := poverty("area=91&edition=2025-03"), poverty("area=89&edition=2025-03"), poverty("area=91")
	if kienGiang.Totals.Households != 2 || oldAnGiang.Totals.Households != 3 || anGiang.Totals.Households != 5 ||
		kienGiang.Area.Edition != "2025-03" || anGiang.Area.Edition != "2026-04" {
		t.Fatalf("totals: Kiên Giang %+v, old An Giang %+v, new An Giang %+v", kienGiang, oldAnGiang, anGiang)
	}
	byDistrict := map[string]int{}
	for _, r := range poverty("area=914&edition=2025-03").Items {
		byDistrict[r.AreaCode] = r.Households
	}
	if byDistrict["30791"] != 1 || byDistrict["30793"] != 1 {
		t.Fatalf("Giang Thành's communes as they were: %v", byDistrict)
	}
	byCommune := map[string]int{}
	for _, r := range anGiang.Items {
		byCommune[r.AreaCode] = r.Households
	}
	if byCommune["30793"] != 2 || byCommune["30337"] != 2 || byCommune["30346"] != 1 {
		t.Fatalf("today's communes: %v", byCommune)
	}
	for _, q := range []string{"area=91&edition=2027-01", "area=91&edition=27"} {
		if w := apptest.Send(t, h, "GET", "/api/v1/reports/poverty?"+q, auditor, nil); w.Code != 422 {
			t.Errorf("%s: %d", q, w.Code)
		}
	}

	// The clients' positions were read in their old areas: they start over.
	for _, c := range []string{"30791", "30358"} {
		w := apptest.Send(t, h, "GET", "/api/v1/sync/changes?cursor="+cursor[c], worker[c], nil)
		if w.Code != 410 || apptest.ProblemCode(t, w) != "sync_cursor_expired" {
			t.Fatalf("%s's client after the move: %d %s", c, w.Code, w.Body)
		}
	}
	// The feed tells both sides of each move.
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM registry_changes WHERE household_id = ? AND area_path = '91.914.30791'`, vd1old.ID); n != 2 {
		t.Errorf("feed entries under the old unit: %d, want the registration's and the move's", n)
	}
	// Every household moved once, in the audit trail.
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM audit_events e, json_array_elements(e.doc->'after'->'households') x
		WHERE e.action = 'area.reorganize_move'`); n != 5 {
		t.Errorf("households in move events: %d", n)
	}
	// New records are filed under today's units; old codes are not units any more.
	if w := apptest.Send(t, h, "POST", "/api/v1/households", worker["30791"], apptest.HouseholdBody("VD-9", "30793", "")); w.Code != 201 {
		t.Fatalf("registering in today's commune: %d %s", w.Code, w.Body)
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/households", worker["30791"], apptest.HouseholdBody("VD-10", "30791", "")); w.Code != 422 {
		t.Fatalf("registering in a unit of the old edition: %d %s", w.Code, w.Body)
	}
	// The approver of the abolished district now stands at the province.
	approver = apptest.Login(t, h, "approver-914", apptest.Password).AccessToken
	if w := apptest.Send(t, h, "GET", "/api/v1/households/"+ph2.ID, approver, nil); w.Code != 200 {
		t.Fatalf("the approver re-bound to the province: %d", w.Code)
	}

	// Two tiers in the workflow: a review opens in today's commune, and the
	// approver bound to the province approves an enrollment there.
	rw := apptest.Send(t, h, "POST", "/api/v1/reviews", worker["30791"], map[string]any{"kind": "periodic", "commune_code": "30793", "year": 2026})
	if rw.Code != 201 || !strings.Contains(rw.Body.String(), `"commune_edition":"2026-04"`) {
		t.Fatalf("a review in today's commune: %d %s", rw.Code, rw.Body)
	}
	apptest.Exec(t, a.DB(), `UPDATE households SET classification = 'poor' WHERE id = ?`, vd1.ID)
	ew := apptest.Send(t, h, "POST", "/api/v1/enrollments", worker["30791"], map[string]any{"program_code": "legal_aid",
		"household_id": vd1.ID, "starts_on": "2026-01-01"})
	if ew.Code != 201 {
		t.Fatalf("a proposal in today's commune: %d %s", ew.Code, ew.Body)
	}
	var enrolled struct{ ID string }
	_ = json.Unmarshal(ew.Body.Bytes(), &enrolled)
	if w := apptest.Send(t, h, "POST", "/api/v1/enrollments/"+enrolled.ID+"/approve", approver, nil); w.Code != 200 {
		t.Fatalf("the province's approver approves: %d %s", w.Code, w.Body)
	}
}
