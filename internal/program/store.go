package program

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

type store struct{ db *db.DB }

func inScope(q *gorm.DB, scope access.Scope, column string) *gorm.DB {
	if scope.IsEverywhere() {
		return q
	}
	cond, args := scope.SQL(column)
	return q.Where(cond, args...)
}

const programColumns = `code, name_vi, name_en, legal_basis, kind, level, coalesce(area_code, ''), coalesce(area_path::text, ''),
	rule, params, amount, funding::text, status, version, updated_at`

func scanProgram(row interface{ Scan(...any) error }) (Program, error) {
	var p Program
	var rule, params []byte
	var funding string
	if err := row.Scan(&p.Code, &p.NameVI, &p.NameEN, &p.LegalBasis, &p.Kind, &p.Level, &p.AreaCode, &p.AreaPath, &rule, &params,
		&p.Amount, &funding, &p.Status, &p.Version, &p.UpdatedAt); err != nil {
		return p, err
	}
	if err := json.Unmarshal(rule, &p.Rule); err != nil {
		return p, fmt.Errorf("program %s rule: %w", p.Code, err)
	}
	if err := json.Unmarshal(params, &p.Params); err != nil {
		return p, fmt.Errorf("program %s params: %w", p.Code, err)
	}
	p.Funding = parseTextArray(funding)
	return p, nil
}

