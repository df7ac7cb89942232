package report_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/vn"
	"github.com/ansinh/ansinh/internal/report"
)

// The complaints report on a hand-built dataset: in Vĩnh Phú, one complaint
// settled (rejected) 4 days after its acceptance, one left unaccepted past
// its limit, one refused; by child area and subject, with totals, and as
// CSV.
func TestComplaintsReport(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	worker := apptest.Token(t, a, "cr-worker", "commune_worker", "30791")
	approver := apptest.Token(t, a, "cr-approver", "district_approver", "914")
	hh := apptest.Decode[struct {
		ID string `json:"id"`
	}](t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("CR-1", "30791", "")), 201)
	today := vn.Today(time.Now())
	day := func(d int) string { return today.AddDate(0, 0, d).Format(time.DateOnly) }
	receive := func(kind string, ago int) string {
		c := apptest.Decode[struct {
			ID string `json:"id"`
		}](t, apptest.Send(t, h, "POST", "/api/v1/complaints", worker, map[string]any{"household_id": hh.ID, "complainant_name": "Lê Thị Mai",
			"channel": "letter", "received_on": day(-ago), "subject_kind": kind, "content": "Đề nghị xem xét lại"}), 201)
		return "/api/v1/complaints/" + c.ID
	}
	settled := receive("classification", 9)
	apptest.Send(t, h, "POST", settled+"/accept", worker, map[string]any{"accepted_on": day(-8)})
	if w := apptest.Send(t, h, "POST", settled+"/decide", worker, map[string]any{"decided_on": day(-4), "outcome": "rejected",
		"reasoning": "Đúng quy trình rà soát"}); w.Code != 200 {
		t.Fatalf("decide: %d %s", w.Code, w.Body)
	}
	receive("classification", 12) // waiting past its 10 days
	// Accepted long ago, past its limit, then appealed (today): closed by
	// the appeal, not open past its limit; the appeal is received today.
	appealed := receive("classification", 60)
	apptest.Send(t, h, "POST", appealed+"/accept", worker, map[string]any{"accepted_on": day(-58)})
	if w := apptest.Send(t, h, "POST", appealed+"/appeal", worker, map[string]any{"content": "Quá hạn chưa giải quyết"}); w.Code != 201 {
		t.Fatalf("appeal: %d %s", w.Code, w.Body)
	}
	refused := receive("enrollment_refusal", 1)
	apptest.Send(t, h, "POST", refused+"/refuse", worker, map[string]any{"reason": "Không thuộc thẩm quyền"})

	type out struct {
		Items  []map[string]any `json:"items"`
		Totals map[string]any   `json:"totals"`
	}
	r := apptest.Decode[out](t, apptest.Send(t, h, "GET", "/api/v1/reports/complaints?area=914&from="+day(-30)+"&to="+day(0), approver, nil), 200)
	if len(r.Items) != 2 {
		t.Fatalf("rows: %+v", r.Items)
	}
	c := r.Items[0]
	if c["area_code"] != "30791" || c["subject_kind"] != "classification" || c["received"] != 3.0 || c["accepted"] != 1.0 ||
		c["settled"] != 1.0 || c["rejected"] != 1.0 || c["average_days_to_settle"] != 4.0 || c["overdue_open"] != 1.0 {
		t.Errorf("classification complaints: %v", c)
	}
	if e := r.Items[1]; e["subject_kind"] != "enrollment_refusal" || e["not_accepted"] != 1.0 || e["average_days_to_settle"] != nil {
		t.Errorf("enrollment refusals: %v", e)
	}
	if r.Totals["received"] != 4.0 || r.Totals["overdue_open"] != 1.0 {
		t.Errorf("totals: %v", r.Totals)
	}
	w := apptest.Send(t, h, "GET", "/api/v1/reports/complaints?area=914&format=csv", approver, nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "Số đơn tiếp nhận") {
		t.Fatalf("csv: %d %s", w.Code, w.Body)
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/reports/complaints?area=31036", worker, nil); w.Code != 404 {
		t.Fatalf("another commune: %d", w.Code)
	}

	// The backlog report: the unaccepted complaint waits in Vĩnh Phú,
	// overdue, and the appeal (its household's commune), not yet due; the
	// appealed first instance is not work any more.
	b := apptest.Decode[out](t, apptest.Send(t, h, "GET", "/api/v1/reports/inbox", approver, nil), 200)
	if len(b.Items) != 1 || b.Items[0]["commune_code"] != "30791" || b.Items[0]["kind"] != "complaint_to_accept" ||
		b.Items[0]["items"] != 2.0 || b.Items[0]["overdue"] != 1.0 || b.Totals["items"] != 2.0 {
		t.Fatalf("the backlog: %+v %v", b.Items, b.Totals)
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/reports/inbox?format=xlsx", approver, nil); w.Code != 200 || w.Header().Get("Content-Type") != report.XLSXType {
		t.Fatalf("the backlog as a workbook: %d %v", w.Code, w.Header())
	}
}
