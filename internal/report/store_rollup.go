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

// rollupLevels are the levels of the area's children on each of the days:
// for a province or a district, the year ends from the communes' year rows
// (migration 00040: one row a commune and year, by equality) and any other
// day from the keys' (keyLevels); for a commune, whose children are its
// villages, all from the keys'.
func (s store) rollupLevels(ctx context.Context, scope access.Scope, a Area, days []time.Time) (map[time.Time]map[string]*level, error) {
	out := map[time.Time]map[string]*level{}
	var ends, others []time.Time
	seen := map[time.Time]bool{} // a day asked twice would be summed twice
	for _, d := range days {
		if seen[d] {
			continue
		}
		seen[d] = true
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
	params := levelParams(a, days)
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
	params := levelParams(a, days)
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

// levelParams are a levels query's parameters: the area, and the days with
// their years side by side.
func levelParams(a Area, days []time.Time) map[string]any {
	years := make([]int, len(days))
	for i, d := range days {
		years[i] = d.Year()
	}
	return map[string]any{"area": a.Path, "days": dateArray(days), "years": db.IntArray(years)}
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
