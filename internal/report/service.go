// Package report computes the aggregates and official lists a province sends
// up and a commune posts: poverty by area, support by program, targets
// against actuals; JSON, CSV and Excel.
package report

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// readLogger records reads of personal data (the audit access log).
type readLogger interface {
	Read(ctx context.Context, subjectType, areaPath string, ids ...uuid.UUID)
}

// Service computes reports in the caller's scope.
type Service struct {
	db    *db.DB
	reads readLogger
	now   func() time.Time
}

// NewService makes the service.
func NewService(pool *db.DB, reads readLogger) *Service {
	return &Service{db: pool, reads: reads, now: time.Now}
}

// Area is the area a report is about.
type Area struct {
	Code, Name, Level, Path string
}

// area reads an area the caller may report on: inside their scope (or, for
// an area above it, the part inside: the report then covers only that).
func (s *Service) area(ctx context.Context, scope access.Scope, code string) (Area, error) {
	var a Area
	err := s.db.Read(ctx).Raw(`SELECT code, name, level, path::text FROM areas WHERE code = ?`, code).Row().Scan(&a.Code, &a.Name, &a.Level, &a.Path)
	if errors.Is(err, sql.ErrNoRows) {
		return a, apperr.Fields([]apperr.FieldError{{Field: "area", Code: "invalid", Message: "must be the code of an administrative area"}})
	}
	if err != nil {
		return a, db.MapError(err) // the database, not the caller's area
	}
	if !scope.Contains(a.Path) {
		inside := false
		for _, p := range scope.Paths() {
			inside = inside || strings.HasPrefix(p+".", a.Path+".")
		}
		if !inside {
			return a, apperr.New(apperr.NotFound, "area_outside_scope", "area %s is outside your areas", code)
		}
	}
	return a, nil
}

// childKey is the SQL grouping a household under the area's children:
// districts of a province, communes of a district, villages of a commune.
func childKey(a Area) string {
	if a.Level == "commune" {
		return "h.village"
	}
	return fmt.Sprintf("subpath(h.area_path, 0, %d)::text", strings.Count(a.Path, ".")+2)
}

// classAt is the SQL of a household's classification on a date ($date): the
// last recognized change by then, else what it was before its first change,
// else its current one.
const classAt = `coalesce(
	(SELECT c.to_class FROM classification_changes c WHERE c.household_id = h.id AND c.effective_date <= @date
	 ORDER BY c.effective_date DESC, c.created_at DESC LIMIT 1),
	(SELECT c.from_class FROM classification_changes c WHERE c.household_id = h.id ORDER BY c.effective_date, c.created_at LIMIT 1),
	h.classification)`

// activeAt limits households to those registered by a date and not archived
// before it (the archive's time is the last update of an archived household).
const activeAt = `h.created_at < @next AND (h.status = 'active' OR h.updated_at >= @next)`

func rate(part, whole int64) float64 {
	if whole == 0 {
		return 0
	}
	return math.Round(10000*float64(part)/float64(whole)) / 100
}

// PovertyRow is one child area's figures.
type PovertyRow struct {
	Key, Name                       string
	Households, Poor, NearPoor, Avg int64
	PoorRate, NearPoorRate          float64
	PrevPoorRate, Change            float64
	NewlyPoor, Escaped, ReEntered   int64
}

