package assessment_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/apptest"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/auth"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

type reviewOut struct {
	ID            string         `json:"id"`
	State         string         `json:"state"`
	ReferenceDate string         `json:"reference_date"`
	DecideBy      string         `json:"decide_by"`
	Counts        map[string]int `json:"counts"`
	Version       int            `json:"version"`
	Objections    []struct {
		ID string `json:"id"`
	} `json:"objections"`
	Steps []struct {
		Action string `json:"action"`
	} `json:"approval_steps"`
}

type assessmentOut struct {
	ID             string `json:"id"`
	Classification string `json:"classification"`
	StandardCode   string `json:"standard_code"`
	State          string `json:"state"`
	SentBack       bool   `json:"sent_back"`
	Version        int    `json:"version"`
	Deprivations   int    `json:"deprivations"`
	Answers        []struct {
		Indicator string `json:"indicator"`
		Deprived  bool   `json:"deprived"`
		Source    string `json:"source"`
		Prefill   *struct {
			Reason string `json:"reason"`
		} `json:"prefill"`
	} `json:"answers"`
	Reasons []struct {
		Code string `json:"code"`
	} `json:"reasons"`
}

func TestPeriodicReviewThroughTheAPI(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	for _, u := range app.DemoUsers {
		apptest.CreateUser(t, a, u.Username, u.Role, u.Area, false)
	}
	// A commune official who also holds the approver role (as in a two-tier
	// deployment): the role allows approving, the rule forbids approving
	// what they submitted.
	ctx := access.WithActor(context.Background(), access.System("test"))
	if _, err := a.Auth().CreateUser(ctx, auth.NewUser{Username: "chu-tich", FullName: "Chủ tịch xã", Password: apptest.Password,
		Assignments: []auth.Grant{{Role: "commune_worker", AreaCode: "30791"}, {Role: "district_approver", AreaCode: "914"}}}); err != nil {
		t.Fatal(err)
	}
	worker := apptest.Login(t, h, "demo-worker", apptest.Password).AccessToken
	worker2 := apptest.Login(t, h, "demo-worker2", apptest.Password).AccessToken
	approver := apptest.Login(t, h, "demo-approver", apptest.Password).AccessToken
	auditor := apptest.Login(t, h, "demo-auditor", apptest.Password).AccessToken
	chair := apptest.Login(t, h, "chu-tich", apptest.Password).AccessToken
	today := vn.Today(time.Now())
	ago := func(days int) string { return today.AddDate(0, 0, -days).Format(time.DateOnly) }

	// Five households of commune 30791; C was poor and D near-poor before.
	ids := map[string]string{}
	for _, k := range []string{"A", "B", "C", "D", "E"} {
		w := apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("RV-"+k, "30791", ""))
		ids[k] = apptest.DecodeHousehold(t, w).ID
	}
	apptest.Exec(t, a.DB(), `UPDATE households SET classification = 'poor' WHERE id IN (?, ?)`, ids["C"], ids["E"])
	apptest.Exec(t, a.DB(), `UPDATE households SET classification = 'near_poor' WHERE id = ?`, ids["D"])

	// E asked in the year to leave poverty: a regular review, decided on its own assessment.
	w := apptest.Send(t, h, "POST", "/api/v1/reviews", worker, map[string]any{"kind": "regular", "commune_code": "30791",
		"household_id": ids["E"], "requested_on": ago(20)})
	regular := apptest.Decode[reviewOut](t, w, 201)
	if regular.DecideBy != ago(5) || regular.ReferenceDate != ago(20) {
		t.Fatalf("regular review: %s", w.Body.String())
	}
	w = apptest.Send(t, h, "POST", "/api/v1/households/"+ids["E"]+"/assessments", worker, map[string]any{"review_id": regular.ID,
		"income_per_person": 1_900_000, "answers": apptest.WorkerAnswers()})
	if apptest.Decode[assessmentOut](t, w, 201).Classification != "average" {
		t.Fatalf("E: %s", w.Body.String())
	}
	apptest.Decode[reviewOut](t, apptest.Send(t, h, "POST", "/api/v1/reviews/"+regular.ID+"/submit", worker, nil), 200)
	apptest.Decode[reviewOut](t, apptest.Send(t, h, "POST", "/api/v1/reviews/"+regular.ID+"/recognize", approver, map[string]any{
		"decision_number": "41/QĐ-UBND", "decision_date": ago(10), "signer": "Chủ tịch UBND xã"}), 200)
	// A decision dated ten days ago, entered today: its event says so.
	if d := apptest.Scalar[string](t, a.DB(), `SELECT doc->'after'->'entered_late'->>'event_date' FROM audit_events
		WHERE action = 'review.recognize' AND entity_id = ?`, regular.ID); d != ago(10) {
		t.Fatalf("the recognition's audit event: entered late %q", d)
	}

	// The periodic review of 2026.
	if w := apptest.Send(t, h, "POST", "/api/v1/reviews", worker2, map[string]any{"kind": "periodic", "commune_code": "30791", "year": 2026}); w.Code != 403 {
		t.Fatalf("a worker of another commune opened a review here: %d", w.Code)
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/reviews", auditor, map[string]any{"kind": "periodic", "commune_code": "30791", "year": 2026}); w.Code != 403 {
		t.Fatalf("an auditor opened a review: %d", w.Code)
	}
	w = apptest.Send(t, h, "POST", "/api/v1/reviews", worker, map[string]any{"kind": "periodic", "commune_code": "30791", "year": 2026})
	review := apptest.Decode[reviewOut](t, w, 201)
	if review.State != "open" || review.ReferenceDate != "2026-09-01" {
		t.Fatalf("review: %s", w.Body.String())
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/reviews", worker, map[string]any{"kind": "periodic", "commune_code": "30791", "year": 2026}); w.Code != 409 {
		t.Fatalf("a second periodic review of the year: %d", w.Code)
	}
	rv := "/api/v1/reviews/" + review.ID

	// Surveying: answers the registry can judge are prefilled and shown with
	// their source; contradicting the registry needs a note.
	assess := func(k string, income int, deprived ...string) *httptest.ResponseRecorder {
		return apptest.Send(t, h, "POST", "/api/v1/households/"+ids[k]+"/assessments", worker, map[string]any{"review_id": review.ID,
			"income_per_person": income, "answers": apptest.WorkerAnswers(deprived...)})
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/households/"+ids["A"]+"/assessments", worker, map[string]any{"review_id": review.ID,
		"income_per_person": 1_200_000, "answers": apptest.WorkerAnswers()[:3]}); w.Code != 422 || !strings.Contains(w.Body.String(), `"field":"answers"`) {
		t.Fatalf("missing answers: %d %s", w.Code, w.Body.String())
	}
	override := append(apptest.WorkerAnswers(), map[string]any{"indicator": "health_insurance", "deprived": false})
	if w := apptest.Send(t, h, "POST", "/api/v1/households/"+ids["A"]+"/assessments", worker, map[string]any{"review_id": review.ID,
		"income_per_person": 1_200_000, "answers": override}); w.Code != 422 || !strings.Contains(w.Body.String(), `answers[9].note`) {
		t.Fatalf("override without a note: %d %s", w.Code, w.Body.String())
	}
	w = assess("A", 1_200_000, "domestic_water", "toilet")
	aA := apptest.Decode[assessmentOut](t, w, 201)
	if aA.Classification != "poor" || aA.Deprivations != 3 || aA.StandardCode != "ND07-2021" || aA.Answers[3].Indicator != "health_insurance" ||
		aA.Answers[3].Source != "registry" || !aA.Answers[3].Deprived || aA.Answers[3].Prefill == nil || aA.Reasons[0].Code != "income_at_or_below_line" {
		t.Fatalf("A: %s", w.Body.String())
	}
	if w := assess("A", 1_200_000); w.Code != 409 {
		t.Fatalf("a second assessment of A: %d", w.Code)
	}
	aB := apptest.Decode[assessmentOut](t, assess("B", 1_400_000), 201)
	aC := apptest.Decode[assessmentOut](t, assess("C", 2_000_000), 201)
	apptest.Decode[assessmentOut](t, assess("D", 3_000_000), 201)
	apptest.Decode[assessmentOut](t, assess("E", 1_000_000, "toilet", "telecom"), 201)
	if aB.Classification != "near_poor" || aC.Classification != "average" {
		t.Fatalf("B %s, C %s", aB.Classification, aC.Classification)
	}

	// A draft changes only with If-Match.
	patch := map[string]any{"income_per_person": 1_450_000}
	if w := apptest.Send(t, h, "PATCH", "/api/v1/assessments/"+aB.ID, worker, patch); w.Code != 428 {
		t.Fatalf("patch without If-Match: %d", w.Code)
	}
	for _, stale := range []string{`"9"`, `"-1"`, `"0"`, `"1x"`} {
		if w := apptest.SendWith(t, h, "PATCH", "/api/v1/assessments/"+aB.ID, worker, patch, map[string]string{"If-Match": stale}); w.Code != 412 {
			t.Fatalf("patch with If-Match %s: %d", stale, w.Code)
		}
	}
	w = apptest.SendWith(t, h, "PATCH", "/api/v1/assessments/"+aB.ID, worker, patch, map[string]string{"If-Match": `"1"`})
	if b := apptest.Decode[assessmentOut](t, w, 200); b.Version != 2 || b.Classification != "near_poor" || w.Header().Get("ETag") != `"2"` {
		t.Fatalf("patch: %s", w.Body.String())
	}

	// The village meeting: C has too few votes and goes back to surveying.
	votes := []map[string]any{{"household_id": ids["A"], "agree": 30}, {"household_id": ids["B"], "agree": 25},
		{"household_id": ids["C"], "agree": 19}, {"household_id": ids["D"], "agree": 20}}
	meeting := map[string]any{"date": ago(12), "chair": "Trưởng ấp Tà Teng", "attendees": 40, "votes": votes}
	if w := apptest.Send(t, h, "POST", rv+"/record-meeting", worker, meeting); w.Code != 422 || !strings.Contains(w.Body.String(), ids["E"]) {
		t.Fatalf("a meeting without E's vote: %d %s", w.Code, w.Body.String())
	}
	meeting["votes"] = append(votes, map[string]any{"household_id": ids["E"], "agree": 35})
	review = apptest.Decode[reviewOut](t, apptest.Send(t, h, "POST", rv+"/record-meeting", worker, meeting), 200)
	if review.State != "surveying" || review.Counts["draft"] != 1 || review.Counts["agreed"] != 4 {
		t.Fatalf("after the first meeting: %+v", review)
	}
	if w := apptest.SendWith(t, h, "PATCH", "/api/v1/assessments/"+aA.ID, worker, patch, map[string]string{"If-Match": `"2"`}); w.Code != 409 {
		t.Fatalf("an agreed assessment changed: %d", w.Code)
	}
	w = apptest.Send(t, h, "GET", "/api/v1/assessments/"+aC.ID, worker, nil)
	c := apptest.Decode[assessmentOut](t, w, 200)
	if !c.SentBack || c.State != "draft" {
		t.Fatalf("C after the meeting: %s", w.Body.String())
	}
	apptest.Decode[assessmentOut](t, apptest.SendWith(t, h, "PATCH", "/api/v1/assessments/"+aC.ID, worker, map[string]any{"income_per_person": 2_100_000},
		map[string]string{"If-Match": w.Header().Get("ETag")}), 200)
	if w := apptest.Send(t, h, "POST", rv+"/record-meeting", worker, map[string]any{"date": ago(10), "chair": "Trưởng ấp Tà Teng",
		"attendees": 30, "votes": []map[string]any{{"household_id": ids["A"], "agree": 30}}}); w.Code != 422 {
		t.Fatalf("a vote on an agreed household: %d", w.Code)
	}
	review = apptest.Decode[reviewOut](t, apptest.Send(t, h, "POST", rv+"/record-meeting", worker, map[string]any{"date": ago(10),
		"chair": "Trưởng ấp Tà Teng", "attendees": 30, "votes": []map[string]any{{"household_id": ids["C"], "agree": 15}}}), 200)
	if review.State != "meeting_recorded" {
		t.Fatalf("after the second meeting: %+v", review)
	}

	// Posting, with an objection that must be resolved before submission.
	if w := apptest.Send(t, h, "POST", rv+"/submit", worker, nil); w.Code != 409 || !strings.Contains(w.Body.String(), `"current_state":"meeting_recorded"`) {
		t.Fatalf("submitted before posting: %d %s", w.Code, w.Body.String())
	}
	apptest.Decode[reviewOut](t, apptest.Send(t, h, "POST", rv+"/post", worker, map[string]any{"start_date": ago(9), "end_date": ago(2)}), 200)
	review = apptest.Decode[reviewOut](t, apptest.Send(t, h, "POST", rv+"/objections", worker, map[string]any{"household_id": ids["A"],
		"raised_by": "Ông Lê Văn Tư, ấp Tà Teng", "raised_on": ago(5), "content": "Hộ này có xe máy mới"}), 200)
	if w := apptest.Send(t, h, "POST", rv+"/submit", chair, nil); w.Code != 409 || !strings.Contains(w.Body.String(), "objections_open") {
		t.Fatalf("submitted with an open objection: %d %s", w.Code, w.Body.String())
	}
	apptest.Decode[reviewOut](t, apptest.Send(t, h, "POST", rv+"/objections/"+review.Objections[0].ID+"/resolve", worker, map[string]any{
		"outcome": "dismissed", "resolution": "Xe máy mua trả góp bằng vốn vay; thu nhập không đổi"}), 200)

	// Submission by the chair, who may not then approve it; a return; resubmission.
	review = apptest.Decode[reviewOut](t, apptest.Send(t, h, "POST", rv+"/submit", chair, map[string]any{"note": "Kết quả rà soát năm 2026"}), 200)
	if review.State != "submitted" {
		t.Fatalf("submitted: %+v", review)
	}
	decision := map[string]any{"decision_number": "125/QĐ-UBND", "decision_date": ago(1), "signer": "Chủ tịch UBND xã Vĩnh Phú"}
	if w := apptest.Send(t, h, "POST", rv+"/recognize", chair, decision); w.Code != 403 || !strings.Contains(w.Body.String(), "own_submission") {
		t.Fatalf("the submitter approved: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.Send(t, h, "POST", rv+"/recognize", worker, decision); w.Code != 403 {
		t.Fatalf("a worker approved: %d", w.Code)
	}
	if w := apptest.Send(t, h, "POST", rv+"/return", approver, map[string]any{}); w.Code != 422 {
		t.Fatalf("a return without reasons: %d", w.Code)
	}
	review = apptest.Decode[reviewOut](t, apptest.Send(t, h, "POST", rv+"/return", approver, map[string]any{"reason": "Thiếu biên bản họp ấp"}), 200)
	if review.State != "returned" {
		t.Fatalf("returned: %+v", review)
	}
	apptest.Decode[reviewOut](t, apptest.Send(t, h, "POST", rv+"/submit", worker, map[string]any{"note": "Đã bổ sung biên bản"}), 200)
	// Someone else resubmitted, but the chair submitted the first round: still theirs.
	if w := apptest.Send(t, h, "POST", rv+"/recognize", chair, decision); w.Code != 403 || !strings.Contains(w.Body.String(), "own_submission") {
		t.Fatalf("the first round's submitter approved: %d %s", w.Code, w.Body.String())
	}
	apptest.CreateUser(t, a, "pho-phong", "district_approver", "914", false)
	approver2 := apptest.Login(t, h, "pho-phong", apptest.Password).AccessToken

	// Two approvers who read the same version decide at once: exactly one
	// succeeds, the other is told the state it is now in.
	etag := apptest.Send(t, h, "GET", rv, approver, nil).Header().Get("ETag")
	var wg sync.WaitGroup
	codes := make([]*httptest.ResponseRecorder, 2)
	for i, tok := range []string{approver, approver2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = apptest.SendWith(t, h, "POST", rv+"/recognize", tok, decision, map[string]string{"If-Match": etag})
		}()
	}
	wg.Wait()
	got := []int{codes[0].Code, codes[1].Code}
	slices.Sort(got)
	if !slices.Equal(got, []int{200, 409}) {
		t.Fatalf("concurrent recognition: %v %s %s", got, codes[0].Body.String(), codes[1].Body.String())
	}
	for _, w := range codes {
		if w.Code == 409 && !strings.Contains(w.Body.String(), `"current_state":"recognized"`) {
			t.Fatalf("the loser is not told the state: %s", w.Body.String())
		}
	}

	// Classifications, with the decision as their source.
	want := map[string]string{"A": "poor", "B": "near_poor", "C": "average", "D": "none", "E": "poor"}
	for k, cls := range want {
		w := apptest.Send(t, h, "GET", "/api/v1/households/"+ids[k], auditor, nil)
		var hh struct {
			Classification string `json:"classification"`
			Decision       string `json:"classification_decision"`
			Effective      string `json:"classification_effective"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &hh); err != nil {
			t.Fatalf("%v: %s", err, w.Body.String())
		}
		if hh.Classification != cls || hh.Decision != "125/QĐ-UBND" && k != "D" || hh.Effective != ago(1) {
			t.Errorf("%s: %s", k, w.Body.String())
		}
	}
	// The five lists.
	lists := map[string]string{"newly_poor": "A", "newly_near_poor": "B", "escaped_poverty": "C", "escaped_near_poverty": "D",
		"re_entered_poverty": "E"}
	for kind, k := range lists {
		w := apptest.Send(t, h, "GET", rv+"/lists/"+kind, auditor, nil)
		var l struct {
			Items []struct {
				HouseholdID string `json:"household_id"`
				HeadName    string `json:"head_name"`
			} `json:"items"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &l); err != nil {
			t.Fatalf("%v: %s", err, w.Body.String())
		}
		if w.Code != 200 || len(l.Items) != 1 || l.Items[0].HouseholdID != ids[k] || l.Items[0].HeadName != "Nguyễn Văn An" {
			t.Errorf("list %s: %d %s", kind, w.Code, w.Body.String())
		}
	}
	if w := apptest.Send(t, h, "GET", rv+"/lists/poorest", auditor, nil); w.Code != 404 {
		t.Errorf("an unknown list: %d", w.Code)
	}
	w = apptest.Send(t, h, "GET", rv, auditor, nil)
	final := apptest.Decode[reviewOut](t, w, 200)
	var steps []string
	for _, s := range final.Steps {
		steps = append(steps, s.Action)
	}
	if final.State != "recognized" || !slices.Equal(steps, []string{"submit", "return", "submit", "approve"}) || final.Counts["recognized"] != 5 {
		t.Fatalf("final review: %s", w.Body.String())
	}
	if w := apptest.SendWith(t, h, "PATCH", "/api/v1/assessments/"+aB.ID, worker, patch, map[string]string{"If-Match": `"5"`}); w.Code != 409 && w.Code != 412 {
		t.Fatalf("a recognized assessment changed: %d", w.Code)
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/reviews?area=914&year=2026", auditor, nil); !strings.Contains(w.Body.String(), review.ID) {
		t.Fatalf("review list: %s", w.Body.String())
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/reviews/"+review.ID+"/assessments?classification=poor", approver, nil); strings.Count(w.Body.String(), `"household_id"`) != 2 {
		t.Fatalf("assessments of the review: %s", w.Body.String())
	}

	// The audit trail has every change.
	for action, n := range map[string]int{"review.create": 2, "assessment.create": 6, "assessment.update": 2, "review.record_meeting": 2,
		"review.post": 1, "review.add_objection": 1, "review.resolve_objection": 1, "review.submit": 3, "review.return": 1,
		"review.recognize": 2, "household.classify": 6} {
		if got := apptest.CountEvents(t, a, action); got != n {
			t.Errorf("%d %s events, want %d", got, action, n)
		}
	}

	// The sync feed carries the assessments and the new classifications. It
	// serves changes below the oldest running transaction of the cluster, so
	// other tests' transactions may hold it back for a moment.
	var assessments, poor int
	var body string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		w = apptest.Send(t, h, "GET", "/api/v1/sync/changes?limit=500", worker, nil)
		body = w.Body.String()
		var feed struct {
			Changes []struct {
				Type      string          `json:"type"`
				Data      json.RawMessage `json:"data"`
				Household *struct {
					Classification string `json:"classification"`
				} `json:"household"`
			} `json:"changes"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &feed); err != nil {
			t.Fatalf("%v: %s", err, w.Body.String())
		}
		assessments, poor = 0, 0
		for _, c := range feed.Changes {
			if c.Type == "assessment" && strings.Contains(string(c.Data), `"state":"recognized"`) {
				assessments++
			}
			if c.Household != nil && c.Household.Classification == "poor" {
				poor++
			}
		}
		if assessments == 6 {
			break
		}
	}
	if assessments != 6 || poor != 2 {
		t.Fatalf("sync feed: %d recognized assessments, %d poor households: %s", assessments, poor, body)
	}
}

// The approval concurrency and scope rules hold for a review outside the
// approver's district too: it is not found.
func TestReviewOutsideTheApproversArea(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "worker-dha", "commune_worker", "31036", false)
	apptest.CreateUser(t, a, "approver-gt", "district_approver", "914", false)
	worker := apptest.Login(t, h, "worker-dha", apptest.Password).AccessToken
	approver := apptest.Login(t, h, "approver-gt", apptest.Password).AccessToken
	review := apptest.Decode[reviewOut](t, apptest.Send(t, h, "POST", "/api/v1/reviews", worker, map[string]any{"kind": "periodic",
		"commune_code": "31036", "year": 2026}), 201)
	if w := apptest.Send(t, h, "GET", "/api/v1/reviews/"+review.ID, approver, nil); w.Code != http.StatusNotFound {
		t.Fatalf("an approver of another district read the review: %d", w.Code)
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/reviews/"+review.ID+"/return", approver, map[string]any{"reason": "x"}); w.Code != http.StatusNotFound {
		t.Fatalf("an approver of another district returned the review: %d", w.Code)
	}
}

// Standards are data: the two national ones are seeded, a province adds its
// own higher one, and an assessment takes the standard in force on its
// reference date, the province's own where it has one.
func TestPovertyStandards(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "std-manager", "program_manager", "91", false)
	apptest.CreateUser(t, a, "std-manager-hcm", "program_manager", "79", false)
	apptest.CreateUser(t, a, "std-worker", "commune_worker", "30791", false)
	manager := apptest.Login(t, h, "std-manager", apptest.Password).AccessToken
	outsider := apptest.Login(t, h, "std-manager-hcm", apptest.Password).AccessToken
	worker := apptest.Login(t, h, "std-worker", apptest.Password).AccessToken

	type standard struct {
		Code       string `json:"code"`
		IncomeLine struct {
			Rural int64 `json:"rural"`
			Urban int64 `json:"urban"`
		} `json:"income_line"`
		Indicators []struct {
			Code    string `json:"code"`
			Prefill string `json:"prefill"`
		} `json:"indicators"`
		Assessable bool `json:"assessable"`
	}
	all := apptest.Decode[struct{ Items []standard }](t, apptest.Send(t, h, "GET", "/api/v1/poverty-standards", worker, nil), 200)
	// The 2016-2020 standard (migration 00030) is there for the history of classifications.
	if len(all.Items) != 3 || all.Items[0].Code != "QD59-2015" || len(all.Items[0].Indicators) != 10 || all.Items[0].Assessable ||
		!all.Items[1].Assessable ||
		all.Items[1].Code != "ND07-2021" || len(all.Items[1].Indicators) != 12 ||
		all.Items[2].Code != "ND351-2025" || all.Items[2].IncomeLine.Rural != 2_200_000 || all.Items[2].IncomeLine.Urban != 2_800_000 ||
		len(all.Items[2].Indicators) != 13 || all.Items[1].Indicators[3].Prefill != "health_insurance" {
		t.Fatalf("standards: %+v", all)
	}
	in2027 := apptest.Decode[struct{ Items []standard }](t, apptest.Send(t, h, "GET", "/api/v1/poverty-standards?in_force_on=2027-01-01", worker, nil), 200)
	if len(in2027.Items) != 1 || in2027.Items[0].Code != "ND351-2025" {
		t.Fatalf("in force on 2027-01-01: %+v", in2027)
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/poverty-standards/ND99", worker, nil); w.Code != 404 {
		t.Fatalf("unknown standard: %d", w.Code)
	}

	local := map[string]any{"code": "KG-2026", "name": "Chuẩn nghèo tỉnh Kiên Giang năm 2026", "legal_source": "Nghị quyết HĐND tỉnh (thử)",
		"area_code": "91", "valid_from": "2026-01-01", "valid_to": "2026-12-31", "income_line_rural": 1_700_000, "income_line_urban": 2_200_000,
		"average_max_rural": 2_550_000, "average_max_urban": 3_300_000}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range local {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	for name, c := range map[string]struct {
		token string
		body  map[string]any
		want  int
	}{
		"below the national line":    {manager, with("income_line_rural", 1_400_000), 422},
		"a district, not a province": {manager, with("area_code", "914"), 422},
		"another province":           {outsider, local, 403},
		"a worker":                   {worker, local, 403},
		"a period without order":     {manager, with("valid_to", "2025-12-31"), 422},
	} {
		if w := apptest.Send(t, h, "POST", "/api/v1/poverty-standards", c.token, c.body); w.Code != c.want {
			t.Errorf("%s: %d, want %d: %s", name, w.Code, c.want, w.Body.String())
		}
	}
	created := apptest.Decode[standard](t, apptest.Send(t, h, "POST", "/api/v1/poverty-standards", manager, local), 201)
	if len(created.Indicators) != 12 {
		t.Fatalf("the local standard takes the national indicators: %+v", created)
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/poverty-standards", manager, with("code", "KG-2026B")); w.Code != 409 {
		t.Fatalf("an overlapping local standard: %d %s", w.Code, w.Body.String())
	}

	// Assessments choose by reference date: the province's 2026 line, then the 2027–2030 one.
	var ids []string
	for _, code := range []string{"ST-1", "ST-2", "ST-3"} {
		ids = append(ids, apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody(code, "30791", ""))).ID)
	}
	review := apptest.Decode[reviewOut](t, apptest.Send(t, h, "POST", "/api/v1/reviews", worker, map[string]any{"kind": "periodic",
		"commune_code": "30791", "year": 2026, "reference_date": "2027-01-01"}), 201)
	if review.ReferenceDate != "2027-01-01" {
		t.Fatalf("review reference date: %+v", review)
	}
	assess := func(id string, ref string, income int) *httptest.ResponseRecorder {
		body := map[string]any{"review_id": review.ID, "income_per_person": income, "answers": apptest.WorkerAnswers("toilet", "telecom")}
		if ref != "" {
			body["reference_date"] = ref
		}
		return apptest.Send(t, h, "POST", "/api/v1/households/"+id+"/assessments", worker, body)
	}
	// 1,600,000 is above the national 2026 line but under the province's: poor (toilet, telecom and health insurance).
	if got := apptest.Decode[assessmentOut](t, assess(ids[0], "2026-10-01", 1_600_000), 201); got.StandardCode != "KG-2026" || got.Classification != "poor" {
		t.Fatalf("under the local standard: %+v", got)
	}
	// The review's own reference date, 2027-01-01: the new national standard (the indicator list changed, so answer it).
	body := map[string]any{"review_id": review.ID, "income_per_person": 2_100_000, "answers": append(apptest.WorkerAnswers("toilet", "telecom")[:8],
		map[string]any{"indicator": "digital_services", "deprived": false}, map[string]any{"indicator": "waste_treatment", "deprived": false})}
	w := apptest.Send(t, h, "POST", "/api/v1/households/"+ids[1]+"/assessments", worker, body)
	if got := apptest.Decode[assessmentOut](t, w, 201); got.StandardCode != "ND351-2025" || got.Classification != "poor" || len(got.Answers) != 13 {
		t.Fatalf("under the 2027–2030 standard: %s", w.Body.String())
	}
	if w := assess(ids[2], "2021-06-01", 1_000_000); w.Code != 422 || !strings.Contains(w.Body.String(), "no_standard") {
		t.Fatalf("no standard in force: %d %s", w.Code, w.Body.String())
	}
	if n := apptest.CountEvents(t, a, "poverty_standard.create"); n != 1 {
		t.Fatalf("%d poverty_standard.create events", n)
	}
}
