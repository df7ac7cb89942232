package report

import (
	"context"
	"time"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/assessment"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// trendCounts are the households of the area's children on each of the
// days, by day and child key, in one pass: each household's classification
// on a day is read from the span of its changes that covers the day (the
// same rule as povertyCounts: the last change by then, else what it was
// before its first, else its current class).
func (s store) trendCounts(ctx context.Context, scope access.Scope, a Area, days []time.Time) (map[time.Time]map[string]povertyCounts, error) {
	params := map[string]any{"area": a.Path, "edition": a.Edition, "days": dateArray(days)}
	q := `WITH days (day) AS (SELECT unnest(CAST(@days AS date[]))),
		spans AS (SELECT household_id, to_class, effective_date AS since,
				lead(effective_date) OVER (PARTITION BY household_id ORDER BY effective_date, created_at) AS until
			FROM classification_changes),
		first AS (SELECT DISTINCT ON (household_id) household_id, from_class FROM classification_changes
			ORDER BY household_id, effective_date, created_at)
		SELECT day, k, count(*), count(*) FILTER (WHERE cls = 'poor'), count(*) FILTER (WHERE cls = 'near_poor'),
			count(*) FILTER (WHERE cls = 'average')
		FROM (SELECT d.day, ` + childKey(a, "h") + ` AS k, coalesce(sp.to_class, f.from_class, h.classification) AS cls
			FROM ` + households(a) + ` h CROSS JOIN days d
			LEFT JOIN spans sp ON sp.household_id = h.id AND sp.since <= d.day AND (sp.until IS NULL OR sp.until > d.day)
			LEFT JOIN first f ON f.household_id = h.id
			WHERE h.area_path <@ (@area)::ltree AND h.established_on <= d.day AND (h.ended_on IS NULL OR h.ended_on > d.day)
			AND ` + scope.Named("h.area_path", "scope", params) + `) x GROUP BY day, k`
	return s.readTrendCounts(ctx, q, params)
}

// trendMovements are the recognized changes effective in each year from
// @from to @to, by year and child key.
func (s store) trendMovements(ctx context.Context, scope access.Scope, a Area, from, to time.Time) (map[int]map[string]movements, error) {
	params := map[string]any{"area": a.Path, "edition": a.Edition, "from": from, "to": to}
	q := `SELECT extract(year FROM c.effective_date)::int, ` + childKey(a, "h") + ` AS k,
		count(*) FILTER (WHERE 'newly_poor' = ANY (c.lists)), count(*) FILTER (WHERE 'escaped_poverty' = ANY (c.lists)),
		count(*) FILTER (WHERE 're_entered_poverty' = ANY (c.lists))
		FROM classification_changes c JOIN ` + households(a) + ` h ON h.id = c.household_id
		WHERE h.area_path <@ (@area)::ltree AND c.effective_date BETWEEN @from AND @to AND ` +
		scope.Named("h.area_path", "scope", params) + ` GROUP BY 1, 2`
	out := map[int]map[string]movements{}
	err := db.Each(s.db.Read(ctx).Raw(q, params), func(r db.Scanner) error {
		var year int
		var k string
		var m movements
		if err := r.Scan(&year, &k, &m.newlyPoor, &m.escaped, &m.reEntered); err != nil {
			return err
		}
		if out[year] == nil {
			out[year] = map[string]movements{}
		}
		out[year][k] = m
		return nil
	})
	return out, err
}

// standardPeriods are the poverty standards' periods and areas ("" for the
// national ones), as the assessments know them.
func (s store) standardPeriods(ctx context.Context) ([]assessment.Standard, error) {
	return db.Collect(s.db.Read(ctx).Raw(`SELECT code, valid_from, valid_to, coalesce(area_path::text, ''), NOT assessable
		FROM poverty_standards ORDER BY valid_from, code`), func(r db.Scanner) (assessment.Standard, error) {
		var st assessment.Standard
		return st, r.Scan(&st.Code, &st.ValidFrom, &st.ValidTo, &st.AreaPath, &st.HistoryOnly)
	})
}

// dateArray is a PostgreSQL date[] literal of days.
func dateArray(days []time.Time) string {
	out := make([]string, len(days))
	for i, d := range days {
		out[i] = d.Format(time.DateOnly)
	}
	return db.TextArray(out)
}
