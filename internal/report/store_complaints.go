package report

import (
	"context"
	"time"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// complaintCounts are the complaints of the area's children over a period,
// by child key and what they are about: received in the period, accepted,
// not accepted and settled in it with their outcomes, the days from
// acceptance to decision summed over those settled, and those open on the
// period's end past their limit (as they stood that day: accepted or
// settled only later; an appealed one is closed from its appeal on).
func (s store) complaintCounts(ctx context.Context, scope access.Scope, a Area, from, to time.Time) (map[[2]string][]int64, error) {
	params := map[string]any{"area": a.Path, "edition": a.Edition, "from": from, "to": to}
	q := `SELECT ` + childKey(a, "h") + `, c.subject_kind,
		count(*) FILTER (WHERE c.received_on BETWEEN @from AND @to),
		count(*) FILTER (WHERE c.accepted_on BETWEEN @from AND @to),
		count(*) FILTER (WHERE c.state = 'not_accepted' AND c.received_on BETWEEN @from AND @to),
		count(*) FILTER (WHERE c.decided_on BETWEEN @from AND @to),
		count(*) FILTER (WHERE c.decided_on BETWEEN @from AND @to AND c.outcome = 'upheld'),
		count(*) FILTER (WHERE c.decided_on BETWEEN @from AND @to AND c.outcome = 'partly_upheld'),
		count(*) FILTER (WHERE c.decided_on BETWEEN @from AND @to AND c.outcome = 'rejected'),
		coalesce(sum(c.decided_on - c.accepted_on) FILTER (WHERE c.decided_on BETWEEN @from AND @to), 0),
		count(*) FILTER (WHERE c.received_on <= @to AND (c.accept_by < @to AND (c.accepted_on IS NULL OR c.accepted_on > @to)
			AND c.state <> 'not_accepted' OR c.accepted_on <= @to AND c.settle_by < @to AND (c.decided_on IS NULL OR c.decided_on > @to))
			AND NOT EXISTS (SELECT 1 FROM complaints ap WHERE ap.appeal_of = c.id AND ap.received_on <= @to))
		FROM complaints c JOIN ` + households(a) + ` h ON h.id = c.household_id
		WHERE h.area_path <@ (@area)::ltree AND ` + scope.Named("h.area_path", "scope", params) + ` GROUP BY 1, 2`
	out := map[[2]string][]int64{}
	err := db.Each(s.db.Read(ctx).Raw(q, params), func(r db.Scanner) error {
		var k, kind string
		v := make([]int64, 9)
		if err := r.Scan(&k, &kind, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]); err != nil {
			return err
		}
		out[[2]string{k, kind}] = v
		return nil
	})
	return out, err
}
