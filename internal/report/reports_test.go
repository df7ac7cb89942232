package report_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// idOut is the id of a created object (a review, an assessment, an enrollment).
type idOut struct {
	ID string `json:"id"`
}

type reportOut struct {
	Items  []map[string]any `json:"items"`
	Totals map[string]any   `json:"totals"`
}

// Reports on a hand-built dataset: six households in two communes of two
// districts, two years old; a recognized review makes one poor, one
// near-poor, one average in Vĩnh Phú (Giang Thành); in Đông Hưng A (An Minh)
// one household has been poor all along.
func TestReports(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "rp-worker", "commune_worker", "30791", false)
	apptest.CreateUser(t, a, "rp-worker2", "commune_worker", "31036", false)
	apptest.CreateUser(t, a, "rp-approver", "district_approver", "914", false)
	apptest.CreateUser(t, a, "rp-auditor", "province_auditor", "91", false)
	apptest.CreateUser(t, a, "rp-auditor-hcm", "province_auditor", "79", false)
	apptest.CreateUser(t, a, "rp-manager", "program_manager", "91", false)
	worker := apptest.Login(t, h, "rp-worker", apptest.Password).AccessToken
	worker2 := apptest.Login(t, h, "rp-worker2", apptest.Password).AccessToken
	approver := apptest.Login(t, h, "rp-approver", apptest.Password).AccessToken
	auditor := apptest.Login(t, h, "rp-auditor", apptest.Password).AccessToken
	outsider := apptest.Login(t, h, "rp-auditor-hcm", apptest.Password).AccessToken
	manager := apptest.Login(t, h, "rp-manager", apptest.Password).AccessToken
	today := vn.Today(time.Now())
	day := func(d int) string { return today.AddDate(0, 0, d).Format(time.DateOnly) }

	ids := map[string]string{}
	for _, k := range []string{"A", "B", "C", "D"} {
		ids[k] = apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("RP-"+k, "30791", ""))).ID
	}
	for _, k := range []string{"E", "F"} {
		ids[k] = apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker2, apptest.HouseholdBody("RP-"+k, "31036", ""))).ID
	}
	apptest.Exec(t, a.DB(), `UPDATE households SET established_on = (now() - interval '2 years')::date WHERE code LIKE 'RP-%'`)
	apptest.Exec(t, a.DB(), `UPDATE households SET classification = 'poor' WHERE code = 'RP-E'`)

	// The periodic review of Vĩnh Phú.
	review := apptest.Decode[idOut](t, apptest.Send(t, h, "POST", "/api/v1/reviews", worker, map[string]any{"kind": "periodic", "commune_code": "30791",
		"year": today.Year()}), 201)
	rv := "/api/v1/reviews/" + review.ID
	var votes []map[string]any
	for k, income := range map[string]int{"A": 1_000_000, "B": 1_400_000, "C": 2_000_000, "D": 5_000_000} {
		deprived := []string{}
		if k == "A" {
			deprived = []string{"toilet", "telecom"}
		}
		apptest.Decode[idOut](t, apptest.Send(t, h, "POST", "/api/v1/households/"+ids[k]+"/assessments", worker, map[string]any{
			"review_id": review.ID, "income_per_person": income, "answers": apptest.WorkerAnswers(deprived...)}), 201)
		votes = append(votes, map[string]any{"household_id": ids[k], "agree": 30})
	}
	apptest.Decode[idOut](t, apptest.Send(t, h, "POST", rv+"/record-meeting", worker, map[string]any{"date": day(-10), "chair": "Trưởng ấp",
		"attendees": 40, "votes": votes}), 200)
	apptest.Decode[idOut](t, apptest.Send(t, h, "POST", rv+"/post", worker, map[string]any{"start_date": day(-9), "end_date": day(-2)}), 200)
	apptest.Decode[idOut](t, apptest.Send(t, h, "POST", rv+"/submit", worker, nil), 200)
	apptest.Decode[idOut](t, apptest.Send(t, h, "POST", rv+"/recognize", approver, map[string]any{"decision_number": "9/QĐ-UBND",
		"decision_date": day(-1), "signer": "Chủ tịch UBND xã"}), 200)

	// Poverty by district of the province.
	r := apptest.Decode[reportOut](t, apptest.Send(t, h, "GET", "/api/v1/reports/poverty?area=91", auditor, nil), 200)
	if len(r.Items) != 15 {
		t.Fatalf("%d district rows, want 15", len(r.Items))
	}
	rows := map[string]map[string]any{}
	for _, it := range r.Items {
		rows[it["area_code"].(string)] = it
	}
	check := func(what string, got map[string]any, want map[string]float64) {
		t.Helper()
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s %s = %v, want %v", what, k, got[k], v)
			}
		}
	}
	check("Giang Thành", rows["914"], map[string]float64{"households": 4, "poor": 1, "near_poor": 1, "average": 1, "poor_rate": 25,
		"near_poor_rate": 25, "prev_poor_rate": 0, "change": 25, "newly_poor": 1, "escaped": 0})
	check("An Minh", rows["909"], map[string]float64{"households": 2, "poor": 1, "poor_rate": 50, "prev_poor_rate": 50, "change": 0})
	check("Phú Quốc", rows["911"], map[string]float64{"households": 0, "poor": 0, "poor_rate": 0})
	check("province", r.Totals, map[string]float64{"households": 6, "poor": 2, "poor_rate": 33.33, "prev_poor_rate": 16.67, "change": 16.66,
		"near_poor": 1})
	// A year ago nobody had been recognized yet: only E was poor.
	r = apptest.Decode[reportOut](t, apptest.Send(t, h, "GET", "/api/v1/reports/poverty?area=914&date="+today.AddDate(0, -6, 0).Format(time.DateOnly), auditor, nil), 200)
	check("Giang Thành half a year ago", r.Totals, map[string]float64{"households": 4, "poor": 0, "poor_rate": 0})
	// By village of the commune.
	r = apptest.Decode[reportOut](t, apptest.Send(t, h, "GET", "/api/v1/reports/poverty?area=30791", worker, nil), 200)
	if len(r.Items) != 1 || r.Items[0]["area_name"] != "Ấp Tà Teng" || r.Items[0]["households"] != float64(4) {
		t.Fatalf("villages: %+v", r.Items)
	}
	// Scope: another province's auditor sees nothing of it; a commune worker
	// reporting on the province sees only their commune.
	if w := apptest.Send(t, h, "GET", "/api/v1/reports/poverty?area=91", outsider, nil); w.Code != 404 {
		t.Fatalf("an auditor of another province: %d", w.Code)
	}
	r = apptest.Decode[reportOut](t, apptest.Send(t, h, "GET", "/api/v1/reports/poverty?area=91", worker2, nil), 200)
	check("province as the Đông Hưng A worker", r.Totals, map[string]float64{"households": 2, "poor": 1})

	// CSV: Vietnamese headers, a byte order mark, the totals and the exporter.
	w := apptest.SendWith(t, h, "GET", "/api/v1/reports/poverty?area=91", auditor, nil, map[string]string{"Accept": "text/csv"})
	body := w.Body.String()
	if w.Code != 200 || !strings.HasPrefix(body, "\ufeffMã địa bàn,Tên địa bàn,Tổng số hộ") || !strings.Contains(body, "91,Tổng cộng — Kiên Giang,6,2,33.33") ||
		!strings.Contains(body, "Người xuất: Người dùng rp-auditor (rp-auditor)") {
		t.Fatalf("csv: %d %s", w.Code, body)
	}
	// Excel: numbers are numbers.
	w = apptest.Send(t, h, "GET", "/api/v1/reports/poverty?area=91&format=xlsx", auditor, nil)
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Fatalf("xlsx: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	f, err := excelize.OpenReader(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	all, _ := f.GetRows("Sheet1")
	last := all[len(all)-3] // totals, a blank row, the footer
	if all[2][0] != "Mã địa bàn" || last[1] != "Tổng cộng — Kiên Giang" || last[2] != "6" || !strings.HasPrefix(all[len(all)-1][0], "Người xuất:") {
		t.Fatalf("xlsx rows: %q", all)
	}
	if typ, _ := f.GetCellType("Sheet1", "C4"); typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
		t.Fatalf("households are not numbers: %v", typ)
	}
	if v, _ := f.GetCellValue("Sheet1", "E4", excelize.Options{RawCellValue: true}); v == "" {
		t.Fatal("no rate in the first row")
	}
	if n := apptest.CountEvents(t, a, "export.poverty_report"); n != 2 {
		t.Fatalf("%d exports audited, want 2", n)
	}

	// Official lists, posted by the commune: audited, with the exporter.
	lst := apptest.Decode[reportOut](t, apptest.Send(t, h, "GET", "/api/v1/reports/lists/poor?area=30791", worker, nil), 200)
	if len(lst.Items) != 1 || lst.Items[0]["household_code"] != "RP-A" || lst.Items[0]["head_name"] != "Nguyễn Văn An" {
		t.Fatalf("poor list: %+v", lst.Items)
	}
	// A format the server cannot write is refused before the list is built:
	// its households are not logged as read.
	if w := apptest.Send(t, h, "GET", "/api/v1/reports/lists/poor?area=30791&format=pdf", manager, nil); w.Code != 422 {
		t.Fatalf("a list as pdf: %d", w.Code)
	}
	apptest.Decode[reportOut](t, apptest.Send(t, h, "GET", "/api/v1/reports/lists/poor?area=30791", manager, nil), 200)
	var logged int
	for deadline := time.Now().Add(15 * time.Second); logged == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		logged = apptest.Scalar[int](t, a.DB(), `SELECT coalesce(sum(cardinality(subject_ids)), 0)::int FROM audit_access
			WHERE actor_name = 'rp-manager' AND route = 'GET /api/v1/reports/lists/:kind'`)
	}
	if logged != 1 {
		t.Fatalf("households logged as read by the manager's lists: %d, want 1 (the list served, not the refused one)", logged)
	}
	lst = apptest.Decode[reportOut](t, apptest.Send(t, h, "GET", "/api/v1/reports/lists/newly_near_poor?area=914", approver, nil), 200)
	if len(lst.Items) != 1 || lst.Items[0]["household_code"] != "RP-B" || lst.Items[0]["to"] != "Hộ cận nghèo" {
		t.Fatalf("newly near-poor list: %+v", lst.Items)
	}
	w = apptest.Send(t, h, "GET", "/api/v1/reports/lists/poor?area=91&format=xlsx", auditor, nil)
	f, err = excelize.OpenReader(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	all, _ = f.GetRows("Sheet1")
	if !strings.HasPrefix(all[0][0], "Danh sách hộ nghèo — Kiên Giang") || len(all) != 3+2+2 || !strings.HasPrefix(all[len(all)-1][0], "Người xuất:") {
		t.Fatalf("poor list file: %q", all)
	}
	filter := apptest.Scalar[string](t, a.DB(), `SELECT doc::json->'after'->>'filter' FROM audit_events WHERE action = 'export.list'`)
	if !strings.Contains(filter, `"kind":"poor"`) || !strings.Contains(filter, `"area":"91"`) {
		t.Fatalf("export audit: %q", filter)
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/reports/lists/enrollees?area=91", auditor, nil); w.Code != 422 {
		t.Fatalf("enrollees without a program: %d", w.Code)
	}

	// Support: a house for A, with its milestones, against a commune budget.
	year := today.Format("2006")
	apptest.Decode[map[string]any](t, apptest.Send(t, h, "PUT", "/api/v1/programs/housing_new/budgets/30791/"+year, manager, map[string]any{"amount": 100_000_000}), 200)
	e := apptest.Decode[idOut](t, apptest.Send(t, h, "POST", "/api/v1/enrollments", worker, map[string]any{"program_code": "housing_new",
		"household_id": ids["A"], "starts_on": day(0)}), 201)
	apptest.Decode[idOut](t, apptest.Send(t, h, "POST", "/api/v1/enrollments/"+e.ID+"/approve", approver, nil), 200)
	for _, rec := range []map[string]any{
		{"milestone": "started", "date": day(0), "budget": 50_000_000, "contributions": map[string]int64{"state": 40_000_000, "household": 10_000_000}},
		{"milestone": "handed_over", "date": day(0), "final_cost": 49_000_000}} {
		apptest.Decode[map[string]any](t, apptest.Send(t, h, "POST", "/api/v1/enrollments/"+e.ID+"/deliveries", worker, map[string]any{"record": rec}), 201)
	}
	s := apptest.Decode[reportOut](t, apptest.Send(t, h, "GET", "/api/v1/reports/support?area=914&from="+year+"-01-01&to="+day(0), manager, nil), 200)
	if len(s.Items) != 1 {
		t.Fatalf("support rows: %+v", s.Items)
	}
	check("housing in Vĩnh Phú", s.Items[0], map[string]float64{"households": 1, "people": 4, "delivered": 50_000_000,
		"allocated": 100_000_000, "committed": 40_000_000, "houses_started": 1, "houses_completed": 1})
	// The totals count each household and person once, across programs; an
	// area without support has 0, never null (the schema's integers).
	check("support totals", s.Totals, map[string]float64{"households": 1, "people": 4, "delivered": 50_000_000})
	s = apptest.Decode[reportOut](t, apptest.Send(t, h, "GET", "/api/v1/reports/support?area=31036&from="+year+"-01-01&to="+day(0), manager, nil), 200)
	check("support totals of Đông Hưng A", s.Totals, map[string]float64{"households": 0, "people": 0, "delivered": 0})
	// A second program for A: two rows of one household each, one household in all.
	legal := apptest.Decode[idOut](t, apptest.Send(t, h, "POST", "/api/v1/enrollments", worker, map[string]any{"program_code": "legal_aid",
		"household_id": ids["A"], "starts_on": day(0)}), 201)
	apptest.Decode[idOut](t, apptest.Send(t, h, "POST", "/api/v1/enrollments/"+legal.ID+"/approve", approver, nil), 200)
	s = apptest.Decode[reportOut](t, apptest.Send(t, h, "GET", "/api/v1/reports/support?area=914&from="+year+"-01-01&to="+day(0), manager, nil), 200)
	if len(s.Items) != 2 {
		t.Fatalf("support rows with two programs: %+v", s.Items)
	}
	check("support totals with two programs", s.Totals, map[string]float64{"households": 1, "people": 4})

	// Targets against actuals.
	if w := apptest.Send(t, h, "POST", "/api/v1/reports/targets", worker, map[string]any{"area_code": "914", "metric": "poverty_rate", "year": today.Year(), "value": 20}); w.Code != 403 {
		t.Fatalf("a worker set a target: %d", w.Code)
	}
	// The district's approver sees the province's figures but sets targets only for the district.
	if w := apptest.Send(t, h, "POST", "/api/v1/reports/targets", approver, map[string]any{"area_code": "91", "metric": "poverty_rate",
		"year": today.Year(), "value": 5}); w.Code != 403 || apptest.ProblemCode(t, w) != "area_outside_scope" {
		t.Fatalf("a district approver set the province's target: %d %s", w.Code, w.Body.String())
	}
	apptest.Decode[map[string]any](t, apptest.Send(t, h, "POST", "/api/v1/reports/targets", approver, map[string]any{"area_code": "914", "metric": "poverty_rate",
		"year": today.Year(), "value": 20, "description": "Tỷ lệ hộ nghèo dưới 20%"}), 200)
	apptest.Decode[map[string]any](t, apptest.Send(t, h, "POST", "/api/v1/reports/targets", approver, map[string]any{"area_code": "914",
		"metric": "poverty_rate_reduction", "year": today.Year(), "value": 0.2}), 200)
	tg := apptest.Decode[reportOut](t, apptest.Send(t, h, "GET", "/api/v1/reports/targets?area=914", auditor, nil), 200)
	if len(tg.Items) != 2 {
		t.Fatalf("targets: %+v", tg.Items)
	}
	for _, it := range tg.Items {
		// 25% poor against "under 20%": not met; the rate rose 25 points: no reduction.
		if it["actual"] == nil || it["met"] != "Không" {
			t.Errorf("target %v: %+v", it["metric"], it)
		}
	}
}
