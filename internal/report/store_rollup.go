package report

import (
	"context"
	"time"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
	"gorm.io/gorm"
)

// The poverty and trend reports of the units in use read the rollup
// (migration 00038): per (commune, village), the counts from each day
// something changed there. A figure on a day is, per key, the last row on or
// before it, one index probe a key; a period's movements are the difference
// of two. Reports of an older edition's units count the rows (store.go),
// where households stood then.

// refreshRollup rebuilds the rollup of the keys under path that changes
// have left dirty, waiting for a rebuild in progress: what the report then
// reads includes every change committed before it. It runs on the primary.
func (s store) refreshRollup(ctx context.Context, path string) error {
	return s.db.Conn(ctx).Exec(`SELECT poverty_rollup_refresh(CAST(? AS ltree), 2147483647, true)`, path).Error
}

// refreshSomeRollup rebuilds the keys of up to limit dirty rows anywhere,
// skipping rows another transaction holds; it returns how many it took.
func (s store) refreshSomeRollup(ctx context.Context, limit int) (int, error) {
	var n int
	err := s.db.Conn(ctx).Raw(`SELECT poverty_rollup_refresh(NULL, ?, false)`, limit).Row().Scan(&n)
	return n, err
}

// levelAt is the SQL of a key k's rollup row on or before the date @name.
func levelAt(name string) string {
	return `(SELECT * FROM poverty_rollup r WHERE r.key_id = k.id
		AND r.day <= CAST(@` + name + ` AS date) ORDER BY r.day DESC LIMIT 1)`
}

// rollupCounts are povertyCounts from the rollup.
func (s store) rollupCounts(ctx context.Context, scope access.Scope, a Area, on time.Time) (map[string]povertyCounts, error) {
	params := map[string]any{"area": a.Path, "date": on.Format(time.DateOnly), "prev": on.AddDate(-1, 0, 0).Format(time.DateOnly)}
	q := `SELECT key, sum(households), sum(poor), sum(near_poor), sum(average), sum(prev_h), sum(prev_p) FROM (
		SELECT ` + childKey(a, "k") + ` AS key, n.households, n.poor, n.near_poor, n.average,
			coalesce(p.households, 0) AS prev_h, coalesce(p.poor, 0) AS prev_p
		FROM poverty_rollup_keys k CROSS JOIN LATERAL ` + levelAt("date") + ` n LEFT JOIN LATERAL ` + levelAt("prev") + ` p ON true
		WHERE k.area_path <@ CAST(@area AS ltree) AND ` + scope.Named("k.area_path", "scope", params) + `) x GROUP BY key`
	return s.readCounts(ctx, q, params)
}

// rollupMovements are the recognized changes effective from @from to @to
// by child key, from the rollup's cumulative counts, for each period given
// by its first and last day; periods are keyed by their index.
func (s store) rollupMovements(ctx context.Context, scope access.Scope, a Area, periods [][2]time.Time) (map[int]map[string]movements, error) {
	params := map[string]any{"area": a.Path}
	var froms, tos []time.Time
	for _, p := range periods {
		froms, tos = append(froms, p[0].AddDate(0, 0, -1)), append(tos, p[1])
	}
	params["befores"], params["tos"] = dateArray(froms), dateArray(tos)
	q := `SELECT i, key, sum(np), sum(es), sum(re) FROM (
		SELECT d.i, ` + childKey(a, "k") + ` AS key, n.newly_poor - coalesce(b.newly_poor, 0) AS np,
			n.escaped - coalesce(b.escaped, 0) AS es, n.re_entered - coalesce(b.re_entered, 0) AS re
		FROM poverty_rollup_keys k CROSS JOIN unnest(CAST(@befores AS date[]), CAST(@tos AS date[])) WITH ORDINALITY AS d (before, upto, i)
		CROSS JOIN LATERAL (SELECT * FROM poverty_rollup r WHERE r.key_id = k.id
			AND r.day <= d.upto ORDER BY r.day DESC LIMIT 1) n
		LEFT JOIN LATERAL (SELECT * FROM poverty_rollup r WHERE r.key_id = k.id
			AND r.day <= d.before ORDER BY r.day DESC LIMIT 1) b ON true
		WHERE k.area_path <@ CAST(@area AS ltree) AND ` + scope.Named("k.area_path", "scope", params) + `) x
		GROUP BY i, key HAVING sum(np) <> 0 OR sum(es) <> 0 OR sum(re) <> 0`
	out := map[int]map[string]movements{}
	err := db.Each(s.db.Read(ctx).Raw(q, params), func(r db.Scanner) error {
		var i int
		var k string
		var m movements
		if err := r.Scan(&i, &k, &m.newlyPoor, &m.escaped, &m.reEntered); err != nil {
			return err
		}
		if out[i-1] == nil {
			out[i-1] = map[string]movements{}
		}
		out[i-1][k] = m
		return nil
	})
	return out, err
}

