package report

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// store holds every SQL statement of the reports. Reads go to a replica when
// one serves (db.Read): reports tolerate replication lag.
type store struct{ db *db.DB }

// childKey is the SQL grouping a row of table alias t (households h, budgets
// b) under the area's children: districts of a province, communes of a
// district, villages of a commune (households only).
func childKey(a Area, t string) string {
	if a.Level == "commune" {
		return t + ".village"
	}
	return fmt.Sprintf("subpath(%s.area_path, 0, %d)::text", t, strings.Count(a.Path, ".")+2)
}

// households is the relation of the households as they stood under the
// units of a's edition: the table itself for the edition in use; for an
// older one, each household that was under it with the commune and path it
// had there (its move in the reorganization from that edition), so that a
// year before the reform can be shown under the old units as they were.
// Households registered after the reform had no unit then and are not in it.
// The query's parameters need @edition.
func households(a Area) string {
	if !a.Past {
		return "households"
	}
	return `(SELECT h.id, h.code, h.village, h.address, h.status, h.classification, h.created_at, h.updated_at, h.area_type,
		h.established_on, h.ended_on,
		r.from_edition AS commune_edition, m.from_code AS commune_code, o.path AS area_path
		FROM households h JOIN reorganization_moves m ON m.household_id = h.id
		JOIN reorganizations r ON r.id = m.reorganization_id AND r.from_edition = @edition
		JOIN areas o ON o.edition = r.from_edition AND o.code = m.from_code)`
}

// classAt is the SQL of a household's classification on a date ($date): the
// last recognized change by then, else what it was before its first change,
// else its current one.
const classAt = `coalesce(
	(SELECT c.to_class FROM classification_changes c WHERE c.household_id = h.id AND c.effective_date <= @date
	 ORDER BY c.effective_date DESC, c.created_at DESC LIMIT 1),
	(SELECT c.from_class FROM classification_changes c WHERE c.household_id = h.id ORDER BY c.effective_date, c.created_at LIMIT 1),
	h.classification)`

// activeAt limits households to those in existence on the date, by valid
// time: established by then and not ended by then (an ended household is
// gone from its end date on).
const activeAt = `h.established_on <= @date AND (h.ended_on IS NULL OR h.ended_on > @date)`

// povertyCounts are the households of the area's children on a date and on
// the same date a year before, by child key.
func (s store) povertyCounts(ctx context.Context, scope access.Scope, a Area, on time.Time) (map[string]povertyCounts, error) {
	prevDate := on.AddDate(-1, 0, 0)
	params := map[string]any{"area": a.Path, "edition": a.Edition, "date": on, "next": nextDay(on), "prev": prevDate, "pnext": nextDay(prevDate)}
	// One pass over the households gives both dates: each household's
	// classification on a date is its last recognized change by then, else
	// what it was before its first change, else its current one. The changes
	// are few beside the households: they are picked once and hash-joined.
	q := `WITH last_now AS (SELECT DISTINCT ON (household_id) household_id, to_class FROM classification_changes
			WHERE effective_date <= @date ORDER BY household_id, effective_date DESC, created_at DESC),
		last_prev AS (SELECT DISTINCT ON (household_id) household_id, to_class FROM classification_changes
			WHERE effective_date <= @prev ORDER BY household_id, effective_date DESC, created_at DESC),
		first AS (SELECT DISTINCT ON (household_id) household_id, from_class FROM classification_changes
			ORDER BY household_id, effective_date, created_at)
		SELECT k, count(*) FILTER (WHERE now_active), count(*) FILTER (WHERE now_active AND cls_now = 'poor'),
			count(*) FILTER (WHERE now_active AND cls_now = 'near_poor'), count(*) FILTER (WHERE now_active AND cls_now = 'average'),
			count(*) FILTER (WHERE prev_active), count(*) FILTER (WHERE prev_active AND cls_prev = 'poor')
		FROM (SELECT ` + childKey(a, "h") + ` AS k,
				h.established_on <= @date AND (h.ended_on IS NULL OR h.ended_on > @date) AS now_active,
				h.established_on <= @prev AND (h.ended_on IS NULL OR h.ended_on > @prev) AS prev_active,
				coalesce(ln.to_class, f.from_class, h.classification) AS cls_now,
				coalesce(lp.to_class, f.from_class, h.classification) AS cls_prev
			FROM ` + households(a) + ` h LEFT JOIN last_now ln ON ln.household_id = h.id LEFT JOIN last_prev lp ON lp.household_id = h.id
			LEFT JOIN first f ON f.household_id = h.id
			WHERE h.area_path <@ (@area)::ltree AND h.established_on <= @date AND ` + scope.Named("h.area_path", "scope", params) + `) x GROUP BY k`
	return s.readCounts(ctx, q, params)
}

