package inbox

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// store holds the inbox's SQL: one SELECT a kind, all of the same columns,
// joined with UNION ALL for the kinds the caller may see.
type store struct{ db *db.DB }

// query is what an inbox reads: the kinds with their scopes, the caller
// (whose imports are theirs), today and the filter.
type query struct {
	scopes map[string]access.Scope
	owner  string
	today  time.Time
	filter Filter
	within bool // the work below the scope's areas, whoever acts on it (a supervisor's summary)
}

// kindQuery is a kind's SELECT: kind, subject type and id, the subject's
// parent (the review of an objection, the reorganization of a move), the
// household's id and code, the commune's code, since (timestamptz), due
// (date) and a detail; {scope} is where the scope's condition on the
// columns goes (none for a kind that is the caller's own), {exact} where the
// first column must be one of the scope's areas itself. The routes that act
// are made in Go (actionOf): the SQL stays lean where a commune has
// thousands of items.
type kindQuery struct {
	sql     string
	columns []string // each gets the scope's condition (both sides of a join: the planner then narrows both by their index)
}

// manyKinds are those a commune may have thousands of, read in order from
// an index: their page and their counts are read apart. Another kind's rows
// are read once for both.
var manyKinds = map[string]bool{"duplicate_candidate": true}

// kindSQL are the kinds' SELECTs.
var kindSQL = map[string]kindQuery{
	"regular_review_due": {`SELECT 'regular_review_due', 'review', r.id, NULL::uuid, r.household_id, h.code, r.commune_code,
		coalesce(r.requested_on::timestamptz, r.created_at), r.decide_by, ''
		FROM reviews r LEFT JOIN households h ON h.id = r.household_id
		WHERE r.kind = 'regular' AND r.state IN ('open', 'surveying', 'meeting_recorded', 'posted') AND {scope}`, []string{"r.area_path"}},
	"review_returned": {`SELECT 'review_returned', 'review', r.id, NULL::uuid, r.household_id, h.code, r.commune_code, r.updated_at,
		r.decide_by, r.kind FROM reviews r LEFT JOIN households h ON h.id = r.household_id WHERE r.state = 'returned' AND {scope}`, []string{"r.area_path"}},
	"objection_open": {`SELECT 'objection_open', 'objection', o.id, r.id, o.household_id, h.code, r.commune_code, o.raised_on::timestamptz,
		r.posting_end, left(o.content, 200)
		FROM review_objections o JOIN reviews r ON r.id = o.review_id LEFT JOIN households h ON h.id = o.household_id
		WHERE o.outcome IS NULL AND r.state <> 'recognized' AND {scope}`, []string{"r.area_path"}},
	// A commune may have thousands: no join (the duplicates list has the people).
	"duplicate_candidate": {`SELECT 'duplicate_candidate', 'duplicate', d.id, NULL::uuid, NULL::uuid, NULL::text,
		subpath(d.area_path, -1)::text, d.created_at, NULL::date, d.reason
		FROM duplicate_candidates d WHERE d.status = 'open' AND {scope}`, []string{"d.area_path"}},
	"enrollment_returned": {`SELECT 'enrollment_returned', 'enrollment', e.id, NULL::uuid, e.household_id, NULL::text,
		subpath(e.area_path, -1)::text, e.updated_at, NULL::date, e.program_code
		FROM enrollments e WHERE e.state = 'returned' AND {scope}`, []string{"e.area_path"}},
	"card_expiring": {`SELECT 'card_expiring', 'enrollment', e.id, NULL::uuid, e.household_id, NULL::text, subpath(d.area_path, -1)::text,
		(d.expires_on - 30)::timestamptz, d.expires_on, e.program_code
		FROM deliveries d JOIN enrollments e ON e.id = d.enrollment_id
		WHERE d.kind = 'health_insurance' AND d.expires_on BETWEEN CAST(@today AS date) AND CAST(@today AS date) + 30 AND e.state = 'approved'
		AND (e.ends_on IS NULL OR e.ends_on > d.expires_on)
		AND NOT EXISTS (SELECT 1 FROM deliveries n WHERE n.enrollment_id = d.enrollment_id AND n.kind = 'health_insurance'
			AND (n.expires_on, n.id) > (d.expires_on, d.id)) AND {scope}`, []string{"d.area_path", "e.area_path"}},
	"reorganization_decision": {`SELECT 'reorganization_decision', 'household', m.household_id, r.id, m.household_id, h.code, m.from_code,
		r.started_at, NULL::date, m.from_code
		FROM reorganizations r JOIN reorganization_moves m ON m.reorganization_id = r.id AND m.to_code IS NULL
		JOIN households h ON h.id = m.household_id
		WHERE EXISTS (SELECT 1 FROM area_successions s JOIN areas a ON a.edition = s.to_edition AND a.code = s.to_code
			WHERE s.from_edition = r.from_edition AND s.from_code = m.from_code AND s.to_edition = r.to_edition AND {scope})`, []string{"a.path"}},
	"review_submitted": {`SELECT 'review_submitted', 'review', r.id, NULL::uuid, r.household_id, h.code, r.commune_code, r.updated_at,
		r.decide_by, r.kind FROM reviews r LEFT JOIN households h ON h.id = r.household_id WHERE r.state = 'submitted' AND {scope}`, []string{"r.area_path"}},
	"enrollment_proposed": {`SELECT 'enrollment_proposed', 'enrollment', e.id, NULL::uuid, e.household_id, NULL::text,
		subpath(e.area_path, -1)::text, e.updated_at, NULL::date, e.program_code
		FROM enrollments e WHERE e.state = 'proposed' AND {scope}`, []string{"e.area_path"}},
	"enrollment_flagged": {`SELECT 'enrollment_flagged', 'enrollment', e.id, NULL::uuid, e.household_id, NULL::text,
		subpath(e.area_path, -1)::text, e.flagged_on::timestamptz, NULL::date, e.flag_reason
		FROM enrollments e WHERE e.state = 'approved' AND e.flagged_on IS NOT NULL AND {scope}`, []string{"e.area_path"}},
	"enrollment_past_end": {`SELECT 'enrollment_past_end', 'enrollment', e.id, NULL::uuid, e.household_id, NULL::text,
		subpath(e.area_path, -1)::text, (e.ends_on + 1)::timestamptz, e.ends_on, e.program_code
		FROM enrollments e WHERE e.state = 'approved' AND e.flagged_on IS NULL AND e.ends_on < CAST(@today AS date) AND {scope}`, []string{"e.area_path"}},
	// Complaints, at the level that handles them.
	"complaint_to_accept": {`SELECT 'complaint_to_accept', 'complaint', c.id, NULL::uuid, c.household_id, NULL::text,
		subpath(c.area_path, -1)::text, c.received_on::timestamptz, c.accept_by, c.reference
		FROM complaints c WHERE c.state = 'received' AND NOT EXISTS (SELECT 1 FROM complaints a WHERE a.appeal_of = c.id)
		AND {exact}`, []string{"c.handler_path"}},
	"complaint_to_settle": {`SELECT 'complaint_to_settle', 'complaint', c.id, NULL::uuid, c.household_id, NULL::text,
		subpath(c.area_path, -1)::text, c.accepted_on::timestamptz, c.settle_by, c.reference
		FROM complaints c WHERE c.state = 'accepted' AND NOT EXISTS (SELECT 1 FROM complaints a WHERE a.appeal_of = c.id)
		AND {exact}`, []string{"c.handler_path"}},
	// A user's own imports, finished with problems in the last 30 days.
	"import_problems": {`SELECT 'import_problems', 'import', j.id, NULL::uuid, NULL::uuid, NULL::text, NULL::text, j.finished_at, NULL::date,
		j.file_name FROM import_jobs j WHERE j.owner = @owner AND j.problem_count > 0 AND j.finished_at > now() - interval '30 days'`, nil},
}

