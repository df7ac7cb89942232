package program

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm/clause"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

const enrollmentColumns = `enrollments.id, enrollments.program_code, enrollments.household_id, enrollments.member_id,
	enrollments.area_path::text, enrollments.state, enrollments.starts_on, enrollments.ends_on, enrollments.amount,
	enrollments.benefit, enrollments.reason, enrollments.evidence, enrollments.flagged_on, coalesce(enrollments.flag_reason, ''),
	coalesce(enrollments.end_reason, ''), enrollments.ended_on, enrollments.version, enrollments.created_at, enrollments.updated_at`

func scanEnrollment(row db.Scanner) (Enrollment, error) {
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
	q := scope.Filter(s.db.Conn(ctx).Table("enrollments"), "enrollments.area_path").Select(enrollmentColumns).
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
	q := scope.Filter(s.db.Conn(ctx).Table("enrollments"), "enrollments.area_path").Select(enrollmentColumns)
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
		q = q.Where("enrollments.area_path <@ (SELECT path FROM areas WHERE edition = area_edition_in_use() AND code = ?)", f.AreaCode)
	}
	if after != uuid.Nil {
		q = q.Where("enrollments.id > ?", after)
	}
	q = q.Order("enrollments.id")
	if limit > 0 {
		q = q.Limit(limit)
	}
	return db.Collect(q, scanEnrollment)
}

// insertEnrollment records a proposal.
func (s store) insertEnrollment(ctx context.Context, e Enrollment) error {
	b, err := json.Marshal(e.Benefit)
	if err != nil {
		return err
	}
	actor := access.ActorID(ctx)
	return s.db.Conn(ctx).Exec(`INSERT INTO enrollments (id, program_code, household_id, member_id, area_path, state, starts_on, ends_on,
			amount, benefit, reason, evidence, created_by, updated_by) VALUES (?, ?, ?, ?, ?::ltree, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.ProgramCode, e.HouseholdID, e.MemberID, e.AreaPath, e.State, e.StartsOn, e.EndsOn, e.Amount, string(b), e.Reason,
		e.Evidence, actor, actor).Error
}

// updateEnrollment is the read-modify-write of an enrollment in scope: it
// locks the row, checks the version (version < 0: the caller sent none; the
// transitions refuse a lost race), applies the change and writes it. It
// returns the enrollment before and after. apply runs in the transaction
// (ctx), where the approval flow's steps join it.
func (s store) updateEnrollment(ctx context.Context, scope access.Scope, id uuid.UUID, version int,
	apply func(ctx context.Context, e *Enrollment) error) (before, after Enrollment, err error) {
	err = s.db.WithTx(ctx, func(ctx context.Context) error {
		if before, err = s.enrollment(ctx, scope, id, true); err != nil {
			return err
		}
		if version >= 0 && before.Version != version {
			return stale("enrollment", version, before.Version, before.State)
		}
		after = before
		if err := apply(ctx, &after); err != nil {
			return err
		}
		return s.db.Conn(ctx).Raw(`UPDATE enrollments SET state = ?, evidence = ?, flagged_on = ?, flag_reason = NULLIF(?, ''),
			ended_on = ?, end_reason = NULLIF(?, ''), version = version + 1, updated_by = ?, updated_at = now() WHERE id = ?
			RETURNING version, updated_at`, after.State, after.Evidence, after.FlaggedOn, after.FlagReason, after.EndedOn, after.EndReason,
			access.ActorID(ctx), id).Row().Scan(&after.Version, &after.UpdatedAt)
	})
	return before, after, err
}

// setState sets an enrollment's state (the approval flow's decision).
func (s store) setState(ctx context.Context, id uuid.UUID, state string) error {
	return s.db.Conn(ctx).Exec(`UPDATE enrollments SET state = ? WHERE id = ?`, state, id).Error
}

// expired are the approved enrollments of a program and person whose end
// date passed before a date.
func (s store) expired(ctx context.Context, code string, householdID uuid.UUID, memberID *uuid.UUID, before time.Time) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := s.db.Conn(ctx).Raw(`SELECT id FROM enrollments WHERE program_code = ? AND household_id = ?
		AND member_id IS NOT DISTINCT FROM ? AND state = 'approved' AND ends_on < ?`, code, householdID, memberID, before).Scan(&ids).Error
	return ids, err
}

// liveEnrollments are the programs each household (and member) is in or
// proposed for: household id -> member id (uuid.Nil for the household) -> codes.
func (s store) liveEnrollments(ctx context.Context, households []uuid.UUID) (map[uuid.UUID]map[uuid.UUID][]string, error) {
	out := map[uuid.UUID]map[uuid.UUID][]string{}
	if len(households) == 0 {
		return out, nil
	}
	err := db.Each(s.db.Conn(ctx).Raw(`SELECT household_id, coalesce(member_id, '00000000-0000-0000-0000-000000000000'), program_code
		FROM enrollments WHERE household_id IN ? AND state IN ('proposed', 'returned', 'approved')
		AND (ends_on IS NULL OR ends_on >= ?)`, households, vn.Today(time.Now())), func(row db.Scanner) error {
		var h, m uuid.UUID
		var code string
		if err := row.Scan(&h, &m, &code); err != nil {
			return err
		}
		if out[h] == nil {
			out[h] = map[uuid.UUID][]string{}
		}
		out[h][m] = append(out[h][m], code)
		return nil
	})
	return out, err
}

// escapes are when each household last left poverty (a recognized change
// from poor), for those that did.
func (s store) escapes(ctx context.Context, households []uuid.UUID) (map[uuid.UUID]time.Time, error) {
	out := map[uuid.UUID]time.Time{}
	if len(households) == 0 {
		return out, nil
	}
	err := db.Each(s.db.Conn(ctx).Raw(`SELECT household_id, max(effective_date) FROM classification_changes
		WHERE household_id IN ? AND from_class = 'poor' GROUP BY household_id`, households), func(row db.Scanner) error {
		var h uuid.UUID
		var d time.Time
		if err := row.Scan(&h, &d); err != nil {
			return err
		}
		out[h] = d
		return nil
	})
	return out, err
}

func (s store) deliveries(ctx context.Context, scope access.Scope, enrollmentID *uuid.UUID, expiringBy *time.Time, from time.Time, limit int) ([]Delivery, error) {
	q := scope.Filter(s.db.Conn(ctx).Table("deliveries"), "deliveries.area_path").
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
	return db.Collect(q.Limit(limit), func(row db.Scanner) (Delivery, error) {
		var d Delivery
		var details []byte
		if err := row.Scan(&d.ID, &d.EnrollmentID, &d.Kind, &d.AreaPath, &d.OccurredOn, &d.Amount, &d.ExpiresOn, &d.CampaignID,
			&details, &d.CreatedAt); err != nil {
			return d, err
		}
		return d, json.Unmarshal(details, &d.Details)
	})
}

// insertDelivery records support delivered.
func (s store) insertDelivery(ctx context.Context, d Delivery) error {
	b, err := json.Marshal(d.Details)
	if err != nil {
		return err
	}
	return s.db.Conn(ctx).Exec(`INSERT INTO deliveries (id, enrollment_id, kind, area_path, occurred_on, amount, expires_on,
			campaign_id, details, created_by) VALUES (?, ?, ?, ?::ltree, ?, ?, ?, ?, ?, ?)`, d.ID, d.EnrollmentID, d.Kind, d.AreaPath,
		d.OccurredOn, d.Amount, d.ExpiresOn, d.CampaignID, string(b), access.ActorID(ctx)).Error
}