// movements are the recognized changes effective in the date's year up to
// it, by child key.
func (s store) movements(ctx context.Context, scope access.Scope, a Area, on time.Time) (map[string]movements, error) {
	params := map[string]any{"area": a.Path, "edition": a.Edition, "from": time.Date(on.Year(), 1, 1, 0, 0, 0, 0, time.UTC), "date": on}
	q := `SELECT ` + childKey(a, "h") + ` AS k, count(*) FILTER (WHERE 'newly_poor' = ANY (c.lists)),
		count(*) FILTER (WHERE 'escaped_poverty' = ANY (c.lists)), count(*) FILTER (WHERE 're_entered_poverty' = ANY (c.lists))
		FROM classification_changes c JOIN ` + households(a) + ` h ON h.id = c.household_id
		WHERE h.area_path <@ (@area)::ltree AND c.effective_date BETWEEN @from AND @date AND ` +
		scope.Named("h.area_path", "scope", params) + ` GROUP BY 1`
	out := map[string]movements{}
	err := db.Each(s.db.Read(ctx).Raw(q, params), func(r db.Scanner) error {
		var k string
		var m movements
		if err := r.Scan(&k, &m.newlyPoor, &m.escaped, &m.reEntered); err != nil {
			return err
		}
		out[k] = m
		return nil
	})
	return out, err
}

// childNames are the names of an area's child areas by their path (villages
// of a commune are their own names).
func (s store) childNames(ctx context.Context, a Area) (map[string]string, error) {
	if a.Level == "commune" {
		return map[string]string{}, nil
	}
	return s.db.StringMap(ctx, `SELECT path::text, name FROM areas WHERE edition = ? AND parent_code = ?`, a.Edition, a.Code)
}

// supportQuery is one of the support report's queries: program, child key,
// then n figures that set sets on the row.
type supportQuery struct {
	sql string
	n   int
	set func(r *SupportRow, v []int64)
}

// supportEnrolled are the enrollments live in the period from @from to @to
// of the households in @area, each with the people it supports (m: the
// household's present members, when the household is enrolled rather than
// one member); the scope's condition follows.
func supportEnrolled(a Area) string {
	return `FROM enrollments e JOIN ` + households(a) + ` h ON h.id = e.household_id
	LEFT JOIN members m ON e.member_id IS NULL AND m.household_id = e.household_id AND m.status = 'present'
	WHERE h.area_path <@ (@area)::ltree AND e.state IN ('approved', 'ended') AND e.starts_on <= @to
	AND coalesce(e.ended_on, e.ends_on, @to) >= @from AND `
}

// supportReached counts the households and the people supportEnrolled reach,
// each once.
const supportReached = `count(DISTINCT e.household_id), count(DISTINCT coalesce(e.member_id, m.id))`

// supportReach is how many households and people the area's enrollments live
// in the period supported, each counted once however many programs supported
// them.
func (s store) supportReach(ctx context.Context, scope access.Scope, a Area, from, to time.Time) (Reach, error) {
	params := map[string]any{"area": a.Path, "edition": a.Edition, "from": from, "to": to}
	var r Reach
	err := s.db.Read(ctx).Raw(`SELECT `+supportReached+` `+supportEnrolled(a)+scope.Named("h.area_path", "scope", params), params).
		Row().Scan(&r.Households, &r.People)
	return r, err
}