// branches are the filtered SELECTs of the kinds the query may see, each
// with its order key and whether it is overdue, in the kinds' order, and
// their parameters.
func branches(q query) ([]string, map[string]any) {
	params := map[string]any{}
	var out []string
	for i, k := range Kinds {
		if _, ok := q.scopes[k.Name]; ok {
			out = append(out, branch(q, i, params))
		}
	}
	return out, params
}

// branch is the filtered SELECT of the ith kind, its parameters added to
// params.
func branch(q query, i int, params map[string]any) string {
	k := Kinds[i]
	scope := q.scopes[k.Name]
	// Today is a date (text), never a timestamptz that turns every date
	// column it meets into a timestamptz (and its index into none).
	params["today"], params["owner"] = q.today.Format(time.DateOnly), q.owner
	where := "true"
	if q.filter.CommuneCode != "" {
		where += " AND commune_code = @commune"
		params["commune"] = q.filter.CommuneCode
	}
	if q.filter.Overdue {
		where += " AND overdue"
	}
	kq := kindSQL[k.Name]
	sql := kq.sql
	if len(kq.columns) > 0 {
		conds := make([]string, len(kq.columns))
		for j, col := range kq.columns {
			conds[j] = scope.Named(col, fmt.Sprintf("s%d_%d", i, j), params)
		}
		sql = strings.Replace(sql, "{scope}", strings.Join(conds, " AND "), 1)
		exact := exactly(scope, kq.columns[0], fmt.Sprintf("x%d", i), params)
		if q.within { // a supervisor counts the work below their areas too
			exact = scope.Named(kq.columns[0], fmt.Sprintf("x%d", i), params)
		}
		sql = strings.Replace(sql, "{exact}", exact, 1)
	}
	return `SELECT * FROM (SELECT b.*, coalesce(b.due, DATE '` + noDue + `') AS sort_due, b.due IS NOT NULL AND b.due < CAST(@today AS date) AS overdue
		FROM (` + sql + `) b (kind, subject_type, subject_id, parent_id, household_id, household_code, commune_code, since, due, detail)) x
		WHERE ` + where
}

