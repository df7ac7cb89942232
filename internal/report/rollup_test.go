package report

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

// rollupWorld writes random households and classification histories in
// three communes of two districts of province 91, and changes them at random.
type rollupWorld struct {
	t        *testing.T
	pool     *db.DB
	r        *rand.Rand
	communes [][2]string // code, path
	ids      []uuid.UUID
	class    map[uuid.UUID]string
	est      map[uuid.UUID]time.Time
}

var rollupClasses = []string{"none", "poor", "near_poor", "average"}

func (w *rollupWorld) exec(q string, args ...any) {
	w.t.Helper()
	if err := w.pool.Conn(context.Background()).Exec(q, args...).Error; err != nil {
		w.t.Fatal(err)
	}
}

func (w *rollupWorld) day(from, to time.Time) time.Time {
	return from.AddDate(0, 0, w.r.IntN(int(to.Sub(from).Hours()/24)+1))
}

// households adds n households, a third of them with up to three recognized
// changes after their establishment, some ended.
func (w *rollupWorld) households(n int) {
	start, end := time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
	for range n {
		c := w.communes[w.r.IntN(len(w.communes))]
		id, est := uuid.Must(uuid.NewV7()), w.day(start, end)
		cls := rollupClasses[w.r.IntN(4)]
		var ended, reason any
		status := "active"
		if w.r.IntN(10) == 0 {
			ended, status, reason = w.day(est, end.AddDate(0, 6, 0)).Format(time.DateOnly), "archived", "moved away"
		}
		w.exec(`INSERT INTO households (id, code, commune_edition, commune_code, area_path, village, area_type, classification,
			established_on, ended_on, status, archive_reason) VALUES (?, ?, '2025-03', ?, CAST(? AS ltree), ?, 'rural', ?, CAST(? AS date),
			CAST(? AS date), ?, ?)`,
			id, fmt.Sprintf("R-%d", len(w.ids)), c[0], c[1], fmt.Sprintf("Ấp %d", 1+w.r.IntN(3)), cls, est.Format(time.DateOnly), ended, status, reason)
		w.ids, w.class[id], w.est[id] = append(w.ids, id), cls, est
		if w.r.IntN(3) == 0 {
			w.changes(id, 1+w.r.IntN(3))
		}
	}
}

// changes adds k recognized changes to a household, each from its class.
func (w *rollupWorld) changes(id uuid.UUID, k int) {
	on := w.est[id]
	for range k {
		on = w.day(on, on.AddDate(2, 0, 0))
		to := rollupClasses[w.r.IntN(4)]
		for to == w.class[id] {
			to = rollupClasses[w.r.IntN(4)]
		}
		lists := []string{"{}", "{newly_poor}", "{escaped_poverty}", "{re_entered_poverty}", "{newly_poor,re_entered_poverty}"}[w.r.IntN(5)]
		// As a past list's row (a review's needs its review and assessment);
		// the list year only keeps each household's rows apart.
		w.exec(`INSERT INTO classification_changes (id, household_id, area_path, standard_code, from_class, to_class, effective_date,
			decision_number, lists, source, import_source, list_year) SELECT ?, id, area_path, 'ND07-2021', ?, ?, CAST(? AS date), 'QĐ',
			CAST(? AS text[]), 'history', 'test', 2000 + (SELECT count(*) FROM classification_changes c WHERE c.household_id = h.id)
			FROM households h WHERE id = ?`,
			uuid.Must(uuid.NewV7()), w.class[id], to, on.Format(time.DateOnly), lists, id)
		w.class[id] = to
		w.exec(`UPDATE households SET classification = ? WHERE id = ?`, to, id)
	}
}

// mutate changes the registry at random: households ended, moved to
// another village, reclassified, backdated; changes added and redated.
func (w *rollupWorld) mutate() {
	for range 20 {
		id := w.ids[w.r.IntN(len(w.ids))]
		switch w.r.IntN(5) {
		case 0:
			w.exec(`UPDATE households SET ended_on = established_on + 400, status = 'archived', archive_reason = 'merged' WHERE id = ? AND ended_on IS NULL`, id)
		case 1:
			w.exec(`UPDATE households SET village = 'Ấp 9' WHERE id = ?`, id)
		case 2:
			w.changes(id, 1)
		case 3:
			w.exec(`UPDATE households SET established_on = established_on - 200 WHERE id = ?`, id)
			w.est[id] = w.est[id].AddDate(0, 0, -200)
		case 4: // entered late: dated before the household's later changes
			saved := w.class[id]
			w.class[id] = rollupClasses[(slicesIndex(rollupClasses, saved)+1)%4]
			on := w.est[id]
			w.est[id] = w.est[id].AddDate(0, 0, -400) // changes() dates after it
			w.changes(id, 1)
			w.est[id] = on
		}
	}
	w.households(30)
}

