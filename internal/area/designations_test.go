package area_test

import (
	"strings"
	"testing"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/area"
)

func readDesignations(t *testing.T, rows string) []area.Designation {
	t.Helper()
	ds, err := area.ReadDesignations(strings.NewReader("kind,zone,area_edition,area_code,village,valid_from,valid_to,decision_number,decision_date,issuer\n" + rows))
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// A list is refused whole, with every problem; a good one loads, is audited,
// replaces a designation of the same start, and is served by date with the
// designations of the units above the area.
func TestDesignations(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	s := area.NewStore(a.DB())
	ctx := access.WithActor(t.Context(), access.System("test"))

	if _, err := area.ReadDesignations(strings.NewReader("kind,zone\nx,y\n")); err == nil {
		t.Fatal("a file of another layout must be refused")
	}
	if _, err := area.ReadDesignations(strings.NewReader("kind,zone,area_edition,area_code,village,valid_from,valid_to,decision_number,decision_date,issuer\n" +
		"border_commune,,2025-03,30791,,2021-13-01,,1/QĐ,2021-01-01,\n")); err == nil || !strings.Contains(err.Error(), "valid_from") {
		t.Fatalf("a bad date: %v", err)
	}
	bad := readDesignations(t, `ethnic_mountainous_zone,,2025-03,30791,,2021-01-01,,1/QĐ,2021-01-01,
poor_district,,2025-03,30791,,2021-01-01,,1/QĐ,2021-01-01,
border_commune,,2026-04,30791,,2021-01-01,,1/QĐ,2021-01-01,
extremely_difficult_hamlet,,2025-03,30791,,2021-01-01,,1/QĐ,2021-01-01,
coastal_extremely_difficult,,2025-03,31036,,2021-01-01,2025-06-30,1/QĐ,2021-01-01,
coastal_extremely_difficult,,2025-03,31036,,2024-01-01,,2/QĐ,2024-01-01,
`)
	_, err := s.LoadDesignations(ctx, bad, false, "test")
	for _, want := range []string{"line 2: zone", "line 3: poor_district designates a district; 30791 is a commune",
		"line 4: no unit 30791 in edition \"2026-04\"", "line 5: village", "line 7: coastal_extremely_difficult of 31036  overlaps the one from 2021-01-01"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("refusal lacks %q: %v", want, err)
		}
	}
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM area_designations`); n != 0 {
		t.Fatalf("a refused list loaded %d", n)
	}

	good := readDesignations(t, `ethnic_mountainous_zone,III,2025-03,30791,,2021-01-01,2025-06-30,861/QĐ-TTg,2021-06-04,Thủ tướng
extremely_difficult_hamlet,,2025-03,30791,Ấp  Tà Teng,2021-01-01,,612/QĐ-UBDT,2021-09-16,Ủy ban Dân tộc
poor_district,,2025-03,914,,2018-01-01,2020-12-31,275/QĐ-TTg,2018-03-07,Thủ tướng
`)
	if n, err := s.LoadDesignations(ctx, good, true, "test"); err != nil || n != 3 {
		t.Fatalf("load: %d %v", n, err)
	}
	// Again, with the zone corrected: replaced, not repeated.
	good = readDesignations(t, "ethnic_mountainous_zone,II,2025-03,30791,,2021-01-01,2025-06-30,861/QĐ-TTg,2021-06-04,Thủ tướng\n")
	if _, err := s.LoadDesignations(ctx, good, true, "test"); err != nil {
		t.Fatal(err)
	}
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM area_designations WHERE area_code = '30791'`); n != 2 { // before the next period
		t.Fatalf("designations of 30791: %d", n)
	}
	// A list that closes the open-ended hamlet designation and starts the
	// next: the designation it replaces does not count against the next.
	next := readDesignations(t, `extremely_difficult_hamlet,,2025-03,30791,Ấp Tà Teng,2021-01-01,2024-12-31,612/QĐ-UBDT,2021-09-16,Ủy ban Dân tộc
extremely_difficult_hamlet,,2025-03,30791,Ấp Tà Teng,2025-01-01,,9/QĐ-UBDT,2024-12-20,Ủy ban Dân tộc
`)
	if _, err := s.LoadDesignations(ctx, next, true, "test"); err != nil {
		t.Fatalf("closing a period and starting the next: %v", err)
	}
	twice := readDesignations(t, `border_commune,,2025-03,30793,,2021-01-01,,1/QĐ,2021-01-01,
border_commune,,2025-03,30793,,2021-01-01,,2/QĐ,2021-01-01,
`)
	if _, err := s.LoadDesignations(ctx, twice, false, "test"); err == nil || !strings.Contains(err.Error(), "is given twice") {
		t.Fatalf("one designation twice in a list: %v", err)
	}
	if n := apptest.CountEvents(t, a, "area.designations_load"); n != 3 {
		t.Fatalf("load events: %d", n)
	}

	h := a.Handler()
	tok := apptest.Token(t, a, "worker-designations", "commune_worker", "30791")
	type list struct {
		Items []struct{ Label, Village string } `json:"items"`
	}
	labels := func(q string) string {
		l := apptest.Decode[list](t, apptest.Send(t, h, "GET", "/api/v1/areas/30791/designations?edition=2025-03&"+q, tok, nil), 200)
		var out []string
		for _, i := range l.Items {
			out = append(out, i.Label+strings.TrimSuffix(" "+i.Village, " "))
		}
		return strings.Join(out, ",")
	}
	if got := labels("date=2024-05-01"); got != "ethnic_mountainous_zone_II,extremely_difficult_hamlet Ấp Tà Teng" {
		t.Errorf("in 2024: %q", got)
	}
	if got := labels("date=2019-05-01"); got != "poor_district" {
		t.Errorf("in 2019 (the district was poor): %q", got)
	}
	if got := labels("date=2026-01-01"); got != "extremely_difficult_hamlet Ấp Tà Teng" { // the next period's
		t.Errorf("in 2026: %q", got)
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/areas/30791/designations?date=yesterday", tok, nil); w.Code != 422 {
		t.Errorf("a bad date: %d", w.Code)
	}
}
