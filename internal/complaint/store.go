package complaint

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// store holds the package's SQL.
type store struct{ db *db.DB }

// unit is an administrative unit that settles complaints.
type unit struct{ edition, code, path string }

// householdUnit is a household's path and its commune (the first
// instance's unit), if the household is in scope.
func (s store) householdUnit(ctx context.Context, scope access.Scope, id uuid.UUID) (string, unit, error) {
	params := map[string]any{"id": id}
	var path string
	var u unit
	err := s.db.Conn(ctx).Raw(`SELECT h.area_path::text, h.commune_edition, h.commune_code, a.path::text FROM households h
		JOIN areas a ON a.edition = h.commune_edition AND a.code = h.commune_code
		WHERE h.id = @id AND `+scope.Named("h.area_path", "scope", params), params).Row().Scan(&path, &u.edition, &u.code, &u.path)
	if errors.Is(err, sql.ErrNoRows) {
		return "", u, errHouseholdNotFound
	}
	return path, u, err
}

// subjectOf reports whether a record of the kind a complaint is about
// belongs to the household: a classification change, an enrollment, a
// delivery (kinds without a record: true).
func (s store) subjectOf(ctx context.Context, kind string, id, household uuid.UUID) (bool, error) {
	q := map[string]string{
		"classification":     `SELECT EXISTS (SELECT 1 FROM classification_changes WHERE id = ? AND household_id = ?)`,
		"enrollment":         `SELECT EXISTS (SELECT 1 FROM enrollments WHERE id = ? AND household_id = ?)`,
		"enrollment_refusal": `SELECT EXISTS (SELECT 1 FROM enrollments WHERE id = ? AND household_id = ?)`,
		"delivery": `SELECT EXISTS (SELECT 1 FROM deliveries d JOIN enrollments e ON e.id = d.enrollment_id
			WHERE d.id = ? AND e.household_id = ?)`,
	}[kind]
	if q == "" {
		return true, nil
	}
	var found bool
	err := s.db.Conn(ctx).Raw(q, id, household).Row().Scan(&found)
	return found, err
}

// parentUnit is the unit containing another (the level above), if any.
func (s store) parentUnit(ctx context.Context, u unit) (unit, bool, error) {
	var p unit
	err := s.db.Conn(ctx).Raw(`SELECT p.edition, p.code, p.path::text FROM areas a JOIN areas p ON p.edition = a.edition AND p.code = a.parent_code
		WHERE a.edition = ? AND a.code = ?`, u.edition, u.code).Row().Scan(&p.edition, &p.code, &p.path)
	if errors.Is(err, sql.ErrNoRows) {
		return p, false, nil
	}
	return p, err == nil, err
}

// remote reports whether a household lived in a remote or hard-to-reach
// area on a day: its commune, or a unit containing it, designated extremely
// difficult (coastal, zone III, border).
func (s store) remote(ctx context.Context, path string, on time.Time) (bool, error) {
	var found bool
	err := s.db.Conn(ctx).Raw(`SELECT EXISTS (SELECT 1 FROM area_designations d WHERE CAST(? AS ltree) <@ d.area_path AND d.village IS NULL
		AND (d.kind IN ('coastal_extremely_difficult', 'border_commune') OR d.kind = 'ethnic_mountainous_zone' AND d.zone = 'III')
		AND d.valid_from <= ? AND (d.valid_to IS NULL OR d.valid_to >= ?))`, path, on, on).Row().Scan(&found)
	return found, err
}

// limit is a time limit in days.
func (s store) limit(ctx context.Context, step string, instance int, complex, remote bool) (int, error) {
	var days int
	err := s.db.Conn(ctx).Raw(`SELECT days FROM complaint_time_limits WHERE step = ? AND instance = ? AND complex = ? AND remote = ?`,
		step, instance, complex, remote).Row().Scan(&days)
	if err != nil {
		return 0, fmt.Errorf("complaint time limit %s %d: %w", step, instance, err)
	}
	return days, nil
}

// nextReference numbers a unit's complaints of a year.
func (s store) nextReference(ctx context.Context, code string, year int) (string, error) {
	var n int
	err := s.db.Conn(ctx).Raw(`INSERT INTO complaint_counters (handler_code, year, last) VALUES (?, ?, 1)
		ON CONFLICT (handler_code, year) DO UPDATE SET last = complaint_counters.last + 1 RETURNING last`, code, year).Row().Scan(&n)
	return fmt.Sprintf("KN-%s-%d-%04d", code, year, n), err
}

const columns = `id, reference, instance, appeal_of, household_id, area_path::text, handler_edition, handler_code, handler_path::text,
	complainant_name, channel, received_on, subject_kind, subject_id, respondent_user_id, content, complex, remote, state, accept_by,
	accepted_on, settle_by, coalesce(not_accepted_reason, ''), decided_on, coalesce(outcome, ''), coalesce(reasoning, ''), decided_by,
	version, created_at, EXISTS (SELECT 1 FROM complaints a WHERE a.appeal_of = complaints.id), known_on, file_by, coalesce(late_reason, '')`

