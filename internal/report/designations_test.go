package report_test

import (
	"strings"
	"testing"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/area"
)

// The designations report counts an area's designated communes and hamlets
// at the start and the end of a period, in the caller's scope.
func TestDesignationsReport(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	list, err := area.ReadDesignations(strings.NewReader(
		"kind,zone,area_edition,area_code,village,valid_from,valid_to,decision_number,decision_date,issuer\n" +
			"coastal_extremely_difficult,,2025-03,31108,,2016-01-01,2025-06-30,1/QĐ,2016-01-01,\n" +
			"coastal_extremely_difficult,,2025-03,31111,,2016-01-01,2020-12-31,1/QĐ,2016-01-01,\n" +
			"extremely_difficult_hamlet,,2025-03,31036,Ấp 3,2016-01-01,,2/QĐ,2016-01-01,\n" +
			"border_commune,,2025-03,30791,,2016-01-01,,3/QĐ,2016-01-01,\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := area.NewStore(a.DB()).LoadDesignations(access.WithActor(t.Context(), access.System("test")), list, true, "test"); err != nil {
		t.Fatal(err)
	}
	type report struct {
		Items []struct {
			Designation string `json:"designation"`
			AtStart     int    `json:"at_start"`
			AtEnd       int    `json:"at_end"`
			Change      int    `json:"change"`
		} `json:"items"`
	}
	get := func(token, q string) map[string][3]int {
		t.Helper()
		r := apptest.Decode[report](t, apptest.Send(t, h, "GET", "/api/v1/reports/designations?"+q, token, nil), 200)
		out := map[string][3]int{}
		for _, i := range r.Items {
			out[i.Designation] = [3]int{i.AtStart, i.AtEnd, i.Change}
		}
		return out
	}
	auditor := apptest.Token(t, a, "des-auditor", "province_auditor", "91")
	got := get(auditor, "area=91&from=2019-12-31&to=2024-12-31")
	if got["coastal_extremely_difficult"] != [3]int{2, 1, -1} || got["extremely_difficult_hamlet"] != [3]int{1, 1, 0} ||
		got["border_commune"] != [3]int{1, 1, 0} || got["poor_district"] != [3]int{} {
		t.Fatalf("province: %v", got)
	}
	// A district approver sees their district only.
	approver := apptest.Token(t, a, "des-approver", "district_approver", "914")
	if got := get(approver, "area=914&from=2019-12-31&to=2024-12-31"); got["border_commune"] != [3]int{1, 1, 0} || got["coastal_extremely_difficult"] != [3]int{} {
		t.Fatalf("district 914: %v", got)
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/reports/designations?area=91&from=2024-12-31&to=2019-12-31", auditor, nil); w.Code != 422 {
		t.Fatalf("a period that ends before it starts: %d", w.Code)
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/reports/designations?area=91&format=csv", auditor, nil); w.Code != 200 ||
		!strings.Contains(w.Body.String(), "coastal_extremely_difficult") {
		t.Fatalf("csv: %d %s", w.Code, w.Body)
	}
}
