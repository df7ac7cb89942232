package program_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/apptest"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/auth"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// reviewOut and assessmentOut are the parts of a review and an assessment
// these tests read.
type reviewOut struct {
	ID string `json:"id"`
}

type assessmentOut struct {
	ID string `json:"id"`
}

type enrollmentOut struct {
	ID         string         `json:"id"`
	State      string         `json:"state"`
	Amount     int64          `json:"amount"`
	Reason     string         `json:"reason"`
	Benefit    map[string]any `json:"benefit"`
	FlaggedOn  string         `json:"flagged_on"`
	FlagReason string         `json:"flag_reason"`
	Version    int            `json:"version"`
}

// The programs through the API with the demo accounts: eligibility with its
// reasons, the gap list, proposals and decisions (no self-approval), the
// budget refusal, delivery records, and the flags a new classification
// raises on exactly the enrollments that depended on the old one.
func TestProgramsThroughTheAPI(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	for _, u := range app.DemoUsers {
		apptest.CreateUser(t, a, u.Username, u.Role, u.Area, false)
	}
	ctx := access.WithActor(context.Background(), access.System("test"))
	if _, err := a.Auth().CreateUser(ctx, auth.NewUser{Username: "pho-chu-tich", FullName: "Phó chủ tịch xã", Password: apptest.Password,
		Assignments: []auth.Grant{{Role: "commune_worker", AreaCode: "30791"}, {Role: "district_approver", AreaCode: "914"}}}); err != nil {
		t.Fatal(err)
	}
	worker := apptest.Login(t, h, "demo-worker", apptest.Password).AccessToken
	approver := apptest.Login(t, h, "demo-approver", apptest.Password).AccessToken
	manager := apptest.Login(t, h, "demo-manager", apptest.Password).AccessToken
	auditor := apptest.Login(t, h, "demo-auditor", apptest.Password).AccessToken
	dual := apptest.Login(t, h, "pho-chu-tich", apptest.Password).AccessToken
	today := vn.Today(time.Now())
	day := func(d int) string { return today.AddDate(0, 0, d).Format(time.DateOnly) }

	// Two poor households of commune 30791.
	var hh []apptest.Household
	for _, code := range []string{"PG-1", "PG-2"} {
		hh = append(hh, apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody(code, "30791", ""))))
	}
	apptest.Exec(t, a.DB(), `UPDATE households SET classification = 'poor' WHERE code IN ('PG-1', 'PG-2')`)
	head, child := hh[0].Members[0].ID, hh[0].Members[3].ID // Nguyễn Thị Diệu, born 2014, a pupil

	// Eligibility, with reasons in words.
	type eligibility struct {
		Items []struct {
			ProgramCode string `json:"program_code"`
			Eligible    bool   `json:"eligible"`
			Verdicts    []struct {
				MemberID string `json:"member_id"`
				Eligible bool   `json:"eligible"`
				ReasonEN string `json:"reason_en"`
			} `json:"verdicts"`
		} `json:"items"`
	}
	elig := apptest.Decode[eligibility](t, apptest.Send(t, h, "GET", "/api/v1/households/"+hh[0].ID+"/eligibility", worker, nil), 200)
	got := map[string]bool{}
	reasons := map[string]string{}
	for _, p := range elig.Items {
		got[p.ProgramCode] = p.Eligible
		for _, v := range p.Verdicts {
			if v.MemberID == child || v.MemberID == "" {
				reasons[p.ProgramCode] = v.ReasonEN
			}
		}
	}
	age := today.Year() - 2014
	// Tuition: from the 2025-2026 school year a primary pupil's public school
	// is free (the exemption's rule of that period: TestRuleInTime).
	for code, want := range map[string]bool{"bhyt_poor": true, "bhyt_near_poor": false, "study_cost": true, "tuition_exemption": false,
		"housing_new": true, "legal_aid": true, "vocational_training": true, "vbsp_loan": true} {
		if got[code] != want {
			t.Errorf("eligible for %s: %v, want %v", code, got[code], want)
		}
	}
	if want := fmt.Sprintf("member Nguyễn Thị Diệu, %d: is in a poor household; is a pupil", age); reasons["study_cost"] != want {
		t.Errorf("study-cost reason %q, want %q", reasons["study_cost"], want)
	}
	if reasons["bhyt_near_poor"] != fmt.Sprintf("member Nguyễn Thị Diệu, %d: not so: is in a near-poor household", age) {
		t.Errorf("refusal reason: %q", reasons["bhyt_near_poor"])
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/households/"+hh[0].ID+"/eligibility", apptest.Login(t, h, "demo-worker2", apptest.Password).AccessToken, nil); w.Code != 404 {
		t.Errorf("a worker of another commune saw the eligibility: %d", w.Code)
	}

	// The gap list: everyone of the two households lacks a card.
	gaps := apptest.Decode[struct {
		Items []struct{ HouseholdID string } `json:"items"`
	}](t, apptest.Send(t, h, "GET", "/api/v1/programs/bhyt_poor/gaps?area=914", approver, nil), 200)
	if len(gaps.Items) != 8 {
		t.Fatalf("gaps: %d entries, want 8", len(gaps.Items))
	}

	// Proposals.
	propose := func(token, program, household, member string) *httptest.ResponseRecorder {
		body := map[string]any{"program_code": program, "household_id": household, "starts_on": day(0), "evidence": "Sổ hộ nghèo"}
		if member != "" {
			body["member_id"] = member
		}
		return apptest.Send(t, h, "POST", "/api/v1/enrollments", token, body)
	}
	if w := propose(worker, "bhyt_poor", hh[0].ID, ""); w.Code != 422 || !strings.Contains(w.Body.String(), "member_id") {
		t.Fatalf("a member program without a member: %d %s", w.Code, w.Body.String())
	}
	if w := propose(worker, "bhyt_near_poor", hh[0].ID, head); w.Code != 422 || !strings.Contains(w.Body.String(), "not_eligible") {
		t.Fatalf("an ineligible proposal: %d %s", w.Code, w.Body.String())
	}
	card := apptest.Decode[enrollmentOut](t, propose(worker, "bhyt_poor", hh[0].ID, head), 201)
	if card.State != "proposed" || card.Benefit["state_share_pct"] != float64(100) || card.Reason == "" {
		t.Fatalf("proposal: %+v", card)
	}
	if w := propose(worker, "bhyt_poor", hh[0].ID, head); w.Code != 409 {
		t.Fatalf("a second live enrollment: %d", w.Code)
	}
	// A tuition exemption for the school year before the change, by its rule.
	tuition := apptest.Decode[enrollmentOut](t, apptest.Send(t, h, "POST", "/api/v1/enrollments", worker, map[string]any{
		"program_code": "tuition_exemption", "household_id": hh[0].ID, "member_id": child, "starts_on": "2025-01-06",
		"evidence": "Sổ hộ nghèo"}), 201)
	aid := apptest.Decode[enrollmentOut](t, propose(worker, "legal_aid", hh[0].ID, ""), 201)
	house := apptest.Decode[enrollmentOut](t, propose(dual, "housing_new", hh[0].ID, ""), 201)
	if house.Amount != 40_000_000 {
		t.Fatalf("housing amount: %+v", house)
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/enrollments/"+house.ID+"/approve", dual, map[string]any{}); w.Code != 403 || !strings.Contains(w.Body.String(), "own_submission") {
		t.Fatalf("self-approval: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/enrollments/"+card.ID+"/approve", worker, nil); w.Code != 403 {
		t.Fatalf("a worker approved: %d", w.Code)
	}

	// Budgets: 50 million for new houses in the district this year.
	year := fmt.Sprint(today.Year())
	if w := apptest.Send(t, h, "PUT", "/api/v1/programs/housing_new/budgets/914/"+year, worker, map[string]any{"amount": 50_000_000}); w.Code != 403 {
		t.Fatalf("a worker set a budget: %d", w.Code)
	}
	w := apptest.Send(t, h, "PUT", "/api/v1/programs/housing_new/budgets/914/"+year, manager, map[string]any{"amount": 60_000_000})
	if w.Code != 200 || w.Header().Get("ETag") != `"1"` {
		t.Fatalf("set a budget: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.Send(t, h, "PUT", "/api/v1/programs/housing_new/budgets/914/"+year, manager, map[string]any{"amount": 50_000_000}); w.Code != 428 {
		t.Fatalf("change a budget without If-Match: %d", w.Code)
	}
	apptest.Decode[map[string]any](t, apptest.SendWith(t, h, "PUT", "/api/v1/programs/housing_new/budgets/914/"+year, manager, map[string]any{"amount": 50_000_000},
		map[string]string{"If-Match": `"1"`}), 200)
	for _, id := range []string{card.ID, tuition.ID, aid.ID, house.ID} {
		if e := apptest.Decode[enrollmentOut](t, apptest.Send(t, h, "POST", "/api/v1/enrollments/"+id+"/approve", approver, nil), 200); e.State != "approved" {
			t.Fatalf("approve %s: %+v", id, e)
		}
	}
	second := apptest.Decode[enrollmentOut](t, propose(worker, "housing_new", hh[1].ID, ""), 201)
	w = apptest.Send(t, h, "POST", "/api/v1/enrollments/"+second.ID+"/approve", approver, nil)
	if w.Code != 409 || !strings.Contains(w.Body.String(), "budget_exceeded") || !strings.Contains(w.Body.String(), "10,000,000 VND left") {
		t.Fatalf("over budget: %d %s", w.Code, w.Body.String())
	}
	budgets := apptest.Decode[struct {
		Items []struct {
			Committed int64 `json:"committed"`
			Remaining int64 `json:"remaining"`
		} `json:"items"`
	}](t, apptest.Send(t, h, "GET", "/api/v1/programs/housing_new/budgets?year="+year, auditor, nil), 200)
	if len(budgets.Items) != 1 || budgets.Items[0].Committed != 40_000_000 || budgets.Items[0].Remaining != 10_000_000 {
		t.Fatalf("budgets: %+v", budgets)
	}
	if e := apptest.Decode[enrollmentOut](t, apptest.Send(t, h, "POST", "/api/v1/enrollments/"+second.ID+"/return", approver,
		map[string]any{"reason": "Hết ngân sách năm nay; đề xuất lại sang năm"}), 200); e.State != "returned" {
		t.Fatalf("return: %+v", e)
	}
	apptest.Decode[enrollmentOut](t, apptest.Send(t, h, "POST", "/api/v1/enrollments/"+second.ID+"/resubmit", worker, map[string]any{"evidence": "Biên bản khảo sát nhà"}), 200)
	if e := apptest.Decode[enrollmentOut](t, apptest.Send(t, h, "POST", "/api/v1/enrollments/"+second.ID+"/reject", approver,
		map[string]any{"reason": "Nhà còn kiên cố"}), 200); e.State != "rejected" {
		t.Fatalf("reject: %+v", e)
	}

	// Last school year's study-cost support ran its term: it does not block this year's.
	last := apptest.Send(t, h, "POST", "/api/v1/enrollments", worker, map[string]any{"program_code": "study_cost", "household_id": hh[0].ID,
		"member_id": child, "starts_on": day(-400), "ends_on": day(-100)})
	lastYear := apptest.Decode[enrollmentOut](t, last, 201)
	apptest.Decode[enrollmentOut](t, apptest.Send(t, h, "POST", "/api/v1/enrollments/"+lastYear.ID+"/approve", approver, nil), 200)
	apptest.Decode[enrollmentOut](t, propose(worker, "study_cost", hh[0].ID, child), 201)
	if e := apptest.Decode[enrollmentOut](t, apptest.Send(t, h, "GET", "/api/v1/enrollments/"+lastYear.ID, worker, nil), 200); e.State != "ended" {
		t.Fatalf("last year's enrollment: %+v", e)
	}

	// Delivery records, typed by kind.
	if w := apptest.Send(t, h, "POST", "/api/v1/enrollments/"+card.ID+"/deliveries", worker, map[string]any{"record": map[string]any{
		"card_number": "HN4919120000001", "valid_from": day(0), "valid_to": day(20), "issued_at": "BHXH huyện Giang Thành", "roof": 1}}); w.Code != 422 {
		t.Fatalf("a card record with a housing field: %d %s", w.Code, w.Body.String())
	}
	apptest.Decode[map[string]any](t, apptest.Send(t, h, "POST", "/api/v1/enrollments/"+card.ID+"/deliveries", worker, map[string]any{"record": map[string]any{
		"card_number": "HN4919120000001", "valid_from": day(0), "valid_to": day(20), "issued_at": "BHXH huyện Giang Thành", "premium": 1_105_650}}), 201)
	apptest.Decode[map[string]any](t, apptest.Send(t, h, "POST", "/api/v1/enrollments/"+house.ID+"/deliveries", worker, map[string]any{"record": map[string]any{
		"milestone": "started", "date": day(0), "budget": 60_000_000,
		"contributions": map[string]int64{"state": 40_000_000, "fatherland_front": 10_000_000, "household": 10_000_000}}}), 201)
	if w := apptest.Send(t, h, "POST", "/api/v1/enrollments/"+house.ID+"/deliveries", worker, map[string]any{"record": map[string]any{
		"milestone": "roof", "date": day(0), "final_cost": 61_000_000}}); w.Code != 422 {
		t.Fatalf("a final cost before completion: %d", w.Code)
	}
	expiring := func(days int) int {
		p := apptest.Decode[struct{ Items []any }](t, apptest.Send(t, h, "GET", fmt.Sprintf("/api/v1/deliveries/expiring-cards?within_days=%d", days), worker, nil), 200)
		return len(p.Items)
	}
	if expiring(30) != 1 || expiring(10) != 0 {
		t.Fatalf("expiring cards: %d within 30 days, %d within 10", expiring(30), expiring(10))
	}

	// A proposal the dual-role official made, returned and resubmitted by
	// someone else, is still theirs: they may not approve it.
	power := apptest.Decode[enrollmentOut](t, propose(dual, "electricity", hh[1].ID, ""), 201)
	apptest.Decode[enrollmentOut](t, apptest.Send(t, h, "POST", "/api/v1/enrollments/"+power.ID+"/return", approver, map[string]any{"reason": "Thiếu hóa đơn điện"}), 200)
	apptest.Decode[enrollmentOut](t, apptest.Send(t, h, "POST", "/api/v1/enrollments/"+power.ID+"/resubmit", worker, map[string]any{"evidence": "Hóa đơn tháng 10"}), 200)
	if w := apptest.Send(t, h, "POST", "/api/v1/enrollments/"+power.ID+"/approve", dual, nil); w.Code != 403 {
		t.Fatalf("self-approval after another's resubmission: %d %s", w.Code, w.Body.String())
	}
	spouseCard := apptest.Decode[enrollmentOut](t, propose(worker, "bhyt_poor", hh[0].ID, hh[0].Members[1].ID), 201)

	// A regular review finds the household near-poor: the enrollments that
	// needed it poor are flagged from the decision's date, the others not.
	review := apptest.Decode[reviewOut](t, apptest.Send(t, h, "POST", "/api/v1/reviews", worker, map[string]any{"kind": "regular", "commune_code": "30791",
		"household_id": hh[0].ID}), 201)
	apptest.Decode[assessmentOut](t, apptest.Send(t, h, "POST", "/api/v1/households/"+hh[0].ID+"/assessments", worker, map[string]any{
		"review_id": review.ID, "income_per_person": 1_400_000, "answers": apptest.WorkerAnswers()}), 201)
	apptest.Decode[reviewOut](t, apptest.Send(t, h, "POST", "/api/v1/reviews/"+review.ID+"/submit", worker, nil), 200)
	apptest.Decode[reviewOut](t, apptest.Send(t, h, "POST", "/api/v1/reviews/"+review.ID+"/recognize", approver, map[string]any{
		"decision_number": "77/QĐ-UBND", "decision_date": day(0), "signer": "Chủ tịch UBND xã"}), 200)
	flagged := apptest.Decode[struct{ Items []enrollmentOut }](t, apptest.Send(t, h, "GET", "/api/v1/enrollments?flagged=true", approver, nil), 200)
	ids := map[string]enrollmentOut{}
	for _, e := range flagged.Items {
		ids[e.ID] = e
	}
	if len(ids) != 3 || ids[card.ID].FlaggedOn != day(0) || ids[tuition.ID].ID == "" || ids[aid.ID].ID == "" || !strings.Contains(ids[card.ID].FlagReason, "hộ nghèo") {
		t.Fatalf("flagged: %+v", flagged.Items)
	}
	if e := apptest.Decode[enrollmentOut](t, apptest.Send(t, h, "GET", "/api/v1/enrollments/"+house.ID, worker, nil), 200); e.FlaggedOn != "" || e.State != "approved" {
		t.Fatalf("the house still qualifies (near-poor): %+v", e)
	}
	// A proposal made while the household was poor is no longer approvable.
	if w := apptest.Send(t, h, "POST", "/api/v1/enrollments/"+spouseCard.ID+"/approve", approver, nil); w.Code != 409 ||
		!strings.Contains(w.Body.String(), "not_eligible") {
		t.Fatalf("approving a proposal the facts no longer support: %d %s", w.Code, w.Body.String())
	}
	// Flagging ends nothing; ending is a decision.
	if e := apptest.Decode[enrollmentOut](t, apptest.Send(t, h, "GET", "/api/v1/enrollments/"+card.ID, worker, nil), 200); e.State != "approved" {
		t.Fatalf("a flag ended the card: %+v", e)
	}
	ended := apptest.Decode[enrollmentOut](t, apptest.Send(t, h, "POST", "/api/v1/enrollments/"+card.ID+"/end", approver, map[string]any{
		"date": day(0), "reason": "Hộ thoát nghèo, chuyển sang hỗ trợ BHYT cận nghèo"}), 200)
	if ended.State != "ended" || ended.FlaggedOn != "" {
		t.Fatalf("end: %+v", ended)
	}

	for action, n := range map[string]int{"enrollment.propose": 9, "enrollment.approve": 5, "enrollment.expire": 1, "enrollment.return": 2, "enrollment.resubmit": 2,
		"enrollment.reject": 1, "enrollment.flag": 3, "enrollment.end": 1, "delivery.record": 2, "budget.set": 2} {
		if got := apptest.CountEvents(t, a, action); got != n {
			t.Errorf("%d %s events, want %d", got, action, n)
		}
	}
}

// Local programs: a province's manager creates and edits its own; national
// programs change only with the law; a bad rule is refused with the reason.
func TestLocalPrograms(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "kg-manager", "program_manager", "91", false)
	apptest.CreateUser(t, a, "hcm-manager", "program_manager", "79", false)
	manager := apptest.Login(t, h, "kg-manager", apptest.Password).AccessToken
	other := apptest.Login(t, h, "hcm-manager", apptest.Password).AccessToken
	program := map[string]any{"code": "kg_tet_gift", "name_vi": "Quà Tết tỉnh Kiên Giang", "name_en": "Kiên Giang Tết gift",
		"legal_basis": "Kế hoạch của UBND tỉnh (thử)", "kind": "gift", "level": "household", "area_code": "91",
		"rule": []map[string]string{{"when": `household.classification == "poor" || household.ethnic_minority`,
			"because_vi": "hộ nghèo hoặc dân tộc thiểu số", "because_en": "poor or ethnic minority"}},
		"amount": "500000", "funding": []string{"province"}}
	bad := map[string]any{}
	for k, v := range program {
		bad[k] = v
	}
	bad["rule"] = []map[string]string{{"when": `household.income < 1000000`, "because_vi": "x", "because_en": "x"}}
	if w := apptest.Send(t, h, "POST", "/api/v1/programs", manager, bad); w.Code != 422 || !strings.Contains(w.Body.String(), `"field":"rule"`) {
		t.Fatalf("a bad rule: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/programs", other, program); w.Code != 403 {
		t.Fatalf("another province's manager: %d", w.Code)
	}
	w := apptest.Send(t, h, "POST", "/api/v1/programs", manager, program)
	if w.Code != 201 || w.Header().Get("ETag") != `"1"` {
		t.Fatalf("create: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.Send(t, h, "PATCH", "/api/v1/programs/kg_tet_gift", manager, map[string]any{"amount": "700000"}); w.Code != 428 {
		t.Fatalf("edit without If-Match: %d", w.Code)
	}
	w = apptest.SendWith(t, h, "PATCH", "/api/v1/programs/kg_tet_gift", manager, map[string]any{"amount": "700000"}, map[string]string{"If-Match": `"1"`})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"amount":"700000"`) || w.Header().Get("ETag") != `"2"` {
		t.Fatalf("edit: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.SendWith(t, h, "PATCH", "/api/v1/programs/bhyt_poor", manager, map[string]any{"status": "closed"}, map[string]string{"If-Match": `"1"`}); w.Code != 403 ||
		!strings.Contains(w.Body.String(), "national_program") {
		t.Fatalf("edit a national program: %d %s", w.Code, w.Body.String())
	}
	w = apptest.Send(t, h, "POST", "/api/v1/programs/kg_tet_gift/campaigns", manager, map[string]any{"name": "Tết Bính Ngọ 2026", "area_code": "91",
		"starts_on": "2026-01-20", "ends_on": "2026-02-15", "package_amount": 700_000})
	if w.Code != 201 {
		t.Fatalf("campaign: %d %s", w.Code, w.Body.String())
	}
	var campaign struct{ ID string }
	if err := json.Unmarshal(w.Body.Bytes(), &campaign); err != nil {
		t.Fatal(err)
	}
	cp := "/api/v1/programs/kg_tet_gift/campaigns/" + campaign.ID
	if w := apptest.SendWith(t, h, "PATCH", cp, other, map[string]any{"package_amount": 750_000}, map[string]string{"If-Match": `"1"`}); w.Code != 404 {
		t.Fatalf("another province edited the campaign: %d", w.Code)
	}
	w = apptest.SendWith(t, h, "PATCH", cp, manager, map[string]any{"package_amount": 750_000}, map[string]string{"If-Match": `"1"`})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"package_amount":750000`) || w.Header().Get("ETag") != `"2"` {
		t.Fatalf("edit the campaign: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.SendWith(t, h, "PATCH", cp, manager, map[string]any{"ends_on": "2025-01-01"}, map[string]string{"If-Match": `"2"`}); w.Code != 422 {
		t.Fatalf("a campaign ending before it starts: %d", w.Code)
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/programs/housing_new/campaigns", manager, map[string]any{"name": "x", "area_code": "91",
		"starts_on": "2026-01-20", "ends_on": "2026-02-15", "package_amount": 700_000}); w.Code != 409 {
		t.Fatalf("a campaign of a housing program: %d", w.Code)
	}
	if n, m := apptest.CountEvents(t, a, "program.update"), apptest.CountEvents(t, a, "campaign.update"); n != 1 || m != 1 {
		t.Fatalf("%d program.update and %d campaign.update events", n, m)
	}
}

// Changes at a stale version are refused before anything is applied (412,
// the enrollment's state told), the checks that hide or forbid an object come
// first, and an unknown area is the field's error.
func TestStaleVersionsAndAreas(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	for _, u := range app.DemoUsers {
		apptest.CreateUser(t, a, u.Username, u.Role, u.Area, false)
	}
	worker := apptest.Login(t, h, "demo-worker", apptest.Password).AccessToken
	approver := apptest.Login(t, h, "demo-approver", apptest.Password).AccessToken
	manager := apptest.Login(t, h, "demo-manager", apptest.Password).AccessToken
	today := vn.Today(time.Now()).Format(time.DateOnly)
	ifMatch := func(v string) map[string]string { return map[string]string{"If-Match": `"` + v + `"`} }

	hh := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("PV-1", "30791", "")))
	apptest.Exec(t, a.DB(), `UPDATE households SET classification = 'poor' WHERE id = ?`, hh.ID)
	e := apptest.Decode[enrollmentOut](t, apptest.Send(t, h, "POST", "/api/v1/enrollments", worker, map[string]any{
		"program_code": "legal_aid", "household_id": hh.ID, "starts_on": today}), 201)
	w := apptest.SendWith(t, h, "POST", "/api/v1/enrollments/"+e.ID+"/approve", approver, nil, ifMatch("7"))
	if w.Code != 412 || apptest.ProblemCode(t, w) != "precondition_failed" || !strings.Contains(w.Body.String(), "proposed") {
		t.Fatalf("approve at a stale version: %d %s", w.Code, w.Body.String())
	}
	if n := apptest.CountEvents(t, a, "enrollment.approve"); n != 0 {
		t.Fatalf("a refused approval left %d events", n)
	}
	if s := apptest.Scalar[string](t, a.DB(), `SELECT state FROM enrollments WHERE id = ?`, e.ID); s != "proposed" {
		t.Fatalf("a refused approval left the enrollment %s", s)
	}
	got := apptest.Decode[enrollmentOut](t, apptest.SendWith(t, h, "POST", "/api/v1/enrollments/"+e.ID+"/approve", approver, nil,
		ifMatch(fmt.Sprint(e.Version))), 200)
	if got.State != "approved" || got.Version != e.Version+1 {
		t.Fatalf("approve at the version read: %+v", got)
	}

	// A national program is refused as such whatever version is sent.
	if w := apptest.SendWith(t, h, "PATCH", "/api/v1/programs/bhyt_poor", manager, map[string]any{"status": "closed"}, ifMatch("99")); w.Code != 403 ||
		apptest.ProblemCode(t, w) != "national_program" {
		t.Fatalf("edit a national program at a stale version: %d %s", w.Code, w.Body.String())
	}
	program := map[string]any{"code": "kg_stale", "name_vi": "Thử", "name_en": "Test", "legal_basis": "KH", "kind": "gift",
		"level": "household", "area_code": "99999", "rule": []map[string]string{{"when": `household.classification == "poor"`,
			"because_vi": "hộ nghèo", "because_en": "poor"}}, "amount": "500000", "funding": []string{"province", "fatherland_front"}}
	if w := apptest.Send(t, h, "POST", "/api/v1/programs", manager, program); w.Code != 422 || !strings.Contains(w.Body.String(), `"field":"area_code"`) {
		t.Fatalf("a program of an unknown area: %d %s", w.Code, w.Body.String())
	}
	program["area_code"] = "91"
	apptest.Decode[map[string]any](t, apptest.Send(t, h, "POST", "/api/v1/programs", manager, program), 201)
	if w := apptest.SendWith(t, h, "PATCH", "/api/v1/programs/kg_stale", manager, map[string]any{"amount": "1"}, ifMatch("2")); w.Code != 412 {
		t.Fatalf("edit a program at a stale version: %d %s", w.Code, w.Body.String())
	}
	p := apptest.Decode[struct {
		Amount  string   `json:"amount"`
		Funding []string `json:"funding"`
		Version int      `json:"version"`
	}](t, apptest.SendWith(t, h, "PATCH", "/api/v1/programs/kg_stale", manager, map[string]any{"name_en": "Test 2"}, ifMatch("1")), 200)
	if p.Amount != "500000" || p.Version != 2 || strings.Join(p.Funding, " ") != "province fatherland_front" {
		t.Fatalf("edit: %+v", p)
	}
	c := apptest.Decode[struct {
		ID string `json:"id"`
	}](t, apptest.Send(t, h, "POST", "/api/v1/programs/kg_stale/campaigns", manager, map[string]any{"name": "Tết", "area_code": "91",
		"starts_on": "2026-01-20", "ends_on": "2026-02-15", "package_amount": 700_000}), 201)
	if w := apptest.SendWith(t, h, "PATCH", "/api/v1/programs/kg_stale/campaigns/"+c.ID, manager, map[string]any{"name": "x"}, ifMatch("3")); w.Code != 412 {
		t.Fatalf("edit a campaign at a stale version: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/programs/bhyt_poor/gaps?area=99999", approver, nil); w.Code != 422 ||
		!strings.Contains(w.Body.String(), `"field":"area"`) {
		t.Fatalf("gaps of an unknown area: %d %s", w.Code, w.Body.String())
	}
}