// rollupLevels are the levels of the area's children on each of the days:
// for a province or a district, the year ends from the communes' year rows
// (migration 00040: one row a commune and year, by equality) and any other
// day from the keys' (keyLevels); for a commune, whose children are its
// villages, all from the keys'.
func (s store) rollupLevels(ctx context.Context, scope access.Scope, a Area, days []time.Time) (map[time.Time]map[string]*level, error) {
	out := map[time.Time]map[string]*level{}
	var ends, others []time.Time
	for _, d := range days {
		if a.Level != "commune" && d.Month() == time.December && d.Day() == 31 {
			ends = append(ends, d)
		} else {
			others = append(others, d)
		}
	}
	if len(ends) > 0 {
		if err := s.communeLevels(ctx, scope, a, ends, out); err != nil {
			return nil, err
		}
	}
	if len(others) > 0 {
		if err := s.keyLevels(ctx, scope, a, others, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// communeLevels are the levels of the area's children at the year ends
// days, from the communes' year rows: a commune's row of that year, or,
// past its last year, its last row (its figures stay those).
func (s store) communeLevels(ctx context.Context, scope access.Scope, a Area, days []time.Time, out map[time.Time]map[string]*level) error {
	years := make([]int, len(days))
	for i, d := range days {
		years[i] = d.Year()
	}
	params := map[string]any{"area": a.Path, "days": dateArray(days), "years": db.IntArray(years)}
	in := `c.area_path <@ CAST(@area AS ltree) AND ` + scope.Named("c.area_path", "scope", params)
	q := `WITH d (day, yr) AS (SELECT * FROM unnest(CAST(@days AS date[]), CAST(@years AS integer[]))),
		c AS (SELECT d.day, c.* FROM poverty_rollup_commune_years c JOIN d ON d.yr = c.year WHERE ` + in + `
			UNION ALL
			SELECT d.day, c.* FROM (SELECT DISTINCT ON (c.area_path) c.* FROM poverty_rollup_commune_years c WHERE ` + in + `
				ORDER BY c.area_path, c.year DESC) c JOIN d ON d.yr > c.year)
		SELECT c.day, ` + childKey(a, "c") + `, sum(c.households), sum(c.poor), sum(c.near_poor), sum(c.average),
			sum(c.newly_poor), sum(c.escaped), sum(c.re_entered)
		FROM c GROUP BY 1, 2`
	return readLevels(s.db.Read(ctx).Raw(q, params), out)
}

// keyLevels are the levels of the area's children on each of the days,
// from the rollup's year rows (migration 00039): a key's figure on a day is
// its latest year row at or before the day's year (one probe of the small
// year table a key and day), unless that row lies after the day (a day
// inside a year with later changes, such as today with a change dated
// ahead): then the key's last rollup row on or before the day. The sums are
// made in the database: a row per child and day comes back.
func (s store) keyLevels(ctx context.Context, scope access.Scope, a Area, days []time.Time, out map[time.Time]map[string]*level) error {
	years := make([]int, len(days))
	for i, d := range days {
		years[i] = d.Year()
	}
	params := map[string]any{"area": a.Path, "days": dateArray(days), "years": db.IntArray(years)}
	q := `WITH d (day, yr) AS (SELECT * FROM unnest(CAST(@days AS date[]), CAST(@years AS integer[])))
		SELECT d.day, ` + childKey(a, "k") + `, sum(n.households), sum(n.poor), sum(n.near_poor), sum(n.average),
			sum(n.newly_poor), sum(n.escaped), sum(n.re_entered)
		FROM poverty_rollup_keys k CROSS JOIN d
		CROSS JOIN LATERAL (SELECT * FROM poverty_rollup_years y WHERE y.key_id = k.id AND y.year <= d.yr
			ORDER BY y.year DESC LIMIT 1) y
		CROSS JOIN LATERAL (
			SELECT y.households, y.poor, y.near_poor, y.average, y.newly_poor, y.escaped, y.re_entered WHERE y.day <= d.day
			UNION ALL (SELECT r.households, r.poor, r.near_poor, r.average, r.newly_poor, r.escaped, r.re_entered
				FROM poverty_rollup r WHERE y.day > d.day AND r.key_id = k.id AND r.day <= d.day ORDER BY r.day DESC LIMIT 1)) n
		WHERE k.area_path <@ CAST(@area AS ltree) AND ` + scope.Named("k.area_path", "scope", params) + `
		GROUP BY 1, 2`
	return readLevels(s.db.Read(ctx).Raw(q, params), out)
}

// readLevels reads a levels query (day, child key, counts, cumulative
// movements) into out.
func readLevels(q *gorm.DB, out map[time.Time]map[string]*level) error {
	return db.Each(q, func(r db.Scanner) error {
		var day time.Time
		var k string
		var l level
		if err := r.Scan(&day, &k, &l.counts.households, &l.counts.poor, &l.counts.nearPoor, &l.counts.avg,
			&l.moves.newlyPoor, &l.moves.escaped, &l.moves.reEntered); err != nil {
			return err
		}
		day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
		if out[day] == nil {
			out[day] = map[string]*level{}
		}
		out[day][k] = &l
		return nil
	})
}

// readCounts reads a povertyCounts query: child key, then the counts on the
// date and a year before.
func (s store) readCounts(ctx context.Context, q string, params map[string]any) (map[string]povertyCounts, error) {
	out := map[string]povertyCounts{}
	err := db.Each(s.db.Read(ctx).Raw(q, params), func(r db.Scanner) error {
		var k string
		var c povertyCounts
		if err := r.Scan(&k, &c.households, &c.poor, &c.nearPoor, &c.avg, &c.prevHouseholds, &c.prevPoor); err != nil {
			return err
		}
		out[k] = c
		return nil
	})
	return out, err
}

// readTrendCounts reads a trend counts query: day, child key, then the
// counts on that day.
func (s store) readTrendCounts(ctx context.Context, q string, params map[string]any) (map[time.Time]map[string]povertyCounts, error) {
	out := map[time.Time]map[string]povertyCounts{}
	err := db.Each(s.db.Read(ctx).Raw(q, params), func(r db.Scanner) error {
		var day time.Time
		var k string
		var c povertyCounts
		if err := r.Scan(&day, &k, &c.households, &c.poor, &c.nearPoor, &c.avg); err != nil {
			return err
		}
		day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
		if out[day] == nil {
			out[day] = map[string]povertyCounts{}
		}
		out[day][k] = c
		return nil
	})
	return out, err
}

// rollupBacklog is how many dirty rows wait for a rebuild (the span of
// their ids, as scanBacklog).
func (s store) rollupBacklog(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.Conn(ctx).Raw(`SELECT coalesce((SELECT max(id) FROM poverty_rollup_dirty) - (SELECT min(id) FROM poverty_rollup_dirty) + 1, 0)`).
		Row().Scan(&n)
	return n, err
}