// The rollup's figures equal the ones counted from the rows, for every
// level, date, scope and period, after random writes and random changes.
func TestRollupEqualsTheRows(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	w := &rollupWorld{t: t, pool: pool, r: rand.New(rand.NewPCG(21, 4)), class: map[uuid.UUID]string{}, est: map[uuid.UUID]time.Time{}}
	other := ""
	if err := pool.Conn(ctx).Raw(`SELECT code FROM areas WHERE edition = '2025-03' AND level = 'commune' AND path <@ '91'
		AND NOT path <@ '91.914' ORDER BY code LIMIT 1`).Row().Scan(&other); err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"30791", "30793", other} {
		var path string
		if err := pool.Conn(ctx).Raw(`SELECT path::text FROM areas WHERE edition = '2025-03' AND code = ?`, code).Row().Scan(&path); err != nil {
			t.Fatal(err)
		}
		w.communes = append(w.communes, [2]string{code, path})
	}
	s := NewService(pool, nil, area.NewStore(pool))
	areas := []Area{{Edition: "2025-03", Code: "91", Level: "province", Path: "91"},
		{Edition: "2025-03", Code: "914", Level: "district", Path: "91.914"},
		{Edition: "2025-03", Code: "30791", Level: "commune", Path: w.communes[0][1]}}
	scopes := []access.Scope{access.Everywhere(), access.Within(w.communes[0][1], w.communes[2][1])}
	days := []time.Time{}
	for y := 2013; y <= 2026; y++ {
		days = append(days, time.Date(y, 12, 31, 0, 0, 0, 0, time.UTC))
	}
	compare := func(round string) {
		t.Helper()
		for _, a := range areas {
			if err := s.refresh(ctx, a); err != nil {
				t.Fatal(err)
			}
			for _, scope := range scopes {
				for _, on := range append([]time.Time{time.Date(2016, 7, 1, 0, 0, 0, 0, time.UTC), time.Date(2023, 2, 28, 0, 0, 0, 0, time.UTC)}, days[5:]...) {
					counts, moves, err := s.povertyCounts(ctx, scope, a, on)
					if err != nil {
						t.Fatal(err)
					}
					wantCounts, err := s.store.povertyCounts(ctx, scope, a, on)
					if err != nil {
						t.Fatal(err)
					}
					wantMoves, err := s.store.movements(ctx, scope, a, on)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(counts, wantCounts) || !reflect.DeepEqual(nonZero(moves), nonZero(wantMoves)) {
						t.Fatalf("%s, %s on %s: rollup %+v %+v\nrows %+v %+v", round, a.Path, on.Format(time.DateOnly), counts, moves, wantCounts, wantMoves)
					}
				}
				// Year ends, and a trend ending inside a year that has
				// changes after its last day (the year rows' probe).
				midYear := append(append([]time.Time{}, days[:12]...), time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC))
				// And year ends past every change (the last is dated before
				// 2033): a commune's figures stay those of its last year row.
				ahead := append([]time.Time{}, days...)
				for y := 2027; y <= 2035; y++ {
					ahead = append(ahead, time.Date(y, 12, 31, 0, 0, 0, 0, time.UTC))
				}
				for _, tr := range []struct {
					days []time.Time
					from int
				}{{days, 2014}, {midYear, 2016}, {ahead, 2019}} {
					days, from := tr.days, tr.from
					counts, moves, err := s.trendCounts(ctx, scope, a, days, from)
					if err != nil {
						t.Fatal(err)
					}
					wantCounts, err := s.store.trendCounts(ctx, scope, a, days)
					if err != nil {
						t.Fatal(err)
					}
					wantMoves, err := s.store.trendMovements(ctx, scope, a, time.Date(from, 1, 1, 0, 0, 0, 0, time.UTC), days[len(days)-1])
					if err != nil {
						t.Fatal(err)
					}
					for y, m := range moves {
						moves[y] = nonZero(m)
					}
					for y, m := range wantMoves {
						wantMoves[y] = nonZero(m)
					}
					if !reflect.DeepEqual(counts, wantCounts) || !reflect.DeepEqual(nonEmpty(moves), nonEmpty(wantMoves)) {
						t.Fatalf("%s, trend of %s: rollup %+v\n%+v\nrows %+v\n%+v", round, a.Path, counts, moves, wantCounts, wantMoves)
					}
				}
			}
		}
	}
	w.households(300)
	if n, err := s.RollupBacklog(ctx); err != nil || n == 0 {
		t.Fatalf("backlog after writing: %d (%v)", n, err)
	}
	compare("written")
	for i := range 3 {
		w.mutate()
		if i == 1 { // the background worker's way, too
			if err := s.RefreshRollup(ctx); err != nil {
				t.Fatal(err)
			}
		}
		compare(fmt.Sprintf("changed %d", i+1))
	}
	var rows, dirty int
	if err := pool.Conn(ctx).Raw(`SELECT (SELECT count(*) FROM poverty_rollup), (SELECT count(*) FROM poverty_rollup_dirty)`).Row().Scan(&rows, &dirty); err != nil {
		t.Fatal(err)
	}
	if rows == 0 || dirty != 0 {
		t.Fatalf("rollup rows %d, dirty left %d", rows, dirty)
	}
	if n, err := s.RollupBacklog(ctx); err != nil || n != 0 {
		t.Fatalf("backlog at the end: %d (%v)", n, err)
	}
	// The year rows the triggers kept are each key's last row of each year.
	var years, astray int
	if err := pool.Conn(ctx).Raw(`WITH want AS (SELECT DISTINCT ON (key_id, extract(year FROM day)) key_id,
			extract(year FROM day)::integer AS year, day, households, poor, near_poor, average, newly_poor, escaped, re_entered
			FROM poverty_rollup ORDER BY key_id, extract(year FROM day), day DESC),
		have AS (SELECT key_id, year, day, households, poor, near_poor, average, newly_poor, escaped, re_entered FROM poverty_rollup_years)
		SELECT (SELECT count(*) FROM have), (SELECT count(*) FROM ((TABLE want EXCEPT TABLE have) UNION ALL (TABLE have EXCEPT TABLE want)) x)`).
		Row().Scan(&years, &astray); err != nil {
		t.Fatal(err)
	}
	if years == 0 || astray != 0 {
		t.Fatalf("%d year rows, %d differ from the rollup's last row of their year", years, astray)
	}
	// The communes' year rows are, for each year from a commune's first year
	// row to its last, the sum of its villages' latest year rows by then.
	var communeYears int
	if err := pool.Conn(ctx).Raw(`WITH span AS (SELECT k.area_path, min(y.year) AS first, max(y.year) AS last
			FROM poverty_rollup_keys k JOIN poverty_rollup_years y ON y.key_id = k.id GROUP BY k.area_path),
		want AS (SELECT s.area_path, g.yr AS year, sum(l.households) AS households, sum(l.poor) AS poor, sum(l.near_poor) AS near_poor,
				sum(l.average) AS average, sum(l.newly_poor) AS newly_poor, sum(l.escaped) AS escaped, sum(l.re_entered) AS re_entered
			FROM span s CROSS JOIN generate_series(s.first, s.last) g (yr) JOIN poverty_rollup_keys k ON k.area_path = s.area_path
			CROSS JOIN LATERAL (SELECT * FROM poverty_rollup_years y WHERE y.key_id = k.id AND y.year <= g.yr ORDER BY y.year DESC LIMIT 1) l
			GROUP BY s.area_path, g.yr),
		have AS (SELECT area_path, year, households::numeric, poor::numeric, near_poor::numeric, average::numeric,
			newly_poor::numeric, escaped::numeric, re_entered::numeric FROM poverty_rollup_commune_years)
		SELECT (SELECT count(*) FROM have), (SELECT count(*) FROM ((TABLE want EXCEPT TABLE have) UNION ALL (TABLE have EXCEPT TABLE want)) x)`).
		Row().Scan(&communeYears, &astray); err != nil {
		t.Fatal(err)
	}
	if communeYears == 0 || astray != 0 {
		t.Fatalf("%d commune year rows, %d differ from their villages' sums", communeYears, astray)
	}
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// nonZero drops the keys without movements (the rows' query has no row for
// them, the rollup's may: both read as zero).
func nonZero(m map[string]movements) map[string]movements {
	out := map[string]movements{}
	for k, v := range m {
		if v != (movements{}) {
			out[k] = v
		}
	}
	return out
}

func nonEmpty(m map[int]map[string]movements) map[int]map[string]movements {
	out := map[int]map[string]movements{}
	for k, v := range m {
		if len(v) > 0 {
			out[k] = v
		}
	}
	return out
}