// supportQueries are the support report's queries over the area's children
// from @from to @to, the scope's condition added to params.
func supportQueries(scope access.Scope, a Area, params map[string]any) []supportQuery {
	key, cond := childKey(a, "h"), scope.Named("h.area_path", "scope", params)
	queries := []supportQuery{
		// Enrollments live in the period: households and people.
		{`SELECT e.program_code, ` + key + `, ` + supportReached + ` ` + supportEnrolled(a) + cond + ` GROUP BY 1, 2`,
			2, func(r *SupportRow, v []int64) { r.Households, r.People = v[0], v[1] }},
		// Deliveries in the period, with the kinds' own figures.
		{`SELECT e.program_code, ` + key + `,
			coalesce(sum(d.amount) FILTER (WHERE d.kind <> 'loan' OR d.details->>'event' = 'disbursement'), 0),
			count(*) FILTER (WHERE d.kind = 'housing' AND d.details->>'milestone' = 'started'),
			count(*) FILTER (WHERE d.kind = 'housing' AND d.details->>'milestone' IN ('completed', 'handed_over')
				AND NOT EXISTS (SELECT 1 FROM deliveries d2 WHERE d2.enrollment_id = d.enrollment_id AND d2.kind = 'housing'
				AND d2.details->>'milestone' IN ('completed', 'handed_over') AND (d2.occurred_on, d2.id) < (d.occurred_on, d.id))),
			count(DISTINCT d.enrollment_id) FILTER (WHERE d.kind = 'vocational_training'),
			count(*) FILTER (WHERE d.kind = 'vocational_training' AND d.details->>'outcome' = 'completed'),
			coalesce(sum(d.amount) FILTER (WHERE d.kind = 'loan' AND d.details->>'event' = 'disbursement'), 0)
			FROM deliveries d JOIN enrollments e ON e.id = d.enrollment_id JOIN ` + households(a) + ` h ON h.id = e.household_id
			WHERE h.area_path <@ (@area)::ltree AND d.occurred_on BETWEEN @from AND @to AND ` + cond + ` GROUP BY 1, 2`,
			6, func(r *SupportRow, v []int64) {
				r.Delivered, r.HousesStarted, r.HousesCompleted, r.Trainees, r.TrainingsCompleted, r.LoansDisbursed = v[0], v[1], v[2], v[3], v[4], v[5]
			}},
		// Loans outstanding at the end of the period: each loan's latest balance.
		{`SELECT e.program_code, ` + key + `, coalesce(sum(last.balance), 0)
			FROM enrollments e JOIN ` + households(a) + ` h ON h.id = e.household_id
			JOIN LATERAL (SELECT (d.details->>'outstanding_balance')::bigint AS balance FROM deliveries d
				WHERE d.enrollment_id = e.id AND d.kind = 'loan' AND d.occurred_on <= @to ORDER BY d.occurred_on DESC, d.id DESC LIMIT 1) last ON true
			WHERE h.area_path <@ (@area)::ltree AND ` + cond + ` GROUP BY 1, 2`,
			1, func(r *SupportRow, v []int64) { r.LoansOutstanding = v[0] }},
	}
	if a.Level == "commune" { // budgets are per area, not per village
		return queries
	}
	// Budgets of the child areas themselves for the period's years, and what
	// approved enrollments committed of them. Budgets nest (an enrollment
	// counts against each budget above it), so only the children's own are
	// summed: a district report shows its communes' budgets, not those of
	// villages or of the district itself. The scope applies to the budget's
	// own area.
	return append(queries, supportQuery{`SELECT b.program_code, ` + childKey(a, "b") + `, sum(b.amount),
			sum((SELECT coalesce(sum(e.amount), 0) FROM enrollments e WHERE e.program_code = b.program_code AND e.area_path <@ b.area_path
				AND e.state IN ('approved', 'ended') AND e.starts_on >= make_date(b.year, 1, 1) AND e.starts_on < make_date(b.year + 1, 1, 1)))
			FROM program_budgets b WHERE b.area_edition = @edition AND b.area_path <@ (@area)::ltree AND nlevel(b.area_path) = nlevel((@area)::ltree) + 1
			AND b.year BETWEEN @y0 AND @y1 AND ` + scope.Named("b.area_path", "scope", params) + ` GROUP BY 1, 2`,
		2, func(r *SupportRow, v []int64) { r.Allocated, r.Committed = v[0], v[1] }})
}