// Rules in time: a program's rule on a reference date is the rule of the
// period in force then. The poor-household tuition exemption reaches a
// primary pupil for a school year before 2025-2026 and not after (public
// schooling free for all), and a university student in both.
func TestRuleInTime(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	worker := apptest.Token(t, a, "rit-worker", "commune_worker", "30791")
	body := apptest.HouseholdBody("RIT-1", "30791", "")
	apptest.Member(body, 3)["school_level"] = "primary"
	apptest.Member(body, 2)["school_level"] = "university"
	hh := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, body))
	apptest.Exec(t, a.DB(), `UPDATE households SET classification = 'poor' WHERE id = ?`, hh.ID)
	pupil, student := hh.Members[3].ID, hh.Members[2].ID
	propose := func(member, startsOn string) int {
		return apptest.Send(t, h, "POST", "/api/v1/enrollments", worker, map[string]any{"program_code": "tuition_exemption",
			"household_id": hh.ID, "member_id": member, "starts_on": startsOn, "evidence": "Sổ hộ nghèo"}).Code
	}
	if c := propose(pupil, "2026-01-05"); c != 422 {
		t.Fatalf("a primary pupil in 2026: %d", c)
	}
	if c := propose(pupil, "2025-01-06"); c != 201 {
		t.Fatalf("a primary pupil in the 2024-2025 school year: %d", c)
	}
	if c := propose(student, "2026-01-05"); c != 201 {
		t.Fatalf("a university student in 2026: %d", c)
	}
}