// Poverty is the poverty report of an area on a date, by child area, with
// the change against the same date a year before and the year's movements.
func (s *Service) Poverty(ctx context.Context, scope access.Scope, areaCode string, on time.Time) (Area, []PovertyRow, PovertyRow, error) {
	a, err := s.area(ctx, scope, areaCode)
	if err != nil {
		return a, nil, PovertyRow{}, err
	}
	cond, args := scope.SQL("h.area_path")
	key := childKey(a)
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
		FROM (SELECT ` + key + ` AS k,
				h.created_at < @next AND (h.status = 'active' OR h.updated_at >= @next) AS now_active,
				h.created_at < @pnext AND (h.status = 'active' OR h.updated_at >= @pnext) AS prev_active,
				coalesce(ln.to_class, f.from_class, h.classification) AS cls_now,
				coalesce(lp.to_class, f.from_class, h.classification) AS cls_prev
			FROM households h LEFT JOIN last_now ln ON ln.household_id = h.id LEFT JOIN last_prev lp ON lp.household_id = h.id
			LEFT JOIN first f ON f.household_id = h.id
			WHERE h.area_path <@ (@area)::ltree AND h.created_at < @next AND ` + namedScope(cond) + `) x GROUP BY k`
	prevDate := on.AddDate(-1, 0, 0)
	rows, err := s.db.Read(ctx).Raw(q, named(args, map[string]any{"area": a.Path, "date": on, "next": nextDay(on), "prev": prevDate,
		"pnext": nextDay(prevDate)})).Rows()
	if err != nil {
		return a, nil, PovertyRow{}, db.MapError(err)
	}
	now, prev := map[string][4]int64{}, map[string][4]int64{}
	for rows.Next() {
		var k string
		var c [4]int64
		var p [2]int64
		if err := rows.Scan(&k, &c[0], &c[1], &c[2], &c[3], &p[0], &p[1]); err != nil {
			rows.Close()
			return a, nil, PovertyRow{}, err
		}
		now[k], prev[k] = c, [4]int64{p[0], p[1]}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return a, nil, PovertyRow{}, err
	}
	// The year's movements: recognized changes effective in the year up to the date.
	moves := map[string][3]int64{}
	rows, err = s.db.Read(ctx).Raw(`SELECT `+key+` AS k, count(*) FILTER (WHERE 'newly_poor' = ANY (c.lists)),
		count(*) FILTER (WHERE 'escaped_poverty' = ANY (c.lists)), count(*) FILTER (WHERE 're_entered_poverty' = ANY (c.lists))
		FROM classification_changes c JOIN households h ON h.id = c.household_id
		WHERE h.area_path <@ (@area)::ltree AND c.effective_date BETWEEN @from AND @date AND `+namedScope(cond)+` GROUP BY 1`,
		named(args, map[string]any{"area": a.Path, "from": time.Date(on.Year(), 1, 1, 0, 0, 0, 0, time.UTC), "date": on})).Rows()
	if err != nil {
		return a, nil, PovertyRow{}, db.MapError(err)
	}
	for rows.Next() {
		var k string
		var m [3]int64
		if err := rows.Scan(&k, &m[0], &m[1], &m[2]); err != nil {
			rows.Close()
			return a, nil, PovertyRow{}, err
		}
		moves[k] = m
	}
	rows.Close()
	names, err := s.childNames(ctx, a)
	if err != nil {
		return a, nil, PovertyRow{}, err
	}
	keys := map[string]bool{}
	for k := range now {
		keys[k] = true
	}
	for k := range names {
		keys[k] = true
	}
	var out []PovertyRow
	var total PovertyRow
	var totalPrev [4]int64
	for _, k := range sortedKeys(keys) {
		c, p, m := now[k], prev[k], moves[k]
		r := PovertyRow{Key: k, Name: names[k], Households: c[0], Poor: c[1], NearPoor: c[2], Avg: c[3],
			NewlyPoor: m[0], Escaped: m[1], ReEntered: m[2]}
		if r.Name == "" {
			r.Name = k
		}
		r.PoorRate, r.NearPoorRate, r.PrevPoorRate = rate(c[1], c[0]), rate(c[2], c[0]), rate(p[1], p[0])
		r.Change = math.Round(100*(r.PoorRate-r.PrevPoorRate)) / 100
		out = append(out, r)
		total.Households, total.Poor, total.NearPoor, total.Avg = total.Households+c[0], total.Poor+c[1], total.NearPoor+c[2], total.Avg+c[3]
		total.NewlyPoor, total.Escaped, total.ReEntered = total.NewlyPoor+m[0], total.Escaped+m[1], total.ReEntered+m[2]
		totalPrev[0], totalPrev[1] = totalPrev[0]+p[0], totalPrev[1]+p[1]
	}
	total.Key, total.Name = a.Code, a.Name
	total.PoorRate, total.NearPoorRate, total.PrevPoorRate = rate(total.Poor, total.Households), rate(total.NearPoor, total.Households),
		rate(totalPrev[1], totalPrev[0])
	total.Change = math.Round(100*(total.PoorRate-total.PrevPoorRate)) / 100
	return a, out, total, nil
}

// childNames are the names of an area's child areas by their path (villages
// of a commune are their own names).
func (s *Service) childNames(ctx context.Context, a Area) (map[string]string, error) {
	if a.Level == "commune" {
		return map[string]string{}, nil
	}
	return s.db.StringMap(ctx, `SELECT path::text, name FROM areas WHERE parent_code = ?`, a.Code)
}

// SupportRow is one program's support in one child area over a period.
type SupportRow struct {
	Program, Key, Name               string
	Households, People               int64
	Delivered, Allocated, Committed  int64
	HousesStarted, HousesCompleted   int64
	Trainees, TrainingsCompleted     int64
	LoansDisbursed, LoansOutstanding int64
}

// Support is the support report of an area over a period, by program and
// child area.
func (s *Service) Support(ctx context.Context, scope access.Scope, areaCode string, from, to time.Time) (Area, []SupportRow, error) {
	a, err := s.area(ctx, scope, areaCode)
	if err != nil {
		return a, nil, err
	}
	if to.Before(from) {
		return a, nil, apperr.Fields([]apperr.FieldError{{Field: "to", Code: "invalid", Message: "is before from"}})
	}
	cond, args := scope.SQL("h.area_path")
	key := childKey(a)
	params := named(args, map[string]any{"area": a.Path, "from": from, "to": to, "y0": from.Year(), "y1": to.Year()})
	type agg struct {
		households, people int64
		delivered          int64
		allocated, used    int64
		started, completed int64
		trainees, trained  int64
		disbursed, owed    int64
	}
	figures := map[[2]string]*agg{}
	get := func(p, k string) *agg {
		if figures[[2]string{p, k}] == nil {
			figures[[2]string{p, k}] = &agg{}
		}
		return figures[[2]string{p, k}]
	}
	type query struct {
		sql  string
		scan func(p, k string, vals []int64)
		n    int
	}
	queries := []query{
		// Enrollments live in the period: households and people.
		{`SELECT e.program_code, ` + key + `, count(DISTINCT e.household_id), count(DISTINCT coalesce(e.member_id, m.id))
			FROM enrollments e JOIN households h ON h.id = e.household_id
			LEFT JOIN members m ON e.member_id IS NULL AND m.household_id = e.household_id AND m.status = 'present'
			WHERE h.area_path <@ (@area)::ltree AND e.state IN ('approved', 'ended') AND e.starts_on <= @to
			AND coalesce(e.ended_on, e.ends_on, @to) >= @from AND ` + namedScope(cond) + ` GROUP BY 1, 2`,
			func(p, k string, v []int64) { g := get(p, k); g.households, g.people = v[0], v[1] }, 2},
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
			FROM deliveries d JOIN enrollments e ON e.id = d.enrollment_id JOIN households h ON h.id = e.household_id
			WHERE h.area_path <@ (@area)::ltree AND d.occurred_on BETWEEN @from AND @to AND ` + namedScope(cond) + ` GROUP BY 1, 2`,
			func(p, k string, v []int64) {
				g := get(p, k)
				g.delivered, g.started, g.completed, g.trainees, g.trained, g.disbursed = v[0], v[1], v[2], v[3], v[4], v[5]
			}, 6},
		// Loans outstanding at the end of the period: each loan's latest balance.
		{`SELECT e.program_code, ` + key + `, coalesce(sum(last.balance), 0)
			FROM enrollments e JOIN households h ON h.id = e.household_id
			JOIN LATERAL (SELECT (d.details->>'outstanding_balance')::bigint AS balance FROM deliveries d
				WHERE d.enrollment_id = e.id AND d.kind = 'loan' AND d.occurred_on <= @to ORDER BY d.occurred_on DESC, d.id DESC LIMIT 1) last ON true
			WHERE h.area_path <@ (@area)::ltree AND ` + namedScope(cond) + ` GROUP BY 1, 2`,
			func(p, k string, v []int64) { get(p, k).owed = v[0] }, 1},
		// Budgets of the child areas themselves for the period's years, and what
		// approved enrollments committed of them. Budgets nest (an enrollment
		// counts against each budget above it), so only the children's own are
		// summed: a district report shows its communes' budgets, not those of
		// villages or of the district itself.
		{`SELECT b.program_code, ` + strings.ReplaceAll(key, "h.", "b.") + `, sum(b.amount),
			sum((SELECT coalesce(sum(e.amount), 0) FROM enrollments e WHERE e.program_code = b.program_code AND e.area_path <@ b.area_path
				AND e.state IN ('approved', 'ended') AND e.starts_on >= make_date(b.year, 1, 1) AND e.starts_on < make_date(b.year + 1, 1, 1)))
			FROM program_budgets b WHERE b.area_path <@ (@area)::ltree AND nlevel(b.area_path) = nlevel((@area)::ltree) + 1
			AND b.year BETWEEN @y0 AND @y1 AND ` + namedScope(strings.ReplaceAll(cond, "h.", "b.")) + ` GROUP BY 1, 2`,
			func(p, k string, v []int64) { g := get(p, k); g.allocated, g.used = v[0], v[1] }, 2},
	}
	if a.Level == "commune" { // budgets are per area, not per village
		queries = queries[:3]
	}
	for _, q := range queries {
		rows, err := s.db.Read(ctx).Raw(q.sql, params).Rows()
		if err != nil {
			return a, nil, db.MapError(err)
		}
		for rows.Next() {
			var p, k string
			vals := make([]int64, q.n)
			dest := []any{&p, &k}
			for i := range vals {
				dest = append(dest, &vals[i])
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return a, nil, err
			}
			q.scan(p, k, vals)
		}
		rows.Close()
	}
	names, err := s.childNames(ctx, a)
	if err != nil {
		return a, nil, err
	}
	var out []SupportRow
	keys := map[string]bool{}
	for k := range figures {
		keys[k[0]+"\x00"+k[1]] = true
	}
	for _, pk := range sortedKeys(keys) {
		parts := strings.SplitN(pk, "\x00", 2)
		g := figures[[2]string{parts[0], parts[1]}]
		name := names[parts[1]]
		if name == "" {
			name = parts[1]
		}
		out = append(out, SupportRow{Program: parts[0], Key: parts[1], Name: name, Households: g.households, People: g.people,
			Delivered: g.delivered, Allocated: g.allocated, Committed: g.used, HousesStarted: g.started, HousesCompleted: g.completed,
			Trainees: g.trainees, TrainingsCompleted: g.trained, LoansDisbursed: g.disbursed, LoansOutstanding: g.owed})
	}
	return a, out, nil
}

