package inbox

import (
	"context"
	"fmt"
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
}

// kindQuery is a kind's SELECT: kind, subject type and id, household id and
// code, commune code, area path, since (timestamptz), due (date), detail and
// the action's method and path; {scope} is where the scope's condition on
// the column goes ("" for a kind that is the caller's own).
type kindQuery struct{ sql, column string }

// kindSQL are the kinds' SELECTs.
var kindSQL = map[string]kindQuery{
	"regular_review_due": {`SELECT 'regular_review_due', 'review', r.id, r.household_id, h.code, r.commune_code, r.area_path,
		coalesce(r.requested_on::timestamptz, r.created_at), r.decide_by, '', 'GET', '/api/v1/reviews/' || r.id
		FROM reviews r LEFT JOIN households h ON h.id = r.household_id
		WHERE r.kind = 'regular' AND r.state IN ('open', 'surveying', 'meeting_recorded', 'posted') AND {scope}`, "r.area_path"},
	"review_returned": {`SELECT 'review_returned', 'review', r.id, r.household_id, h.code, r.commune_code, r.area_path, r.updated_at,
		r.decide_by, '', 'POST', '/api/v1/reviews/' || r.id || '/reopen'
		FROM reviews r LEFT JOIN households h ON h.id = r.household_id WHERE r.state = 'returned' AND {scope}`, "r.area_path"},
	"objection_open": {`SELECT 'objection_open', 'objection', o.id, o.household_id, h.code, r.commune_code, r.area_path,
		o.raised_on::timestamptz, r.posting_end, left(o.content, 200), 'POST', '/api/v1/reviews/' || r.id || '/objections/' || o.id || '/resolve'
		FROM review_objections o JOIN reviews r ON r.id = o.review_id LEFT JOIN households h ON h.id = o.household_id
		WHERE o.outcome IS NULL AND r.state <> 'recognized' AND {scope}`, "r.area_path"},
	"duplicate_candidate": {`SELECT 'duplicate_candidate', 'duplicate', d.id, h.id, h.code, h.commune_code, d.area_path, d.created_at,
		NULL::date, d.reason, 'POST', '/api/v1/duplicates/' || d.id || '/resolve'
		FROM duplicate_candidates d JOIN members m ON m.id = d.member_b JOIN households h ON h.id = m.household_id
		WHERE d.status = 'open' AND {scope}`, "d.area_path"},
	"enrollment_returned": {`SELECT 'enrollment_returned', 'enrollment', e.id, h.id, h.code, h.commune_code, e.area_path, e.updated_at,
		NULL::date, e.program_code, 'POST', '/api/v1/enrollments/' || e.id || '/resubmit'
		FROM enrollments e JOIN households h ON h.id = e.household_id WHERE e.state = 'returned' AND {scope}`, "e.area_path"},
	"card_expiring": {`SELECT 'card_expiring', 'enrollment', e.id, h.id, h.code, h.commune_code, e.area_path,
		(d.expires_on - 30)::timestamptz, d.expires_on, d.details->>'card_number', 'POST', '/api/v1/enrollments/' || e.id || '/deliveries'
		FROM deliveries d JOIN enrollments e ON e.id = d.enrollment_id JOIN households h ON h.id = e.household_id
		WHERE d.kind = 'health_insurance' AND d.expires_on BETWEEN @today AND CAST(@today AS date) + 30 AND e.state = 'approved'
		AND (e.ends_on IS NULL OR e.ends_on > d.expires_on)
		AND NOT EXISTS (SELECT 1 FROM deliveries n WHERE n.enrollment_id = d.enrollment_id AND n.kind = 'health_insurance'
			AND n.expires_on > d.expires_on) AND {scope}`, "e.area_path"},
	"reorganization_decision": {`SELECT 'reorganization_decision', 'household', m.household_id, m.household_id, h.code, m.from_code, h.area_path,
		r.started_at, NULL::date, m.from_code, 'POST', '/api/v1/reorganizations/' || r.id || '/queue/' || m.household_id
		FROM reorganizations r JOIN reorganization_moves m ON m.reorganization_id = r.id AND m.to_code IS NULL
		JOIN households h ON h.id = m.household_id
		WHERE EXISTS (SELECT 1 FROM area_successions s JOIN areas a ON a.edition = s.to_edition AND a.code = s.to_code
			WHERE s.from_edition = r.from_edition AND s.from_code = m.from_code AND s.to_edition = r.to_edition AND {scope})`, "a.path"},
	"review_submitted": {`SELECT 'review_submitted', 'review', r.id, r.household_id, h.code, r.commune_code, r.area_path, r.updated_at,
		r.decide_by, r.kind, 'POST', '/api/v1/reviews/' || r.id || '/recognize'
		FROM reviews r LEFT JOIN households h ON h.id = r.household_id WHERE r.state = 'submitted' AND {scope}`, "r.area_path"},
	"enrollment_proposed": {`SELECT 'enrollment_proposed', 'enrollment', e.id, h.id, h.code, h.commune_code, e.area_path, e.updated_at,
		NULL::date, e.program_code, 'POST', '/api/v1/enrollments/' || e.id || '/approve'
		FROM enrollments e JOIN households h ON h.id = e.household_id WHERE e.state = 'proposed' AND {scope}`, "e.area_path"},
	"enrollment_flagged": {`SELECT 'enrollment_flagged', 'enrollment', e.id, h.id, h.code, h.commune_code, e.area_path,
		e.flagged_on::timestamptz, NULL::date, e.flag_reason, 'POST', '/api/v1/enrollments/' || e.id || '/end'
		FROM enrollments e JOIN households h ON h.id = e.household_id
		WHERE e.state = 'approved' AND e.flagged_on IS NOT NULL AND {scope}`, "e.area_path"},
	"enrollment_past_end": {`SELECT 'enrollment_past_end', 'enrollment', e.id, h.id, h.code, h.commune_code, e.area_path,
		(e.ends_on + 1)::timestamptz, e.ends_on, e.program_code, 'POST', '/api/v1/enrollments/' || e.id || '/end'
		FROM enrollments e JOIN households h ON h.id = e.household_id
		WHERE e.state = 'approved' AND e.flagged_on IS NULL AND e.ends_on < @today AND {scope}`, "e.area_path"},
	// A user's own imports, finished with problems in the last 30 days.
	"import_problems": {`SELECT 'import_problems', 'import', j.id, NULL::uuid, '', '', NULL::ltree, j.finished_at, NULL::date,
		j.file_name, 'GET', '/api/v1/imports/' || j.id || '/problems'
		FROM import_jobs j WHERE j.owner = @owner AND j.problem_count > 0 AND j.finished_at > now() - interval '30 days'`, ""},
}