// support is the support figures of the area's children over a period, by
// program and child key (names not set).
func (s store) support(ctx context.Context, scope access.Scope, a Area, from, to time.Time) (map[[2]string]*SupportRow, error) {
	params := map[string]any{"area": a.Path, "edition": a.Edition, "from": from, "to": to, "y0": from.Year(), "y1": to.Year()}
	out := map[[2]string]*SupportRow{}
	for _, q := range supportQueries(scope, a, params) {
		err := db.Each(s.db.Read(ctx).Raw(q.sql, params), func(r db.Scanner) error {
			var p, k string
			vals := make([]int64, q.n)
			dest := []any{&p, &k}
			for i := range vals {
				dest = append(dest, &vals[i])
			}
			if err := r.Scan(dest...); err != nil {
				return err
			}
			row := out[[2]string{p, k}]
			if row == nil {
				row = &SupportRow{Program: p, Key: k}
				out[[2]string{p, k}] = row
			}
			q.set(row, vals)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// setTarget records (or replaces) a target of the area, returning its id and
// version.
func (s store) setTarget(ctx context.Context, a Area, t Target) (Target, error) {
	actor := access.ActorID(ctx)
	err := s.db.Conn(ctx).Raw(`INSERT INTO report_targets (id, area_edition, area_code, area_path, metric, year, value, description, created_by, updated_by)
		VALUES (?, ?, ?, ?::ltree, ?, ?, ?, ?, ?, ?) ON CONFLICT (area_edition, area_code, metric, year) DO UPDATE SET value = excluded.value,
		description = excluded.description, version = report_targets.version + 1, updated_by = excluded.updated_by, updated_at = now()
		RETURNING id, version`, uuid.Must(uuid.NewV7()), a.Edition, a.Code, a.Path, t.Metric, t.Year, t.Value, t.Description, actor, actor).
		Row().Scan(&t.ID, &t.Version)
	return t, err
}

// targets are an area's targets by year and metric.
func (s store) targets(ctx context.Context, a Area) ([]Target, error) {
	return db.Collect(s.db.Read(ctx).Raw(`SELECT id, area_code, metric, year, value::float8, description, version FROM report_targets
		WHERE area_edition = ? AND area_code = ? ORDER BY year, metric`, a.Edition, a.Code), func(r db.Scanner) (Target, error) {
		var t Target
		err := r.Scan(&t.ID, &t.AreaCode, &t.Metric, &t.Year, &t.Value, &t.Description, &t.Version)
		return t, err
	})
}

// listQuery is the SQL of an official list: each row the household's id,
// then the list's columns after the running number.
func listQuery(kind, cond string) string {
	head := `coalesce((SELECT m.full_name FROM members m WHERE m.household_id = h.id AND m.relationship = 'head' AND m.status = 'present'
		LIMIT 1), '')`
	// Members on the date: present, or gone (moved out, died) only after it;
	// a record merged into another person's never counts.
	size := `(SELECT count(*) FROM members m WHERE m.household_id = h.id AND m.status <> 'merged'
		AND (m.status = 'present' OR m.status_date > @date) AND (m.arrived_on IS NULL OR m.arrived_on <= @date))`
	switch kind {
	case "poor", "near_poor":
		// The decision in force on the date: that of the last change by then.
		return `SELECT h.id, h.code, ` + head + `, h.village, a.name, h.address, ` + size + `,
			coalesce((SELECT c.decision_number FROM classification_changes c WHERE c.household_id = h.id AND c.effective_date <= @date
				ORDER BY c.effective_date DESC, c.created_at DESC LIMIT 1), '')
			FROM (SELECT h.*, ` + classAt + ` AS cls FROM households h WHERE h.area_path <@ (@area)::ltree AND ` + activeAt + ` AND ` +
			cond + `) h JOIN areas a ON a.edition = h.commune_edition AND a.code = h.commune_code WHERE h.cls = @kind ORDER BY a.name, h.village, h.code`
	case "enrollees":
		return `SELECT h.id, h.code, ` + head + `, coalesce(mb.full_name, 'Cả hộ'), h.village, a.name, to_char(e.starts_on, 'DD/MM/YYYY'), e.amount
			FROM enrollments e JOIN households h ON h.id = e.household_id JOIN areas a ON a.edition = h.commune_edition AND a.code = h.commune_code
			LEFT JOIN members mb ON mb.id = e.member_id
			WHERE e.program_code = @program AND e.state IN ('approved', 'ended') AND e.starts_on <= @date
			AND coalesce(e.ended_on, e.ends_on, @date) >= @date AND h.area_path <@ (@area)::ltree AND ` + cond + `
			ORDER BY a.name, h.village, h.code, mb.full_name`
	}
	return `SELECT h.id, h.code, ` + head + `, h.village, a.name, c.from_class, c.to_class, c.decision_number,
			to_char(c.effective_date, 'DD/MM/YYYY')
			FROM classification_changes c JOIN households h ON h.id = c.household_id JOIN areas a ON a.edition = h.commune_edition AND a.code = h.commune_code
			WHERE @kind = ANY (c.lists) AND c.effective_date BETWEEN @from AND @date AND h.area_path <@ (@area)::ltree AND ` +
		cond + ` ORDER BY a.name, h.village, h.code`
}

// list runs an official list of the area on a date: the households it names
// and, for each, its width cells (as the driver returns them).
func (s store) list(ctx context.Context, scope access.Scope, kind string, a Area, on time.Time, program string, width int) ([]uuid.UUID, [][]any, error) {
	params := map[string]any{"area": a.Path, "date": on, "next": nextDay(on),
		"from": time.Date(on.Year(), 1, 1, 0, 0, 0, 0, time.UTC), "kind": kind, "program": program}
	q := listQuery(kind, scope.Named("h.area_path", "scope", params))
	var ids []uuid.UUID
	var rows [][]any
	err := db.Each(s.db.Read(ctx).Raw(q, params), func(r db.Scanner) error {
		var id uuid.UUID
		vals := make([]any, width)
		dest := []any{&id}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := r.Scan(dest...); err != nil {
			return err
		}
		ids, rows = append(ids, id), append(rows, vals)
		return nil
	})
	return ids, rows, err
}

// userFullName is a user's full name ("" for none).
func (s store) userFullName(ctx context.Context, id uuid.UUID) (string, error) {
	var full string
	err := s.db.Read(ctx).Raw(`SELECT full_name FROM users WHERE id = ?`, id).Scan(&full).Error
	return full, db.MapError(err)
}

// designationCounts are the designations of the area's edition in the area
// in force on each of two dates, by label (the kind, with the zone).
func (s store) designationCounts(ctx context.Context, scope access.Scope, a Area, from, on time.Time) (map[string][2]int64, error) {
	params := map[string]any{"area": a.Path, "edition": a.Edition, "from": from, "date": on}
	q := `SELECT kind || coalesce('_' || zone, ''),
			count(*) FILTER (WHERE valid_from <= @from AND (valid_to IS NULL OR valid_to >= @from)),
			count(*) FILTER (WHERE valid_from <= @date AND (valid_to IS NULL OR valid_to >= @date))
		FROM area_designations WHERE area_edition = @edition AND area_path <@ (@area)::ltree AND ` +
		scope.Named("area_path", "scope", params) + ` GROUP BY 1`
	out := map[string][2]int64{}
	err := db.Each(s.db.Read(ctx).Raw(q, params), func(r db.Scanner) error {
		var label string
		var n [2]int64
		err := r.Scan(&label, &n[0], &n[1])
		out[label] = n
		return err
	})
	return out, err
}