// exactly is the condition that column is one of the scope's areas
// themselves (not below them): the unit that handles a complaint.
func exactly(scope access.Scope, column, name string, params map[string]any) string {
	if scope.IsEverywhere() {
		return "TRUE"
	}
	if len(scope.Paths()) == 0 {
		return "FALSE"
	}
	parts := make([]string, len(scope.Paths()))
	for i, p := range scope.Paths() {
		key := fmt.Sprintf("%s_%d", name, i)
		params[key] = p
		parts[i] = column + " = CAST(@" + key + " AS ltree)"
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

// columns are an item's columns as page reads them.
const columns = `kind, subject_type, subject_id, parent_id, household_id, coalesce(household_code, ''), coalesce(commune_code, ''),
	since, due, overdue, coalesce(detail, '')`

// inbox is a page of items in order after a position and the counts of
// every item by kind. Each kind is one small statement: its first items of
// the page (a top-N sort on its order key) and its counts; the pages are
// merged here. One statement of every kind, their rows gathered whole, cost
// ten times more to plan and run where a commune has thousands of one kind.
func (s store) inbox(ctx context.Context, q query, after *Position, limit int) ([]Item, []Count, error) {
	var items []Item
	var counts []Count
	err := s.read(ctx, func(ctx context.Context) error {
		items, counts = nil, nil
		for i, k := range Kinds {
			if _, ok := q.scopes[k.Name]; !ok {
				continue
			}
			its, c, err := s.kindPage(ctx, q, i, after, limit)
			if err != nil {
				return fmt.Errorf("inbox %s: %w", k.Name, err)
			}
			items = append(items, its...)
			if c.Items > 0 {
				counts = append(counts, c)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(items, func(a, b Item) int { return a.position().compare(b.position()) })
	if len(items) > limit {
		items = items[:limit]
	}
	return items, counts, nil
}

// read runs fn in the project's read transaction (db.ReadTx: read-only,
// repeatable read, so one snapshot for every kind; on a replica when they
// serve), its statements planned for their values: a generic plan cannot
// know how much of a table an area path selects (the card query took 32 ms
// with one, 6.5 ms without).
func (s store) read(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.ReadTx(ctx, func(ctx context.Context, _ bool) error {
		if err := s.db.Conn(ctx).Exec(`SELECT set_config('plan_cache_mode', 'force_custom_plan', true)`).Error; err != nil {
			return err
		}
		return fn(ctx)
	})
}

// kindPage is a kind's first items after a position and its counts.
func (s store) kindPage(ctx context.Context, q query, i int, after *Position, limit int) ([]Item, Count, error) {
	params := map[string]any{"limit": limit}
	part := branch(q, i, params)
	cond := "true"
	if after != nil {
		cond = `(sort_due, since, subject_id, kind COLLATE "C") > (CAST(@a_due AS date), @a_since, CAST(@a_id AS uuid), @a_kind)`
		params["a_due"], params["a_since"], params["a_id"], params["a_kind"] = after.Due, after.Since, after.ID, after.Kind
	}
	with, page, all := "", "("+part+")", "("+part+")"
	if !manyKinds[Kinds[i].Name] {
		with, page, all = "WITH k AS MATERIALIZED ("+part+") ", "k", "k"
	}
	q1 := with + `(SELECT true, ` + columns + `, 0::bigint, 0::bigint FROM ` + page + ` p WHERE ` + cond + `
			ORDER BY sort_due, since, subject_id LIMIT @limit)
		UNION ALL
		SELECT false, '', '', '00000000-0000-0000-0000-000000000000'::uuid, NULL::uuid, NULL::uuid, '', '', NULL::timestamptz, NULL::date,
			false, '', count(*), count(*) FILTER (WHERE overdue) FROM ` + all + ` c`
	var items []Item
	c := Count{Kind: Kinds[i].Name}
	err := db.Each(s.db.Conn(ctx).Raw(q1, params), func(r db.Scanner) error {
		var isItem bool
		var it Item
		var since *time.Time
		var n Count
		if err := r.Scan(&isItem, &it.Kind, &it.SubjectType, &it.SubjectID, &it.ParentID, &it.HouseholdID, &it.HouseholdCode, &it.CommuneCode,
			&since, &it.Due, &it.Overdue, &it.Detail, &n.Items, &n.Overdue); err != nil {
			return err
		}
		if !isItem {
			c.Items, c.Overdue = n.Items, n.Overdue
			return nil
		}
		it.Since = *since
		it.Method, it.Path = actionOf(it)
		items = append(items, it)
		return nil
	})
	return items, c, err
}

// byCommune are the items by commune and kind.
func (s store) byCommune(ctx context.Context, q query) ([]CommuneCount, error) {
	parts, params := branches(q)
	if len(parts) == 0 {
		return nil, nil
	}
	var out []CommuneCount
	err := s.read(ctx, func(ctx context.Context) (err error) {
		out, err = db.Collect(s.db.Conn(ctx).Raw(`SELECT commune_code, kind, count(*), count(*) FILTER (WHERE overdue) FROM (`+
			strings.Join(parts, "\nUNION ALL\n")+`) c WHERE commune_code <> '' GROUP BY commune_code, kind ORDER BY commune_code, kind`, params),
			func(r db.Scanner) (CommuneCount, error) {
				var c CommuneCount
				return c, r.Scan(&c.CommuneCode, &c.Kind, &c.Items, &c.Overdue)
			})
		return err
	})
	return out, err
}

// waiting are those of ids that are subjects of the kind's items now,
// wherever they are.
func (s store) waiting(ctx context.Context, kind string, today time.Time, ids []uuid.UUID) ([]uuid.UUID, error) {
	q := strings.NewReplacer("{scope}", "TRUE", "{exact}", "TRUE").Replace(kindSQL[kind].sql)
	var out []uuid.UUID
	err := s.read(ctx, func(ctx context.Context) (err error) {
		out, err = db.Collect(s.db.Conn(ctx).Raw(`SELECT DISTINCT b.subject_id FROM (`+q+`)
			b (kind, subject_type, subject_id, parent_id, household_id, household_code, commune_code, since, due, detail)
			WHERE b.subject_id = ANY (CAST(@ids AS uuid[]))`, map[string]any{"today": today.Format(time.DateOnly), "ids": db.UUIDArray(ids)}),
			func(r db.Scanner) (uuid.UUID, error) {
				var id uuid.UUID
				return id, r.Scan(&id)
			})
		return err
	})
	return out, err
}
