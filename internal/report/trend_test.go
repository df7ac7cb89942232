package report_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/xuri/excelize/v2"

	"github.com/ansinh/ansinh/internal/apptest"
)

type trendOut struct {
	Years []struct {
		Year       int              `json:"year"`
		Standard   string           `json:"standard"`
		Comparable bool             `json:"comparable"`
		Households int64            `json:"households"`
		Poor       int64            `json:"poor"`
		PoorRate   float64          `json:"poor_rate"`
		Change     *float64         `json:"change"`
		NewlyPoor  int64            `json:"newly_poor"`
		Escaped    int64            `json:"escaped"`
		Children   []map[string]any `json:"children"`
	} `json:"years"`
	Periods []struct {
		AreaCode string   `json:"area_code"`
		Standard string   `json:"standard"`
		From     int      `json:"from"`
		To       int      `json:"to"`
		First    float64  `json:"first_rate"`
		Last     float64  `json:"last_rate"`
		Change   float64  `json:"change"`
		Average  *float64 `json:"average_yearly_change"`
	} `json:"periods"`
	Targets []struct {
		Year   int      `json:"year"`
		Metric string   `json:"metric"`
		Actual *float64 `json:"actual"`
		Met    *bool    `json:"met"`
	} `json:"targets"`
}

// The trend on a hand-built dataset: twenty households in two communes of
// district 914 from 2019, five more from 2024; the lists of 2019-2021 under
// the 2016-2020 standard, a re-baseline in 2022 under the 2022-2025 one.
// Every figure is exact; the standard's change breaks the series (no change
// across it, a period each side); targets are measured; the XLSX has its
// line chart and the poverty report's its bar chart; a worker sees only
// their commune.
func TestTrend(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	db := a.DB()
	ids := map[string]string{}
	add := func(code, commune, established string) {
		id := uuid.Must(uuid.NewV7()).String()
		ids[code] = id
		apptest.Exec(t, db, `INSERT INTO households (id, code, commune_edition, commune_code, area_path, village, area_type, established_on)
			VALUES (?, ?, '2025-03', ?, CAST(? AS ltree), 'Ấp 1', 'rural', ?)`, id, code, commune, "91.914."+commune, established)
	}
	for i := 1; i <= 10; i++ {
		add(fmt.Sprintf("H%d", i), "30791", "2019-01-01")
		add(fmt.Sprintf("Q%d", i), "30793", "2019-01-01")
	}
	for i := 1; i <= 5; i++ {
		add(fmt.Sprintf("R%d", i), "30793", "2024-03-01")
	}
	change := func(code, std, from, to, on, lists string) {
		path := "91.914.30791"
		if code[0] != 'H' {
			path = "91.914.30793"
		}
		apptest.Exec(t, db, `INSERT INTO classification_changes (id, household_id, area_path, standard_code, from_class, to_class, effective_date,
			decision_number, lists, source, import_source, list_year) VALUES (?, ?, CAST(? AS ltree), ?, ?, ?, ?, 'QĐ', CAST(? AS text[]), 'history',
			'test', ?)`, uuid.Must(uuid.NewV7()), ids[code], path, std, from, to, on, "{"+lists+"}", on[:4])
	}
	for _, c := range []string{"H1", "H2", "H3", "H4", "Q1", "Q2"} {
		change(c, "QD59-2015", "none", "poor", "2019-12-10", "newly_poor")
	}
	change("H1", "QD59-2015", "poor", "average", "2020-12-10", "escaped_poverty")
	change("Q1", "QD59-2015", "poor", "average", "2020-12-10", "escaped_poverty")
	change("Q2", "QD59-2015", "poor", "average", "2021-12-10", "escaped_poverty")
	change("H1", "ND07-2021", "average", "poor", "2022-12-10", "newly_poor")
	change("Q1", "ND07-2021", "average", "poor", "2022-12-10", "newly_poor")
	change("H4", "ND07-2021", "poor", "average", "2023-12-10", "escaped_poverty")
	change("R1", "ND07-2021", "none", "near_poor", "2024-12-10", "newly_near_poor")
	apptest.Exec(t, db, `INSERT INTO report_targets (id, area_edition, area_code, area_path, metric, year, value) VALUES
		(?, '2025-03', '914', '91.914', 'poverty_rate', 2023, 22), (?, '2025-03', '914', '91.914', 'poverty_rate_reduction', 2022, 1)`,
		uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()))

	official := apptest.Token(t, a, "tr-province", "province_auditor", "91")
	w := apptest.Send(t, h, "GET", "/api/v1/reports/trend?area=914&from=2019&to=2024", official, nil)
	tr := apptest.Decode[trendOut](t, w, 200)
	type row struct {
		year               int
		standard           string
		comparable         bool
		households, poor   int64
		rate               float64
		change             string
		newlyPoor, escaped int64
	}
	want := []row{
		{2019, "QD59-2015", true, 20, 6, 30, "-", 6, 0}, // 2018 had no households: no change
		{2020, "QD59-2015", true, 20, 4, 20, "-10.00", 0, 2},
		{2021, "QD59-2015", true, 20, 3, 15, "-5.00", 0, 1},
		{2022, "ND07-2021", false, 20, 5, 25, "-", 2, 0}, // the re-baseline: not comparable
		{2023, "ND07-2021", true, 20, 4, 20, "-5.00", 0, 1},
		{2024, "ND07-2021", true, 25, 4, 16, "-4.00", 0, 0},
	}
	if len(tr.Years) != len(want) {
		t.Fatalf("years: %s", w.Body)
	}
	for i, y := range tr.Years {
		ch := "-"
		if y.Change != nil {
			ch = fmt.Sprintf("%.2f", *y.Change)
		}
		got := row{y.Year, y.Standard, y.Comparable, y.Households, y.Poor, y.PoorRate, ch, y.NewlyPoor, y.Escaped}
		if got != want[i] {
			t.Errorf("year %d: got %+v, want %+v", want[i].year, got, want[i])
		}
	}
	// Vĩnh Điều (30793) in 2024: one poor of fifteen, down from one of ten.
	if c := tr.Years[5].Children[1]; c["area_code"] != "30793" || c["households"] != float64(15) || c["poor_rate"] != 6.67 || c["change"] != -3.33 {
		t.Errorf("30793 in 2024: %v", c)
	}
	if p := tr.Periods; len(p) != 6 || p[0].AreaCode != "914" || p[0].Standard != "QD59-2015" || p[0].From != 2019 || p[0].To != 2021 ||
		p[0].First != 30 || p[0].Last != 15 || p[0].Change != -15 || *p[0].Average != -7.5 ||
		p[1].Standard != "ND07-2021" || p[1].From != 2022 || p[1].To != 2024 || p[1].Change != -9 || *p[1].Average != -4.5 {
		t.Errorf("periods: %+v", p)
	}
	if x := tr.Targets; len(x) != 2 || x[0].Year != 2022 || x[0].Actual != nil || x[1].Year != 2023 || *x[1].Actual != 20 || !*x[1].Met {
		b, _ := json.Marshal(x)
		t.Errorf("targets: %s", b)
	}
	// The trend's year is the poverty report of its date.
	p := apptest.Decode[reportOut](t, apptest.Send(t, h, "GET", "/api/v1/reports/poverty?area=914&date=2023-12-31", official, nil), 200)
	if p.Totals["households"] != float64(20) || p.Totals["poor"] != float64(4) {
		t.Errorf("the poverty report of 2023: %v", p.Totals)
	}

	// The poverty report of 2022 does not compare with 2021 either.
	type povertyOut struct {
		reportOut
		Standard   string `json:"standard"`
		Previous   string `json:"previous_standard"`
		Comparable bool   `json:"comparable"`
	}
	p22 := apptest.Decode[povertyOut](t, apptest.Send(t, h, "GET", "/api/v1/reports/poverty?area=914&date=2022-12-31", official, nil), 200)
	if p22.Comparable || p22.Standard != "ND07-2021" || p22.Previous != "QD59-2015" || p22.Totals["change"] != nil || p22.Totals["prev_poor_rate"] != nil {
		t.Errorf("the poverty report across the change of standard: %+v", p22)
	}
	if p23 := apptest.Decode[povertyOut](t, apptest.Send(t, h, "GET", "/api/v1/reports/poverty?area=914&date=2023-12-31", official, nil), 200); !p23.Comparable || p23.Totals["change"] != -5.0 {
		t.Errorf("the poverty report of 2023: %+v", p23)
	}

	// The files: the table with the break's note; the XLSX with its line chart.
	w = apptest.Send(t, h, "GET", "/api/v1/reports/trend?area=914&from=2019&to=2024&format=csv", official, nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "2019–2021") || !strings.Contains(w.Body.String(), "Năm 2022 đo theo chuẩn nghèo ND07-2021") {
		t.Fatalf("csv: %d %s", w.Code, w.Body)
	}
	chart := func(path, kind string) {
		t.Helper()
		w := apptest.Send(t, h, "GET", path, official, nil)
		f, err := excelize.OpenReader(bytes.NewReader(w.Body.Bytes()))
		if w.Code != 200 || err != nil {
			t.Fatalf("%s: %d %v", path, w.Code, err)
		}
		defer f.Close()
		x, ok := f.Pkg.Load("xl/charts/chart1.xml")
		if !ok || !bytes.Contains(x.([]byte), []byte("<"+kind)) {
			t.Fatalf("%s: no %s in the workbook: %v %.300s", path, kind, ok, x)
		}
		if rows, err := f.GetRows("Bieu do"); err != nil || len(rows) < 2 {
			t.Fatalf("%s: the chart's data: %v %v", path, rows, err)
		}
	}
	chart("/api/v1/reports/trend?area=914&from=2019&to=2024&format=xlsx", "lineChart")
	chart("/api/v1/reports/poverty?area=914&year=2024&format=xlsx", "barChart")

	// Scope: a commune's worker sees their commune's trend only.
	worker := apptest.Token(t, a, "tr-worker", "commune_worker", "30791")
	if w := apptest.Send(t, h, "GET", "/api/v1/reports/trend?area=30793&from=2019&to=2024", worker, nil); w.Code != 404 {
		t.Fatalf("another commune's trend: %d", w.Code)
	}
	mine := apptest.Decode[trendOut](t, apptest.Send(t, h, "GET", "/api/v1/reports/trend?area=914&from=2019&to=2024", worker, nil), 200)
	if y := mine.Years[0]; y.Households != 10 || y.Poor != 4 {
		t.Fatalf("the worker's district trend covers their commune only: %+v", y)
	}
	for _, bad := range []string{"from=2024&to=2019", "from=1990&to=2024", "to=2099", "from=2019&to=2024&edition=x"} {
		if w := apptest.Send(t, h, "GET", "/api/v1/reports/trend?area=914&"+bad, official, nil); w.Code != 422 {
			t.Fatalf("%s: %d", bad, w.Code)
		}
	}
}
