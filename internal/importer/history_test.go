package importer_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/importer"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
	"github.com/ansinh/ansinh/internal/reorganize"
)

const historyHead = "year,commune_code,household_code,head_name,classification,decision_number,decision_date,village,area_type," +
	"head_birth_year,head_sex,income_per_person,deprivations\n"

func runHistory(t *testing.T, im *importer.Importer, mode, csv string) importer.Result {
	t.Helper()
	ctx := access.WithActor(context.Background(), access.System("test"))
	res, err := im.RunOf(ctx, importer.History, access.Everywhere(), mode, "csv", "history-test", strings.NewReader(csv), int64(len(csv)), nil)
	if err != nil {
		t.Fatalf("%s: %v", mode, err)
	}
	return res
}

// problemsAt are a result's problems as "row column code".
func problemsAt(res importer.Result) []string {
	var out []string
	for _, p := range res.Problems {
		out = append(out, strings.Join([]string{strconv.Itoa(p.Row), p.Column, p.Code}, " "))
	}
	slices.Sort(out)
	return out
}

// The history import: every mode, problems by row and column, households
// found or created, years written with the class before and the lists, the
// household's class from its newest decision, and a re-run that writes
// nothing.
func TestHistoryImport(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	im, pool := setup(t, d.AppURL)
	run(t, im, access.Everywhere(), importer.ValidOnly, "commune_code,household_code,village,area_type,full_name,birth_date,sex,relationship\n"+
		"30791,H-1,Ấp 1,rural,Nguyễn Văn An,1978,male,head\n")
	file := historyHead +
		"2019,30791,H-1,Nguyễn Văn An,poor,12/QĐ-UBND,2019-12-20,,,,,600000,health_insurance;toilet\n" + // row 2
		"2020,30791,H-1,Nguyễn Văn An,poor,15/QĐ-UBND,2020-12-18\n" +
		"2021,30791,H-1,Nguyễn Văn An,thoát nghèo,3/QĐ-UBND,2022-01-10\n" + // decided early the next year
		"2022,30791,N-1,Lê Thị Mai,cận nghèo,20/QĐ-UBND,2022-12-15,Ấp 2,rural,1965,female\n" + // row 5: not registered
		"2023,30791,N-1,Lê Thị Mai,poor,21/QĐ-UBND,2023-12-15\n" +
		"2018,30791,B-1,Võ Văn Bé,rich,,2018-13-01\n" + // row 7
		"2017,99999,C-1,Đỗ Văn Cần,poor,1/QĐ,2017-12-01\n" + // row 8
		"2015,30791,D-1,Hồ Văn Dũng,poor,1/QĐ,2015-12-01,Ấp 1,rural,1970,male\n" + // row 9: before any standard recorded
		"2020,30791,E-1,Mai Văn Em,poor,1/QĐ,2020-12-01\n" + // row 10: not registered, nothing to register it with
		"2019,30791,F-1,Lý Văn Phúc,poor,1/QĐ,2019-12-01,Ấp 1,rural,1970,male\n" + // row 11
		"2018,30791,F-1,Lý Văn Phúc,poor,1/QĐ,2018-12-01\n" + // row 12: out of order
		"2019,30791,G-1,Tô Văn Giàu,poor,1/QĐ,2019-12-01,Ấp 1,rural,1970,male,,information_means;floor_space\n" // row 13
	want := []string{"10 head_birth_year required", "10 head_sex required", "10 village required", "12 year order",
		"13 deprivations unknown", "7 classification invalid", "7 decision_date format", "7 decision_number required",
		"8 commune_code unknown", "9 decision_date no_standard"}

	res := runHistory(t, im, importer.DryRun, file)
	if got := problemsAt(res); !slices.Equal(got, want) || res.HouseholdsValid != 2 || res.HouseholdsInvalid != 6 {
		t.Fatalf("dry run: %+v\n%v", res.Progress, got)
	}
	changes := `SELECT count(*) FROM classification_changes`
	if n := count(t, pool, changes); n != 0 {
		t.Fatalf("a dry run wrote %d years", n)
	}
	if res := runHistory(t, im, importer.AllOrNothing, file); res.HouseholdsInvalid != 6 || count(t, pool, changes) != 0 ||
		count(t, pool, `SELECT count(*) FROM households`) != 1 {
		t.Fatalf("all or nothing with invalid households wrote: %+v", res.Progress)
	}
	res = runHistory(t, im, importer.ValidOnly, file)
	if res.HouseholdsCreated != 1 || res.HouseholdsExisting != 1 || res.YearsRecorded != 5 || res.MembersCreated != 1 {
		t.Fatalf("valid only: %+v", res.Progress)
	}
	var got []string
	if err := pool.Conn(context.Background()).Raw(`SELECT h.code || ' ' || c.effective_date || ' ' || c.from_class || '>' || c.to_class || ' ' ||
		array_to_string(c.lists, ',') || ' ' || c.standard_code || ' ' || c.decision_number || ' ' || coalesce(c.income_per_person::text, '-') ||
		' ' || coalesce(array_to_string(c.deprivations, ','), '-')
		FROM classification_changes c JOIN households h ON h.id = c.household_id ORDER BY h.code, c.effective_date`).Scan(&got).Error; err != nil {
		t.Fatal(err)
	}
	wantRows := []string{
		"H-1 2019-12-20 none>poor  QD59-2015 12/QĐ-UBND 600000 health_insurance,toilet", // its first known class: on no list
		"H-1 2020-12-18 poor>poor  QD59-2015 15/QĐ-UBND - -",
		"H-1 2021-12-31 poor>average escaped_poverty QD59-2015 3/QĐ-UBND - -",
		"N-1 2022-12-15 none>near_poor  ND07-2021 20/QĐ-UBND - -",
		"N-1 2023-12-15 near_poor>poor newly_poor ND07-2021 21/QĐ-UBND - -",
	}
	if !slices.Equal(got, wantRows) {
		t.Fatalf("years written:\n%s", strings.Join(got, "\n"))
	}
	var now []string
	if err := pool.Conn(context.Background()).Raw(`SELECT h.code || ' ' || h.classification || ' ' || coalesce(h.classification_decision, '') ||
		' ' || h.established_on || ' ' || count(m.id) FROM households h JOIN members m ON m.household_id = h.id
		GROUP BY h.id ORDER BY h.code`).Scan(&now).Error; err != nil {
		t.Fatal(err)
	}
	if len(now) != 2 || !strings.HasPrefix(now[0], "H-1 average 3/QĐ-UBND ") || now[1] != "N-1 poor 21/QĐ-UBND 2022-12-15 1" {
		t.Fatalf("households after the history: %v", now)
	}
	if n := count(t, pool, `SELECT count(*) FROM audit_events WHERE action = 'classification.import_history'
		AND doc->'after'->'entered_late'->>'event_date' = '2019-12-20'`); n != 1 {
		t.Fatalf("%d audit events of the import entered late from 2019-12-20", n)
	}

	again := runHistory(t, im, importer.ValidOnly, file)
	if again.YearsRecorded != 0 || again.YearsExisting != 5 || again.HouseholdsCreated != 0 || again.HouseholdsExisting != 2 ||
		count(t, pool, changes) != 5 {
		t.Fatalf("a re-run: %+v", again.Progress)
	}
	// A year recorded otherwise is a conflict; one before the history on
	// record is out of order.
	// A year is its list's: the same year with another date is a conflict
	// too. A bad head's column does not matter for a household found.
	res = runHistory(t, im, importer.ValidOnly, historyHead+
		"2020,30791,H-1,Nguyễn Văn An,near_poor,15/QĐ-UBND,2020-12-18\n"+
		"2021,30791,H-1,Nguyễn Văn An,average,3/QĐ-UBND,2021-12-20\n"+
		"2017,30791,N-1,Lê Thị Mai,poor,9/QĐ-UBND,2017-12-18\n")
	if got := problemsAt(res); !slices.Equal(got, []string{"2 classification conflict", "3 classification conflict", "4 year order"}) ||
		count(t, pool, changes) != 5 {
		t.Fatalf("conflict and order: %+v %v", res.Progress, got)
	}
	res = runHistory(t, im, importer.ValidOnly, historyHead+"2024,30791,N-1,Lê Thị Mai,poor,30/QĐ-UBND,2024-12-10,Ấp 2,rural,1965,robot\n")
	if res.Progress.Problems != 0 || res.YearsRecorded != 1 || count(t, pool, changes) != 6 {
		t.Fatalf("a bad head's column on a household found: %+v %v", res.Progress, problemsAt(res))
	}
}

