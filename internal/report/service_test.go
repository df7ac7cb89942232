package report_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/xuri/excelize/v2"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/vn"
	"github.com/ansinh/ansinh/internal/report"
)

// reads records the households a list logged as read.
type reads struct{ ids []uuid.UUID }

func (r *reads) Read(_ context.Context, _, _ string, ids ...uuid.UUID) { r.ids = append(r.ids, ids...) }

// brokenAreas fails every lookup as a database would.
type brokenAreas struct{}

func (brokenAreas) Get(context.Context, string) (area.Area, error) {
	return area.Area{}, errors.New("connection refused")
}

func (brokenAreas) GetIn(context.Context, string, string) (area.Area, error) {
	return area.Area{}, errors.New("connection refused")
}

func (brokenAreas) Editions(context.Context) ([]area.Edition, error) {
	return nil, errors.New("connection refused")
}

// A scope of two areas in two districts: the scope condition has two
// parameters in every query, and the budgets' condition is on the budgets'
// own column.
func TestScopeOfTwoAreas(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	w1 := apptest.Token(t, a, "sc-worker", "commune_worker", "30791")
	w2 := apptest.Token(t, a, "sc-worker2", "commune_worker", "31036")
	manager := apptest.Token(t, a, "sc-manager", "program_manager", "91")
	for _, k := range []string{"A", "B"} {
		apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", w1, apptest.HouseholdBody("SC-"+k, "30791", "")))
	}
	apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", w2, apptest.HouseholdBody("SC-C", "31036", "")))
	apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", apptest.Token(t, a, "sc-worker3", "commune_worker", "30793"),
		apptest.HouseholdBody("SC-D", "30793", "")))
	apptest.Exec(t, a.DB(), `UPDATE households SET classification = 'poor' WHERE code IN ('SC-A', 'SC-C', 'SC-D')`)
	year := time.Now().In(vn.Zone).Format("2006")
	for code, amount := range map[string]int64{"30791": 100_000_000, "30793": 60_000_000} {
		apptest.Decode[map[string]any](t, apptest.Send(t, h, "PUT", "/api/v1/programs/housing_new/budgets/"+code+"/"+year, manager,
			map[string]any{"amount": amount}), 200)
	}
	path := func(code string) string {
		return apptest.Scalar[string](t, a.DB(), `SELECT path::text FROM areas WHERE code = ?`, code)
	}
	vinhPhu, dongHungA, vinhDieu := path("30791"), path("31036"), path("30793")
	log := &reads{}
	svc := report.NewService(a.DB(), log, area.NewStore(a.DB()))
	ctx := context.Background()
	today := vn.Today(time.Now())

	// Poverty of the province in the two communes' scope: only their households.
	two := access.Within(vinhPhu, dongHungA)
	_, rows, total, err := svc.Poverty(ctx, two, "", "91", today)
	if err != nil {
		t.Fatal(err)
	}
	if total.Households != 3 || total.Poor != 2 || total.PoorRate != 66.67 {
		t.Fatalf("totals in two communes: %+v", total)
	}
	byKey := map[string]report.PovertyRow{}
	for _, r := range rows {
		byKey[r.Key] = r
	}
	if g, m := byKey["91.914"], byKey["91.909"]; g.Households != 2 || g.Poor != 1 || g.Name != "Giang Thành" || m.Households != 1 || m.Poor != 1 {
		t.Fatalf("districts: Giang Thành %+v, An Minh %+v", g, m)
	}
	if _, _, total, err = svc.Poverty(ctx, access.Within(dongHungA), "", "91", today); err != nil || total.Households != 1 {
		t.Fatalf("one commune: %+v %v", total, err)
	}

	// The official list names the two communes' poor households, and only
	// those are logged as read.
	_, list, err := svc.List(ctx, two, "poor", "91", today, "")
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, r := range list.Rows {
		codes = append(codes, r[1].(string))
	}
	slices.Sort(codes)
	if !slices.Equal(codes, []string{"SC-A", "SC-C"}) || len(log.ids) != 2 || list.Rows[0][0] != int64(1) {
		t.Fatalf("poor list: %q (%d read)", list.Rows, len(log.ids))
	}

	// Budgets of the district's communes: each scope sees its own communes'.
	from, to := report.SupportPeriod(nil, nil, today)
	allocated := func(scope access.Scope) map[string]int64 {
		t.Helper()
		_, rows, _, err := svc.Support(ctx, scope, "", "914", from, to)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, r := range rows {
			out[r.Program+" "+r.Name] = r.Allocated
		}
		return out
	}
	if got := allocated(access.Within(vinhPhu, vinhDieu)); len(got) != 2 || got["housing_new Vĩnh Phú"] != 100_000_000 ||
		got["housing_new Vĩnh Điều"] != 60_000_000 {
		t.Fatalf("budgets of both communes: %v", got)
	}
	if got := allocated(two); len(got) != 1 || got["housing_new Vĩnh Phú"] != 100_000_000 {
		t.Fatalf("budgets in Vĩnh Phú and Đông Hưng A: %v", got)
	}
	if _, _, _, err := svc.Support(ctx, two, "", "914", to, from.AddDate(0, 0, -1)); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("a period that ends before it starts: %v", err)
	}
}

