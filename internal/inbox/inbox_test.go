package inbox_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/inbox"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
	"github.com/ansinh/ansinh/internal/platform/vn"
	"github.com/ansinh/ansinh/internal/reorganize"
)

type item struct {
	Kind        string `json:"kind"`
	TitleVI     string `json:"title_vi"`
	SubjectID   string `json:"subject_id"`
	HouseholdID string `json:"household_id"`
	CommuneCode string `json:"commune_code"`
	Due         string `json:"due"`
	Detail      string `json:"detail"`
	Overdue     bool   `json:"overdue"`
	Action      struct {
		Method string `json:"method"`
		Path   string `json:"path"`
	} `json:"action"`
}

type inboxOut struct {
	Items      []item `json:"items"`
	NextCursor string `json:"next_cursor"`
	Counts     []struct {
		Kind    string `json:"kind"`
		Items   int    `json:"items"`
		Overdue int    `json:"overdue"`
	} `json:"counts"`
}

// kinds are an inbox's counts as "kind:items:overdue", in order.
func (o inboxOut) kinds() []string {
	var out []string
	for _, c := range o.Counts {
		out = append(out, c.Kind+":"+strconv.Itoa(c.Items)+":"+strconv.Itoa(c.Overdue))
	}
	return out
}

// Every kind of work appears in the inbox of the role that acts on it when
// its record appears, and leaves it when acted on; another commune's worker
// never sees it; filters, pages and the supervisors' summary.
func TestInbox(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h, pool := a.Handler(), a.DB()
	worker := apptest.Token(t, a, "ib-worker", "commune_worker", "30791")
	other := apptest.Token(t, a, "ib-other", "commune_worker", "31036")
	approver := apptest.Token(t, a, "ib-approver", "district_approver", "914")
	auditor := apptest.Token(t, a, "ib-auditor", "province_auditor", "91")
	get := func(token, query string) inboxOut {
		t.Helper()
		return apptest.Decode[inboxOut](t, apptest.Send(t, h, "GET", "/api/v1/inbox"+query, token, nil), 200)
	}
	expect := func(who, token string, want ...string) inboxOut {
		t.Helper()
		got := get(token, "")
		if !slices.Equal(got.kinds(), want) {
			t.Fatalf("%s's inbox: %v, want %v", who, got.kinds(), want)
		}
		return got
	}
	expect("the worker", worker)
	hh := apptest.Decode[struct {
		ID      string `json:"id"`
		Members []struct {
			ID string `json:"id"`
		} `json:"members"`
	}](t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("IB-1", "30791", "")), 201)
	apptest.Exec(t, pool, `UPDATE households SET classification = 'poor' WHERE id = ?`, hh.ID)
	today := vn.Today(time.Now())

	// A household's request for a regular review, 20 days ago: 15 days to decide, overdue.
	rv := apptest.Decode[struct {
		ID string `json:"id"`
	}](t, apptest.Send(t, h, "POST", "/api/v1/reviews", worker, map[string]any{"kind": "regular", "commune_code": "30791",
		"household_id": hh.ID, "requested_on": today.AddDate(0, 0, -20).Format(time.DateOnly)}), 201)
	got := expect("the worker", worker, "regular_review_due:1:1")
	if it := got.Items[0]; it.SubjectID != rv.ID || it.HouseholdID != hh.ID || it.CommuneCode != "30791" || !it.Overdue ||
		it.Due != today.AddDate(0, 0, -5).Format(time.DateOnly) || it.Action.Path != "/api/v1/reviews/"+rv.ID || it.TitleVI == "" {
		t.Fatalf("the regular review: %+v", it)
	}
	expect("another commune's worker", other)
	// Submitted: the approver's; returned: the worker's again; recognized: nobody's.
	apptest.Exec(t, pool, `UPDATE reviews SET state = 'submitted' WHERE id = ?`, rv.ID)
	expect("the worker", worker)
	expect("the approver", approver, "review_submitted:1:1")
	apptest.Exec(t, pool, `UPDATE reviews SET state = 'returned' WHERE id = ?`, rv.ID)
	expect("the worker", worker, "review_returned:1:1")
	apptest.Exec(t, pool, `UPDATE reviews SET state = 'recognized', decision_number = '1/QĐ' WHERE id = ?`, rv.ID)
	expect("the worker", worker)
	expect("the approver", approver)

	// An objection raised while a review's list is posted, until resolved.
	apptest.Exec(t, pool, `UPDATE reviews SET state = 'posted', decision_number = NULL, posting_end = ? WHERE id = ?`, today.AddDate(0, 0, 3), rv.ID)
	objection := uuid.Must(uuid.NewV7()).String()
	apptest.Exec(t, pool, `INSERT INTO review_objections (id, review_id, household_id, raised_by, raised_on, content)
		VALUES (?, ?, ?, 'Nguyễn Văn An', ?, 'Hộ tôi không được vào danh sách')`, objection, rv.ID, hh.ID, today)
	got = expect("the worker", worker, "regular_review_due:1:1", "objection_open:1:0")
	if i := slices.IndexFunc(got.Items, func(it item) bool { return it.Kind == "objection_open" }); i < 0 ||
		got.Items[i].Action.Path != "/api/v1/reviews/"+rv.ID+"/objections/"+objection+"/resolve" {
		t.Fatalf("the objection: %+v", got.Items)
	}
	apptest.Exec(t, pool, `UPDATE review_objections SET outcome = 'dismissed', resolution = 'đúng quy định' WHERE id = ?`, objection)
	expect("the worker", worker, "regular_review_due:1:1")
	apptest.Exec(t, pool, `UPDATE reviews SET state = 'recognized', decision_number = '1/QĐ' WHERE id = ?`, rv.ID)
	expect("the worker", worker)

	// A possible duplicate, settled through the API.
	dup := uuid.Must(uuid.NewV7()).String()
	ma, mb := hh.Members[0].ID, hh.Members[1].ID
	if ma > mb {
		ma, mb = mb, ma
	}
	apptest.Exec(t, pool, `INSERT INTO duplicate_candidates (id, member_a, member_b, reason, area_path)
		VALUES (?, ?, ?, 'same_phone', '91.914.30791')`, dup, ma, mb)
	expect("the worker", worker, "duplicate_candidate:1:0")
	if w := apptest.Send(t, h, "POST", "/api/v1/duplicates/"+dup+"/resolve", worker, map[string]string{"resolution": "different"}); w.Code != 204 {
		t.Fatalf("resolve: %d %s", w.Code, w.Body)
	}
	expect("the worker", worker)

	// A proposal: the approver's until approved; past its end, or flagged,
	// the approver's again until ended.
	en := apptest.Decode[struct {
		ID string `json:"id"`
	}](t, apptest.Send(t, h, "POST", "/api/v1/enrollments", worker, map[string]any{"program_code": "legal_aid",
		"household_id": hh.ID, "starts_on": today.AddDate(-1, 0, 0).Format(time.DateOnly)}), 201)
	expect("the worker", worker)
	expect("the approver", approver, "enrollment_proposed:1:0")
	if w := apptest.Send(t, h, "POST", "/api/v1/enrollments/"+en.ID+"/return", approver, map[string]string{"reason": "thiếu giấy tờ"}); w.Code != 200 {
		t.Fatalf("return: %d %s", w.Code, w.Body)
	}
	expect("the worker", worker, "enrollment_returned:1:0")
	if w := apptest.Send(t, h, "POST", "/api/v1/enrollments/"+en.ID+"/resubmit", worker, map[string]string{}); w.Code != 200 {
		t.Fatalf("resubmit: %d %s", w.Code, w.Body)
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/enrollments/"+en.ID+"/approve", approver, map[string]string{}); w.Code != 200 {
		t.Fatalf("approve: %d %s", w.Code, w.Body)
	}
	expect("the approver", approver)
	apptest.Exec(t, pool, `UPDATE enrollments SET ends_on = ? WHERE id = ?`, today.AddDate(0, 0, -2), en.ID)
	expect("the approver", approver, "enrollment_past_end:1:1")
	apptest.Exec(t, pool, `UPDATE enrollments SET flagged_on = ?, flag_reason = 'no longer poor' WHERE id = ?`, today, en.ID)
	expect("the approver", approver, "enrollment_flagged:1:0")
	if w := apptest.Send(t, h, "POST", "/api/v1/enrollments/"+en.ID+"/end", approver,
		map[string]string{"date": today.Format(time.DateOnly), "reason": "thoát nghèo"}); w.Code != 200 {
		t.Fatalf("end: %d %s", w.Code, w.Body)
	}
	expect("the approver", approver)

	// A health insurance card expiring in ten days, until the next is delivered.
	card := uuid.Must(uuid.NewV7()).String()
	apptest.Exec(t, pool, `INSERT INTO enrollments (id, program_code, household_id, member_id, area_path, state, starts_on)
		VALUES (?, 'bhyt_poor', ?, ?, '91.914.30791', 'approved', ?)`, card, hh.ID, hh.Members[0].ID, today.AddDate(-1, 0, 0))
	deliver := func(expires time.Time) {
		apptest.Exec(t, pool, `INSERT INTO deliveries (id, enrollment_id, kind, area_path, occurred_on, expires_on, details)
			VALUES (?, ?, 'health_insurance', '91.914.30791', ?, ?, '{"card_number": "HN4910000000001"}')`,
			uuid.Must(uuid.NewV7()), card, today.AddDate(-1, 0, 0), expires)
	}
	deliver(today.AddDate(0, 0, 10))
	if got := expect("the worker", worker, "card_expiring:1:0"); got.Items[0].Action.Path != "/api/v1/enrollments/"+card+"/deliveries" ||
		got.Items[0].Detail != "bhyt_poor" {
		t.Fatalf("the card: %+v", got.Items[0])
	}
	expect("another commune's worker", other)
	deliver(today.AddDate(1, 0, 10))
	expect("the worker", worker)

	// An import with a problem: its owner's alone.
	req := httptest.NewRequest("POST", "/api/v1/imports?mode=valid_only", strings.NewReader(
		"commune_code,household_code,village,area_type,full_name,birth_date,sex,relationship\n30791,IB-2,,rural,Lê Văn Công,1990,male,head\n"))
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+worker)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	job := apptest.Decode[struct {
		ID string `json:"id"`
	}](t, w, 202)
	for deadline := time.Now().Add(20 * time.Second); apptest.Scalar[string](t, pool, `SELECT status FROM import_jobs WHERE id = ?`, job.ID) !=
		"succeeded"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the import did not finish")
		}
	}
	expect("the worker", worker, "import_problems:1:0")
	expect("another user", other)

	// Filters, pages and the summary, on three items of the worker's.
	apptest.Exec(t, pool, `UPDATE reviews SET state = 'returned', decision_number = NULL, decide_by = ? WHERE id = ?`, today.AddDate(0, 0, -1), rv.ID)
	apptest.Exec(t, pool, `UPDATE duplicate_candidates SET status = 'open' WHERE id = ?`, dup)
	all := get(worker, "")
	if len(all.Items) != 3 || all.Items[0].Kind != "review_returned" { // the dated first
		t.Fatalf("the worker's inbox: %+v", all.Items)
	}
	var paged []string
	for cursor := ""; ; {
		p := get(worker, "?limit=1&cursor="+cursor)
		for _, it := range p.Items {
			paged = append(paged, it.Kind)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(paged) != 3 || paged[0] != all.Items[0].Kind || paged[2] != all.Items[2].Kind {
		t.Fatalf("pages: %v", paged)
	}
	if got := get(worker, "?overdue=true"); len(got.Items) != 1 || got.Items[0].Kind != "review_returned" {
		t.Fatalf("overdue only: %+v", got.Items)
	}
	if got := get(worker, "?kind=duplicate_candidate,import_problems"); len(got.Items) != 2 {
		t.Fatalf("two kinds: %+v", got.Items)
	}
	if got := get(worker, "?commune=31036"); len(got.Items) != 0 {
		t.Fatalf("another commune: %+v", got.Items)
	}
	type summary struct {
		Communes []struct {
			CommuneCode string `json:"commune_code"`
			Items       int    `json:"items"`
			Overdue     int    `json:"overdue"`
		} `json:"communes"`
	}
	s := apptest.Decode[summary](t, apptest.Send(t, h, "GET", "/api/v1/inbox/summary", auditor, nil), 200)
	if len(s.Communes) != 1 || s.Communes[0].CommuneCode != "30791" || s.Communes[0].Items != 2 || s.Communes[0].Overdue != 1 {
		t.Fatalf("the province's summary (imports are their owners'): %+v", s)
	}
	if s := apptest.Decode[summary](t, apptest.Send(t, h, "GET", "/api/v1/inbox/summary", other, nil), 200); len(s.Communes) != 0 {
		t.Fatalf("another commune's summary: %+v", s)
	}
	for _, bad := range []string{"?kind=chores", "?limit=0", "?cursor=x", "?overdue=maybe"} {
		if w := apptest.Send(t, h, "GET", "/api/v1/inbox"+bad, worker, nil); w.Code != 422 {
			t.Fatalf("%s: %d", bad, w.Code)
		}
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/inbox", "", nil); w.Code != 401 {
		t.Fatalf("anonymous: %d", w.Code)
	}
}

// After a reorganization, a household of a divided commune that no village
// rule placed waits in the inbox of its successors' workers until one of
// them places it.
func TestInboxReorganizationDecision(t *testing.T) {
	t.Parallel()
	a := apptest.NewOn(t, apptest.Config(t, dbtest.NewDatabase(t).AppURL, "ANSINH_AUTH_SESSION_CACHE_TTL", "1ms"))
	h, pool := a.Handler(), a.DB()
	// Phước Hưng (30358) was divided among 30337, 30346 and 30352.
	id := uuid.Must(uuid.NewV7()).String()
	apptest.Exec(t, pool, `INSERT INTO households (id, code, commune_edition, commune_code, area_path, village, area_type)
		VALUES (?, 'PH-9', '2025-03', '30358', (SELECT path FROM areas WHERE edition = '2025-03' AND code = '30358'), 'Ấp Chín', 'rural')`, id)
	ctx := access.WithActor(context.Background(), access.System("test"))
	if _, err := reorganize.NewService(pool).Apply(ctx, reorganize.Options{To: "2026-04"}); err != nil {
		t.Fatal(err)
	}
	successor := apptest.Token(t, a, "ib-30337", "commune_worker", "30337")
	elsewhere := apptest.Token(t, a, "ib-30793", "commune_worker", "30793")
	got := apptest.Decode[inboxOut](t, apptest.Send(t, h, "GET", "/api/v1/inbox", successor, nil), 200)
	if len(got.Items) != 1 || got.Items[0].Kind != "reorganization_decision" || got.Items[0].SubjectID != id ||
		!strings.HasSuffix(got.Items[0].Action.Path, "/queue/"+id) {
		t.Fatalf("the successor's inbox: %+v", got.Items)
	}
	if got := apptest.Decode[inboxOut](t, apptest.Send(t, h, "GET", "/api/v1/inbox", elsewhere, nil), 200); len(got.Items) != 0 {
		t.Fatalf("another commune's inbox: %+v", got.Items)
	}
	if w := apptest.Send(t, h, "POST", got.Items[0].Action.Path, successor, map[string]string{"commune_code": "30337"}); w.Code != 200 {
		t.Fatalf("decide: %d %s", w.Code, w.Body)
	}
	if got := apptest.Decode[inboxOut](t, apptest.Send(t, h, "GET", "/api/v1/inbox", successor, nil), 200); len(got.Items) != 0 {
		t.Fatalf("after the decision: %+v", got.Items)
	}
}

// Waiting tells which subjects' work of a kind still waits, wherever they
// are (the notifications' check): the inbox's own rule, so a review that
// moved on leaves one kind and joins the next.
func TestWaiting(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h, pool := a.Handler(), a.DB()
	svc := inbox.NewService(pool, nil)
	worker := apptest.Token(t, a, "wt-worker", "commune_worker", "30791")
	hh := apptest.Decode[struct {
		ID string `json:"id"`
	}](t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("WT-1", "30791", "")), 201)
	rv := apptest.Decode[struct {
		ID uuid.UUID `json:"id"`
	}](t, apptest.Send(t, h, "POST", "/api/v1/reviews", worker, map[string]any{"kind": "regular", "commune_code": "30791",
		"household_id": hh.ID, "requested_on": vn.Today(time.Now()).Format(time.DateOnly)}), 201).ID
	stranger := uuid.Must(uuid.NewV7())
	waiting := func(kind string, want ...uuid.UUID) {
		t.Helper()
		got, err := svc.Waiting(context.Background(), kind, []uuid.UUID{rv, stranger})
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("waiting %s: %v, %v; want %v", kind, got, err, want)
		}
	}
	waiting("regular_review_due", rv)
	waiting("review_submitted")
	apptest.Exec(t, pool, `UPDATE reviews SET state = 'submitted' WHERE id = ?`, rv)
	waiting("regular_review_due")
	waiting("review_submitted", rv)
	waiting("import_problems", rv, stranger) // a user's own: always
	waiting("no_such_kind")
}