// A batch of a thousand households of five years each writes its 5,000
// years (statements in chunks under PostgreSQL's parameter limit).
func TestHistoryImportLargeBatch(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	im, pool := setup(t, d.AppURL)
	var b strings.Builder
	b.WriteString(historyHead)
	for i := range 1000 {
		for y := 2020; y <= 2024; y++ {
			class := []string{"poor", "near_poor", "average"}[(i+y)%3]
			fmt.Fprintf(&b, "%d,30791,L-%04d,Nguyễn Văn An,%s,%d/QĐ,%d-12-10,Ấp 1,rural,1970,male\n", y, i, class, y, y)
		}
	}
	res := runHistory(t, im, importer.ValidOnly, b.String())
	if res.HouseholdsCreated != 1000 || res.YearsRecorded != 5000 || res.Progress.Problems != 0 ||
		count(t, pool, `SELECT count(*) FROM classification_changes WHERE source = 'history'`) != 5000 {
		t.Fatalf("a large batch: %+v %v", res.Progress, problemsAt(res))
	}
}

// On a reorganized deployment, a year's commune is in the units of its date:
// a household moved by the reorganization is found by the code it had under
// the old units, a new one is created in its commune's successor and placed
// under the old units through the reorganization, and a divided commune's
// cannot be placed.
func TestHistoryUnderOlderUnits(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	im, pool := setup(t, d.AppURL)
	run(t, im, access.Everywhere(), importer.ValidOnly, "commune_code,household_code,village,area_type,full_name,birth_date,sex,relationship\n"+
		"30791,K-1,Ấp 1,rural,Nguyễn Văn An,1978,male,head\n30793,K-1,Ấp 1,rural,Trần Văn Bình,1970,male,head\n")
	ctx := access.WithActor(context.Background(), access.System("test"))
	if _, err := reorganize.NewService(pool).Apply(ctx, reorganize.Options{To: "2026-04"}); err != nil {
		t.Fatal(err)
	}
	var divided string
	if err := pool.Conn(ctx).Raw(`SELECT from_code FROM area_successions WHERE from_edition = '2025-03' AND to_edition = '2026-04'
		AND from_code ~ '^[0-9]{5}$' GROUP BY from_code HAVING count(*) > 1 ORDER BY 1 LIMIT 1`).Scan(&divided).Error; err != nil || divided == "" {
		t.Fatalf("a divided commune: %q %v", divided, err)
	}
	file := historyHead +
		"2020,30791,K-1,Nguyễn Văn An,poor,7/QĐ,2020-12-10\n" + // moved to 30793 as K-1-30791
		"2024,30791,NEW-1,Phan Thị Cúc,near_poor,8/QĐ,2024-12-10,Ấp 3,rural,1980,female\n" +
		"2024," + divided + ",NEW-2,Huỳnh Văn Đức,poor,9/QĐ,2024-12-10,Ấp 4,rural,1980,male\n" + // row 4
		"2025,30793,K-1-30791,Nguyễn Văn An,average,10/QĐ,2025-12-10\n" + // today's units, after the reform: the same household
		"2024,30791,NEW-9,Đỗ Thị Hoa,poor,8/QĐ,2024-12-10,Ấp 3,rural,1980,female\n" + // new, and again under today's units:
		"2025,30793,NEW-9,Đỗ Thị Hoa,average,10/QĐ,2025-12-10\n" // one household
	res := runHistory(t, im, importer.ValidOnly, file)
	if got := problemsAt(res); !slices.Equal(got, []string{"4 commune_code not_placeable"}) || res.HouseholdsCreated != 2 || res.YearsRecorded != 5 ||
		count(t, pool, `SELECT count(*) FROM households WHERE code = 'NEW-9'`) != 1 {
		t.Fatalf("older units: %+v %v", res.Progress, got)
	}
	var got []string
	if err := pool.Conn(ctx).Raw(`SELECT h.code || ' ' || h.commune_edition || ':' || h.commune_code || ' ' || c.effective_date || ' ' || c.to_class ||
		' ' || c.area_path::text || ' ' || coalesce((SELECT m.from_code || '/' || m.old_household_code FROM reorganization_moves m
			WHERE m.household_id = h.id), '-')
		FROM classification_changes c JOIN households h ON h.id = c.household_id ORDER BY c.effective_date, h.code`).Scan(&got).Error; err != nil {
		t.Fatal(err)
	}
	want := []string{
		"K-1-30791 2026-04:30793 2020-12-10 poor 91.914.30791 30791/K-1",
		"NEW-1 2026-04:30793 2024-12-10 near_poor 91.914.30791 30791/NEW-1",
		"NEW-9 2026-04:30793 2024-12-10 poor 91.914.30791 30791/NEW-9",
		"K-1-30791 2026-04:30793 2025-12-10 average 91.30793 30791/K-1",
		"NEW-9 2026-04:30793 2025-12-10 average 91.30793 30791/NEW-9",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("years under older units:\n%s", strings.Join(got, "\n"))
	}
}