func scan(r db.Scanner) (Complaint, error) {
	var c Complaint
	err := r.Scan(&c.ID, &c.Reference, &c.Instance, &c.AppealOf, &c.HouseholdID, &c.AreaPath, &c.HandlerEdition, &c.HandlerCode,
		&c.HandlerPath, &c.ComplainantName, &c.Channel, &c.ReceivedOn, &c.SubjectKind, &c.SubjectID, &c.RespondentUserID, &c.Content,
		&c.Complex, &c.Remote, &c.State, &c.AcceptBy, &c.AcceptedOn, &c.SettleBy, &c.NotAcceptedWhy, &c.DecidedOn, &c.Outcome,
		&c.Reasoning, &c.DecidedBy, &c.Version, &c.CreatedAt, &c.Appealed, &c.KnownOn, &c.FileBy, &c.LateReason)
	return c, err
}

func (s store) insert(ctx context.Context, c Complaint, actor *uuid.UUID) error {
	return s.db.Conn(ctx).Exec(`INSERT INTO complaints (id, reference, instance, appeal_of, household_id, area_path, handler_edition,
		handler_code, handler_path, complainant_name, channel, received_on, subject_kind, subject_id, respondent_user_id, content, remote,
		accept_by, created_by, known_on, file_by) VALUES (?, ?, ?, ?, ?, CAST(? AS ltree), ?, ?, CAST(? AS ltree), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Reference, c.Instance, c.AppealOf, c.HouseholdID, c.AreaPath, c.HandlerEdition, c.HandlerCode, c.HandlerPath,
		c.ComplainantName, c.Channel, c.ReceivedOn, c.SubjectKind, c.SubjectID, c.RespondentUserID, c.Content, c.Remote, c.AcceptBy,
		actor, c.KnownOn, c.FileBy).Error
}

// get reads a complaint the scope may see (by its household or its
// handler), locked for a change when lock.
func (s store) get(ctx context.Context, scope access.Scope, id uuid.UUID, lock bool) (Complaint, error) {
	params := map[string]any{"id": id}
	q := `SELECT ` + columns + ` FROM complaints WHERE id = @id AND (` + scope.Named("area_path", "a", params) + ` OR ` +
		scope.Named("handler_path", "h", params) + `)`
	if lock {
		q += ` FOR UPDATE`
	}
	c, err := scan(s.db.Conn(ctx).Raw(q, params).Row())
	if errors.Is(err, sql.ErrNoRows) {
		return c, errNotFound
	}
	if err != nil {
		return c, err
	}
	c.Steps, err = db.Collect(s.db.Conn(ctx).Raw(`SELECT id, kind, occurred_on, summary, created_at FROM complaint_steps
		WHERE complaint_id = ? ORDER BY occurred_on, created_at`, id), func(r db.Scanner) (Step, error) {
		var st Step
		return st, r.Scan(&st.ID, &st.Kind, &st.OccurredOn, &st.Summary, &st.CreatedAt)
	})
	return c, err
}

// update writes a complaint's state after a step.
func (s store) update(ctx context.Context, c Complaint) error {
	return s.db.Conn(ctx).Exec(`UPDATE complaints SET state = ?, complex = ?, accepted_on = ?, settle_by = ?,
		not_accepted_reason = NULLIF(?, ''), decided_on = ?, outcome = NULLIF(?, ''), reasoning = NULLIF(?, ''), decided_by = ?,
		late_reason = NULLIF(?, ''), version = version + 1, updated_at = now() WHERE id = ?`, c.State, c.Complex, c.AcceptedOn, c.SettleBy,
		c.NotAcceptedWhy, c.DecidedOn, c.Outcome, c.Reasoning, c.DecidedBy, c.LateReason, c.ID).Error
}

func (s store) insertStep(ctx context.Context, complaint uuid.UUID, st Step, actor *uuid.UUID) error {
	return s.db.Conn(ctx).Exec(`INSERT INTO complaint_steps (id, complaint_id, kind, occurred_on, summary, created_by) VALUES (?, ?, ?, ?, ?, ?)`,
		st.ID, complaint, st.Kind, st.OccurredOn, st.Summary, actor).Error
}

// Filter narrows a list of complaints.
type Filter struct {
	HouseholdID *uuid.UUID
	State       string
}

// list is a page of the complaints the scope may see, newest first.
func (s store) list(ctx context.Context, scope access.Scope, f Filter, before *uuid.UUID, limit int) ([]Complaint, error) {
	params := map[string]any{"limit": limit}
	q := `SELECT ` + columns + ` FROM complaints WHERE (` + scope.Named("area_path", "a", params) + ` OR ` +
		scope.Named("handler_path", "h", params) + `)`
	if f.HouseholdID != nil {
		q += ` AND household_id = @household`
		params["household"] = *f.HouseholdID
	}
	if f.State != "" {
		q += ` AND state = @state`
		params["state"] = f.State
	}
	if before != nil {
		q += ` AND id < @before`
		params["before"] = *before
	}
	return db.Collect(s.db.Read(ctx).Raw(q+` ORDER BY id DESC LIMIT @limit`, params), scan)
}