// An area that does not exist is the request's error; a failing lookup is
// the server's, and outside the caller's areas is not found.
func TestReportArea(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	ctx := context.Background()
	scope := access.Within("91")
	svc := report.NewService(a.DB(), &reads{}, area.NewStore(a.DB()))
	_, _, _, err := svc.Poverty(ctx, scope, "", "99999", time.Now())
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.Invalid || len(e.Fields) != 1 || e.Fields[0].Field != "area" {
		t.Fatalf("an unknown area: %#v", err)
	}
	_, err = svc.SetTarget(ctx, scope, report.Target{AreaCode: "99999", Metric: "poverty_rate", Year: 2025, Value: 5})
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.Invalid || len(e.Fields) != 1 || e.Fields[0].Field != "area_code" {
		t.Fatalf("a target of an unknown area: %#v", err)
	}
	if _, _, _, err := svc.Poverty(ctx, scope, "", "79", time.Now()); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("an area outside the scope: %v", err)
	}
	broken := report.NewService(a.DB(), &reads{}, brokenAreas{})
	if _, _, err := broken.Targets(ctx, scope, "91"); err == nil || apperr.KindOf(err) != apperr.Internal ||
		!strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("a failing lookup: %v", err)
	}
}

func TestReportDate(t *testing.T) {
	t.Parallel()
	today := time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC)
	asked := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		date *time.Time
		year int
		want time.Time
	}{
		{"nothing asked", nil, 0, today},
		{"a date", &asked, 2020, asked},
		{"a past year", nil, 2024, time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)},
		{"this year", nil, 2026, today},
		{"a later year", nil, 2027, today},
	} {
		if got := report.ReportDate(c.date, c.year, today); !got.Equal(c.want) {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	from, to := report.SupportPeriod(nil, nil, today)
	if !from.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || !to.Equal(today) {
		t.Errorf("default period: %s to %s", from, to)
	}
	from, to = report.SupportPeriod(nil, &asked, today)
	if !from.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) || !to.Equal(asked) {
		t.Errorf("period to a date: %s to %s", from, to)
	}
	from, to = report.SupportPeriod(&asked, nil, today)
	if !from.Equal(asked) || !to.Equal(today) {
		t.Errorf("period from a date: %s to %s", from, to)
	}
}

func sampleTable() report.Table {
	return report.Table{TitleVI: "Báo cáo", Columns: []report.Column{{Key: "name", HeaderVI: "Tên", Kind: report.Text},
		{Key: "count", HeaderVI: "Số hộ", Kind: report.Integer}, {Key: "rate", HeaderVI: "Tỷ lệ (%)", Kind: report.Percent},
		{Key: "amount", HeaderVI: "Số tiền", Kind: report.Money}},
		Rows:   [][]any{{"=SUM(A1)", int64(3), 33.3, int64(1_500_000)}, {"Ấp Tà Teng", int64(1), 100.0, nil}},
		Totals: []any{"Tổng cộng", nil, 50.0, int64(1_500_000)},
		Footer: "Người xuất: A"}
}

func TestTableCSV(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := sampleTable().WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	want := "\ufeffTên,Số hộ,Tỷ lệ (%),Số tiền\n'=SUM(A1),3,33.30,1500000\nẤp Tà Teng,1,100.00,\nTổng cộng,,50.00,1500000\nNgười xuất: A\n"
	if buf.String() != want {
		t.Fatalf("csv:\n%q\nwant\n%q", buf.String(), want)
	}
}

func TestTableXLSX(t *testing.T) {
	t.Parallel()
	b, err := sampleTable().XLSX()
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	// Title, a blank row, headers, two rows, totals, a blank row, the footer.
	if len(rows) != 8 || rows[0][0] != "Báo cáo" || rows[2][1] != "Số hộ" || rows[5][0] != "Tổng cộng" || rows[7][0] != "Người xuất: A" {
		t.Fatalf("rows: %q", rows)
	}
	for _, c := range []struct{ cell, raw string }{{"B4", "3"}, {"C4", "33.3"}, {"D4", "1500000"}, {"D6", "1500000"}} {
		typ, err := f.GetCellType("Sheet1", c.cell)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := f.GetCellValue("Sheet1", c.cell, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		if (typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset) || raw != c.raw {
			t.Errorf("%s: type %v value %q, want the number %s", c.cell, typ, raw, c.raw)
		}
	}
	if v, err := f.GetCellValue("Sheet1", "B6"); err != nil || v != "" {
		t.Errorf("a blank total: %q %v", v, err)
	}
	if v, err := f.GetCellValue("Sheet1", "A4"); err != nil || v != "=SUM(A1)" {
		t.Errorf("a text that looks like a formula: %q %v", v, err)
	}
	if formula, err := f.GetCellFormula("Sheet1", "A4"); err != nil || formula != "" {
		t.Errorf("a text became a formula: %q %v", formula, err)
	}
	hf, err := f.GetHeaderFooter("Sheet1")
	if err != nil || !strings.Contains(hf.OddFooter, "Người xuất: A") {
		t.Errorf("page footer: %+v %v", hf, err)
	}
}