// parseTextArray reads a text[] of simple codes as PostgreSQL prints it.
func parseTextArray(s string) []string {
	s = strings.Trim(s, "{}")
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

func pgArray(xs []string) string { return "{" + strings.Join(xs, ",") + "}" }

func (s store) programs(ctx context.Context) ([]Program, error) {
	rows, err := s.db.Conn(ctx).Raw(`SELECT ` + programColumns + ` FROM programs ORDER BY code`).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Program
	for rows.Next() {
		p, err := scanProgram(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s store) program(ctx context.Context, code string, lock bool) (Program, error) {
	q := `SELECT ` + programColumns + ` FROM programs WHERE code = ?`
	if lock {
		q += ` FOR UPDATE`
	}
	p, err := scanProgram(s.db.Conn(ctx).Raw(q, code).Row())
	if errors.Is(err, sql.ErrNoRows) {
		return Program{}, errProgramNotFound
	}
	return p, err
}

func (s store) saveProgram(ctx context.Context, p Program, insert bool, actor *uuid.UUID) error {
	rule, err := json.Marshal(p.Rule)
	if err != nil {
		return err
	}
	params, err := json.Marshal(p.Params)
	if err != nil {
		return err
	}
	if insert {
		return s.db.Conn(ctx).Exec(`INSERT INTO programs (code, name_vi, name_en, legal_basis, kind, level, area_code, area_path, rule,
			params, amount, funding, status, created_by, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?::ltree, ?, ?, ?, ?::text[], ?, ?, ?)`,
			p.Code, p.NameVI, p.NameEN, p.LegalBasis, p.Kind, p.Level, p.AreaCode, p.AreaPath, string(rule), string(params), p.Amount,
			pgArray(p.Funding), p.Status, actor, actor).Error
	}
	return s.db.Conn(ctx).Exec(`UPDATE programs SET name_vi = ?, name_en = ?, legal_basis = ?, rule = ?, params = ?, amount = ?,
		funding = ?::text[], status = ?, version = version + 1, updated_by = ?, updated_at = now() WHERE code = ?`,
		p.NameVI, p.NameEN, p.LegalBasis, string(rule), string(params), p.Amount, pgArray(p.Funding), p.Status, actor, p.Code).Error
}

const enrollmentColumns = `enrollments.id, enrollments.program_code, enrollments.household_id, enrollments.member_id,
	enrollments.area_path::text, enrollments.state, enrollments.starts_on, enrollments.ends_on, enrollments.amount,
	enrollments.benefit, enrollments.reason, enrollments.evidence, enrollments.flagged_on, coalesce(enrollments.flag_reason, ''),
	coalesce(enrollments.end_reason, ''), enrollments.ended_on, enrollments.version, enrollments.created_at, enrollments.updated_at`

func scanEnrollment(row interface{ Scan(...any) error }) (Enrollment, error) {
	var e Enrollment
	var benefit []byte
	if err := row.Scan(&e.ID, &e.ProgramCode, &e.HouseholdID, &e.MemberID, &e.AreaPath, &e.State, &e.StartsOn, &e.EndsOn,
		&e.Amount, &benefit, &e.Reason, &e.Evidence, &e.FlaggedOn, &e.FlagReason, &e.EndReason, &e.EndedOn, &e.Version,
		&e.CreatedAt, &e.UpdatedAt); err != nil {
		return e, err
	}
	return e, json.Unmarshal(benefit, &e.Benefit)
}

func (s store) enrollment(ctx context.Context, scope access.Scope, id uuid.UUID, lock bool) (Enrollment, error) {
	q := inScope(s.db.Conn(ctx).Table("enrollments"), scope, "enrollments.area_path").Select(enrollmentColumns).
		Where("enrollments.id = ?", id)
	if lock {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	e, err := scanEnrollment(q.Row())
	if errors.Is(err, sql.ErrNoRows) {
		return Enrollment{}, errEnrollmentNotFound
	}
	return e, err
}

// EnrollmentFilter narrows an enrollment list.
type EnrollmentFilter struct {
	ProgramCode string
	HouseholdID *uuid.UUID
	State       string
	Flagged     *bool
	AreaCode    string
}

func (s store) enrollments(ctx context.Context, scope access.Scope, f EnrollmentFilter, after uuid.UUID, limit int) ([]Enrollment, error) {
	q := inScope(s.db.Conn(ctx).Table("enrollments"), scope, "enrollments.area_path").Select(enrollmentColumns)
	if f.ProgramCode != "" {
		q = q.Where("enrollments.program_code = ?", f.ProgramCode)
	}
	if f.HouseholdID != nil {
		q = q.Where("enrollments.household_id = ?", *f.HouseholdID)
	}
	if f.State != "" {
		q = q.Where("enrollments.state = ?", f.State)
	}
	if f.Flagged != nil {
		q = q.Where("(enrollments.flagged_on IS NOT NULL) = ?", *f.Flagged)
	}
	if f.AreaCode != "" {
		q = q.Where("enrollments.area_path <@ (SELECT path FROM areas WHERE code = ?)", f.AreaCode)
	}
	if after != uuid.Nil {
		q = q.Where("enrollments.id > ?", after)
	}
	q = q.Order("enrollments.id")
	if limit > 0 {
		q = q.Limit(limit)
	}
	rows, err := q.Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Enrollment
	for rows.Next() {
		e, err := scanEnrollment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// liveEnrollments are the programs each household (and member) is in or
// proposed for: household id -> member id (uuid.Nil for the household) -> codes.
func (s store) liveEnrollments(ctx context.Context, households []uuid.UUID) (map[uuid.UUID]map[uuid.UUID][]string, error) {
	out := map[uuid.UUID]map[uuid.UUID][]string{}
	if len(households) == 0 {
		return out, nil
	}
	rows, err := s.db.Conn(ctx).Raw(`SELECT household_id, coalesce(member_id, '00000000-0000-0000-0000-000000000000'), program_code
		FROM enrollments WHERE household_id IN ? AND state IN ('proposed', 'returned', 'approved')
		AND (ends_on IS NULL OR ends_on >= ?)`, households, vn.Today(time.Now())).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var h, m uuid.UUID
		var code string
		if err := rows.Scan(&h, &m, &code); err != nil {
			return nil, err
		}
		if out[h] == nil {
			out[h] = map[uuid.UUID][]string{}
		}
		out[h][m] = append(out[h][m], code)
	}
	return out, rows.Err()
}

// escapes are when each household last left poverty (a recognized change
// from poor), for those that did.
func (s store) escapes(ctx context.Context, households []uuid.UUID) (map[uuid.UUID]time.Time, error) {
	out := map[uuid.UUID]time.Time{}
	if len(households) == 0 {
		return out, nil
	}
	rows, err := s.db.Conn(ctx).Raw(`SELECT household_id, max(effective_date) FROM classification_changes
		WHERE household_id IN ? AND from_class = 'poor' GROUP BY household_id`, households).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var h uuid.UUID
		var d time.Time
		if err := rows.Scan(&h, &d); err != nil {
			return nil, err
		}
		out[h] = d
	}
	return out, rows.Err()
}

func (s store) deliveries(ctx context.Context, scope access.Scope, enrollmentID *uuid.UUID, expiringBy *time.Time, from time.Time, limit int) ([]Delivery, error) {
	q := inScope(s.db.Conn(ctx).Table("deliveries"), scope, "deliveries.area_path").
		Select(`id, enrollment_id, kind, area_path::text, occurred_on, amount, expires_on, campaign_id, details, created_at`)
	if enrollmentID != nil {
		q = q.Where("enrollment_id = ?", *enrollmentID).Order("occurred_on, id")
	}
	if expiringBy != nil {
		// The latest card of a person in a live enrollment, whatever enrollment
		// issued the later one.
		q = q.Where("expires_on BETWEEN ? AND ?", from, *expiringBy).
			Where(`EXISTS (SELECT 1 FROM enrollments e WHERE e.id = deliveries.enrollment_id AND e.state = 'approved')`).
			Where(`NOT EXISTS (SELECT 1 FROM deliveries later JOIN enrollments le ON le.id = later.enrollment_id
				JOIN enrollments me ON me.id = deliveries.enrollment_id
				WHERE later.kind = deliveries.kind AND le.household_id = me.household_id
				AND le.member_id IS NOT DISTINCT FROM me.member_id AND later.expires_on > deliveries.expires_on)`).Order("expires_on, id")
	}
	rows, err := q.Limit(limit).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var d Delivery
		var details []byte
		if err := rows.Scan(&d.ID, &d.EnrollmentID, &d.Kind, &d.AreaPath, &d.OccurredOn, &d.Amount, &d.ExpiresOn, &d.CampaignID,
			&details, &d.CreatedAt); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(details, &d.Details); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// budgets are the budgets of a program in a year (or every year: 0), in
// scope, with what approved enrollments committed in each.
func (s store) budgets(ctx context.Context, scope access.Scope, code string, year int) ([]Budget, error) {
	q := inScope(s.db.Conn(ctx).Table("program_budgets b"), scope, "b.area_path").
		Select(`b.program_code, b.area_code, b.area_path::text, b.year, b.amount, b.version,
			(SELECT coalesce(sum(e.amount), 0) FROM enrollments e WHERE e.program_code = b.program_code
			 AND e.area_path <@ b.area_path AND e.state IN ('approved', 'ended') AND extract(year FROM e.starts_on) = b.year)`).
		Where("b.program_code = ?", code)
	if year != 0 {
		q = q.Where("b.year = ?", year)
	}
	rows, err := q.Order("b.year, b.area_path").Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Budget
	for rows.Next() {
		var b Budget
		if err := rows.Scan(&b.ProgramCode, &b.AreaCode, &b.AreaPath, &b.Year, &b.Amount, &b.Version, &b.Committed); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func (s store) campaigns(ctx context.Context, code string) ([]Campaign, error) {
	rows, err := s.db.Conn(ctx).Raw(`SELECT `+campaignColumns+` FROM program_campaigns WHERE program_code = ? ORDER BY starts_on, id`,
		code).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Campaign
	for rows.Next() {
		c, err := scanCampaign(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

const campaignColumns = `id, program_code, name, area_code, area_path::text, starts_on, ends_on, package_amount, version`

func scanCampaign(row interface{ Scan(...any) error }) (Campaign, error) {
	var c Campaign
	err := row.Scan(&c.ID, &c.ProgramCode, &c.Name, &c.AreaCode, &c.AreaPath, &c.StartsOn, &c.EndsOn, &c.PackageAmount, &c.Version)
	return c, err
}

func (s store) campaign(ctx context.Context, code string, id uuid.UUID) (Campaign, error) {
	c, err := scanCampaign(s.db.Conn(ctx).Raw(`SELECT `+campaignColumns+` FROM program_campaigns WHERE program_code = ? AND id = ?
		FOR UPDATE`, code, id).Row())
	if errors.Is(err, sql.ErrNoRows) {
		return Campaign{}, errCampaignNotFound
	}
	return c, err
}