// union is the SELECT of every kind the query may see, with its
// parameters: the items' columns (overdue computed), filtered.
func union(q query) (string, map[string]any) {
	params := map[string]any{"today": q.today, "owner": q.owner}
	var parts []string
	for i, k := range Kinds {
		scope, ok := q.scopes[k.Name]
		if !ok {
			continue
		}
		kq := kindSQL[k.Name]
		sql := kq.sql
		if kq.column != "" {
			sql = strings.Replace(sql, "{scope}", scope.Named(kq.column, fmt.Sprintf("s%d", i), params), 1)
		}
		parts = append(parts, sql)
	}
	if len(parts) == 0 {
		parts = append(parts, `SELECT NULL::text, NULL::text, NULL::uuid, NULL::uuid, NULL::text, NULL::text, NULL::ltree,
			NULL::timestamptz, NULL::date, NULL::text, NULL::text, NULL::text WHERE false`)
	}
	where := []string{"true"}
	if q.filter.CommuneCode != "" {
		where = append(where, "commune_code = @commune")
		params["commune"] = q.filter.CommuneCode
	}
	if q.filter.Overdue {
		where = append(where, "overdue")
	}
	return `(SELECT *, due IS NOT NULL AND due < @today AS overdue, coalesce(due, DATE '` + noDue + `') AS sort_due
		FROM (` + strings.Join(parts, "\nUNION ALL\n") + `) u (kind, subject_type, subject_id, household_id, household_code, commune_code,
			area_path, since, due, detail, method, path)) x WHERE ` + strings.Join(where, " AND "), params
}

// page is a page of items in order after a position.
func (s store) page(ctx context.Context, q query, after *Position, limit int) ([]Item, error) {
	rel, params := union(q)
	cond := "true"
	if after != nil {
		cond = `(sort_due, since, subject_id, kind) > (CAST(@a_due AS date), @a_since, CAST(@a_id AS uuid), @a_kind)`
		params["a_due"], params["a_since"], params["a_id"], params["a_kind"] = after.Due, after.Since, after.ID, after.Kind
	}
	params["limit"] = limit
	return db.Collect(s.db.Read(ctx).Raw(`SELECT kind, subject_type, subject_id, household_id, coalesce(household_code, ''),
		coalesce(commune_code, ''), since, due, overdue, coalesce(detail, ''), method, path FROM `+rel+` AND `+cond+`
		ORDER BY sort_due, since, subject_id, kind LIMIT @limit`, params), func(r db.Scanner) (Item, error) {
		var it Item
		var household *uuid.UUID
		err := r.Scan(&it.Kind, &it.SubjectType, &it.SubjectID, &household, &it.HouseholdCode, &it.CommuneCode, &it.Since, &it.Due,
			&it.Overdue, &it.Detail, &it.Method, &it.Path)
		it.HouseholdID = household
		return it, err
	})
}

// counts are the items by kind, and the overdue among them.
func (s store) counts(ctx context.Context, q query) ([]Count, error) {
	rel, params := union(q)
	return db.Collect(s.db.Read(ctx).Raw(`SELECT kind, count(*), count(*) FILTER (WHERE overdue) FROM `+rel+` GROUP BY kind`, params),
		func(r db.Scanner) (Count, error) {
			var c Count
			return c, r.Scan(&c.Kind, &c.Items, &c.Overdue)
		})
}

// byCommune are the items by commune and kind.
func (s store) byCommune(ctx context.Context, q query) ([]CommuneCount, error) {
	rel, params := union(q)
	return db.Collect(s.db.Read(ctx).Raw(`SELECT commune_code, kind, count(*), count(*) FILTER (WHERE overdue) FROM `+rel+`
		AND commune_code <> '' GROUP BY commune_code, kind ORDER BY commune_code, kind`, params), func(r db.Scanner) (CommuneCount, error) {
		var c CommuneCount
		return c, r.Scan(&c.CommuneCode, &c.Kind, &c.Items, &c.Overdue)
	})
}