// Target is a recorded target with the actual figure of its year.
type Target struct {
	ID          uuid.UUID
	AreaCode    string
	Metric      string
	Year        int
	Value       float64
	Description string
	Actual      *float64 // nil for a year not yet reached
	Met         *bool
	Version     int
}

// Metrics a target may set, and whether the actual must be at most (true)
// or at least the target.
var Metrics = map[string]bool{"poverty_rate": true, "near_poverty_rate": true, "poverty_rate_reduction": false}

// SetTarget records (or replaces) an area's target for a metric and year.
func (s *Service) SetTarget(ctx context.Context, scope access.Scope, t Target) (Target, error) {
	var fe apperr.FieldList
	if _, ok := Metrics[t.Metric]; !ok {
		fe.Add("metric", "invalid", "must be poverty_rate, near_poverty_rate or poverty_rate_reduction")
	}
	if t.Year < 2000 || t.Year > 2100 {
		fe.Add("year", "invalid", "must be from 2000 to 2100")
	}
	if t.Value < 0 || t.Value > 100 || math.IsNaN(t.Value) {
		fe.Add("value", "invalid", "is a percentage (or percentage points) from 0 to 100")
	}
	t.Description = strings.TrimSpace(t.Description)
	if len(t.Description) > 500 {
		fe.Add("description", "too_long", "must be at most 500 characters")
	}
	if err := fe.Err(); err != nil {
		return Target{}, err
	}
	a, err := s.area(ctx, scope, t.AreaCode)
	if e, ok := apperr.As(err); ok && e.Kind == apperr.Invalid {
		return Target{}, apperr.Fields([]apperr.FieldError{{Field: "area_code", Code: "invalid", Message: "must be the code of an administrative area"}})
	}
	if err != nil {
		return Target{}, err
	}
	if !scope.Contains(a.Path) {
		return Target{}, apperr.New(apperr.Forbidden, "area_outside_scope", "you set targets only for your own areas")
	}
	err = s.db.WithTx(ctx, func(ctx context.Context) error {
		actor := actorID(ctx)
		if err := s.db.Conn(ctx).Raw(`INSERT INTO report_targets (id, area_code, area_path, metric, year, value, description, created_by, updated_by)
			VALUES (?, ?, ?::ltree, ?, ?, ?, ?, ?, ?) ON CONFLICT (area_code, metric, year) DO UPDATE SET value = excluded.value,
			description = excluded.description, version = report_targets.version + 1, updated_by = excluded.updated_by, updated_at = now()
			RETURNING id, version`, uuid.Must(uuid.NewV7()), a.Code, a.Path, t.Metric, t.Year, t.Value, t.Description, actor, actor).
			Row().Scan(&t.ID, &t.Version); err != nil {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "report_target.set", EntityType: "report_target", EntityID: t.ID.String(),
			AreaPath: a.Path, After: map[string]any{"area": a.Code, "metric": t.Metric, "year": t.Year, "value": t.Value,
				"description": t.Description, "version": t.Version}})
	})
	return t, db.MapError(err)
}

// Targets are an area's targets by year with the actual figures: the rate
// on 31 December (or today, for the current year), and for a reduction the
// fall from the year before, in points.
func (s *Service) Targets(ctx context.Context, scope access.Scope, areaCode string) (Area, []Target, error) {
	a, err := s.area(ctx, scope, areaCode)
	if err != nil {
		return a, nil, err
	}
	rows, err := s.db.Read(ctx).Raw(`SELECT id, area_code, metric, year, value::float8, description, version FROM report_targets
		WHERE area_code = ? ORDER BY year, metric`, a.Code).Rows()
	if err != nil {
		return a, nil, db.MapError(err)
	}
	var out []Target
	for rows.Next() {
		var t Target
		if err := rows.Scan(&t.ID, &t.AreaCode, &t.Metric, &t.Year, &t.Value, &t.Description, &t.Version); err != nil {
			rows.Close()
			return a, nil, err
		}
		out = append(out, t)
	}
	rows.Close()
	today := vn.Today(s.now())
	cache := map[int]PovertyRow{}
	totalOn := func(year int) (PovertyRow, error) {
		if r, ok := cache[year]; ok {
			return r, nil
		}
		on := time.Date(year, 12, 31, 0, 0, 0, 0, time.UTC)
		if on.After(today) {
			on = today
		}
		_, _, total, err := s.Poverty(ctx, scope, a.Code, on)
		cache[year] = total
		return total, err
	}
	for i := range out {
		t := &out[i]
		if t.Year > today.Year() {
			continue
		}
		total, err := totalOn(t.Year)
		if err != nil {
			return a, nil, err
		}
		var actual float64
		switch t.Metric {
		case "poverty_rate":
			actual = total.PoorRate
		case "near_poverty_rate":
			actual = total.NearPoorRate
		case "poverty_rate_reduction":
			actual = math.Round(100*(total.PrevPoorRate-total.PoorRate)) / 100
		}
		met := actual <= t.Value
		if !Metrics[t.Metric] {
			met = actual >= t.Value
		}
		t.Actual, t.Met = &actual, &met
	}
	return a, out, nil
}

func actorID(ctx context.Context) *uuid.UUID {
	a, _ := access.ActorFrom(ctx)
	if a.UserID == uuid.Nil {
		return nil
	}
	return &a.UserID
}
