package assessment

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

const assessmentColumns = `assessments.id, assessments.household_id, assessments.review_id, assessments.area_path::text,
	assessments.reference_date, assessments.standard_code, assessments.area_type, assessments.income_per_person,
	assessments.answers, assessments.deprivations, assessments.result, assessments.reasons, assessments.state,
	assessments.votes_agree, assessments.votes_attendees, assessments.sent_back, assessments.note, assessments.version,
	assessments.created_at, assessments.updated_at`

func scanAssessment(row db.Scanner) (Assessment, error) {
	var a Assessment
	var answers, reasons []byte
	err := row.Scan(&a.ID, &a.HouseholdID, &a.ReviewID, &a.AreaPath, &a.ReferenceDate, &a.StandardCode, &a.AreaType,
		&a.IncomePerPerson, &answers, &a.Result.Deprivations, &a.Result.Classification, &reasons, &a.State, &a.VotesAgree,
		&a.VotesAttendees, &a.SentBack, &a.Note, &a.Version, &a.CreatedAt, &a.UpdatedAt)
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(answers, &a.Answers); err != nil {
		return a, fmt.Errorf("assessment %s answers: %w", a.ID, err)
	}
	if err := json.Unmarshal(reasons, &a.Result.Reasons); err != nil {
		return a, fmt.Errorf("assessment %s reasons: %w", a.ID, err)
	}
	return a, nil
}

func (s store) assessment(ctx context.Context, scope access.Scope, id uuid.UUID, lock bool) (Assessment, error) {
	q := scope.Filter(s.db.Conn(ctx).Table("assessments"), "assessments.area_path").Select(assessmentColumns).
		Where("assessments.id = ?", id)
	if lock {
		q = q.Clauses(lockForUpdate)
	}
	a, err := scanAssessment(q.Row())
	if errors.Is(err, sql.ErrNoRows) {
		return Assessment{}, errAssessmentNotFound
	}
	return a, err
}

// assessmentsByID reads the assessments in scope of the given ids, in the
// order of ids; those not found (or out of scope) are left out.
func (s store) assessmentsByID(ctx context.Context, scope access.Scope, ids []uuid.UUID) ([]Assessment, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	found, err := db.Collect(scope.Filter(s.db.Conn(ctx).Table("assessments"), "assessments.area_path").Select(assessmentColumns).
		Where("assessments.id = ANY (?::uuid[])", db.UUIDArray(ids)), scanAssessment)
	if err != nil {
		return nil, err
	}
	byID := make(map[uuid.UUID]Assessment, len(found))
	for _, a := range found {
		byID[a.ID] = a
	}
	out := make([]Assessment, 0, len(found))
	for _, id := range ids {
		if a, ok := byID[id]; ok {
			out = append(out, a)
			delete(byID, id) // an id asked twice is answered once
		}
	}
	return out, nil
}

// AssessmentFilter selects assessments of a household or of a review.
type AssessmentFilter struct {
	HouseholdID *uuid.UUID
	ReviewID    *uuid.UUID
	State       string
	Result      string
}

func (s store) assessments(ctx context.Context, scope access.Scope, f AssessmentFilter, after uuid.UUID, limit int) ([]Assessment, error) {
	q := scope.Filter(s.db.Conn(ctx).Table("assessments"), "assessments.area_path").Select(assessmentColumns)
	if f.HouseholdID != nil {
		q = q.Where("assessments.household_id = ?", *f.HouseholdID)
	}
	if f.ReviewID != nil {
		q = q.Where("assessments.review_id = ?", *f.ReviewID)
	}
	if f.State != "" {
		q = q.Where("assessments.state = ?", f.State)
	}
	if f.Result != "" {
		q = q.Where("assessments.result = ?", f.Result)
	}
	if after != uuid.Nil {
		q = q.Where("assessments.id > ?", after)
	}
	q = q.Order("assessments.id")
	if limit > 0 {
		q = q.Limit(limit)
	}
	return db.Collect(q, scanAssessment)
}

// insertAssessment records a new assessment; one of the household in the
// review already (or a taken id) is a Conflict.
func (s store) insertAssessment(ctx context.Context, a Assessment, actor *uuid.UUID) error {
	return s.insertAssessments(ctx, []Assessment{a}, actor)
}

func marshalResult(a Assessment) (answers, reasons string, err error) {
	ans, err := json.Marshal(a.Answers)
	if err != nil {
		return "", "", err
	}
	rs, err := json.Marshal(a.Result.Reasons)
	if err != nil {
		return "", "", err
	}
	return string(ans), string(rs), nil
}

// updateAssessment is the read-modify-write of an assessment in scope, in
// the same order as updateReview: lock the row, let change apply to a copy
// (its refusal first), check the version If-Match gave before anything is
// written, and write the answers and result with the next version (a
// rewritten assessment is no longer "sent back"). It returns the row as it was.
func (s store) updateAssessment(ctx context.Context, scope access.Scope, id uuid.UUID, version int, change func(*Assessment) error) (Assessment, error) {
	before, err := s.assessment(ctx, scope, id, true)
	if err != nil {
		return Assessment{}, err
	}
	a := before
	if err := change(&a); err != nil {
		return before, err
	}
	if before.Version != version {
		return before, apperr.New(apperr.PreconditionFailed, "precondition_failed",
			"the assessment was changed since you read it (version %d, now %d): read it again", version, before.Version)
	}
	answers, reasons, err := marshalResult(a)
	if err != nil {
		return before, err
	}
	return before, s.db.Conn(ctx).Exec(`UPDATE assessments SET reference_date = ?, standard_code = ?, area_type = ?,
		income_per_person = ?, answers = ?, deprivations = ?, result = ?, reasons = ?, note = ?, sent_back = false,
		version = version + 1, updated_by = ?, updated_at = now() WHERE id = ?`, a.ReferenceDate, a.StandardCode, a.AreaType,
		a.IncomePerPerson, answers, a.Result.Deprivations, a.Result.Classification, reasons, a.Note, access.ActorID(ctx), a.ID).Error
}

// recordVote writes the village meeting's vote on an assessment and the
// state it leads to.
func (s store) recordVote(ctx context.Context, a Assessment) error {
	return s.db.Conn(ctx).Exec(`UPDATE assessments SET state = ?, sent_back = ?, votes_agree = ?, votes_attendees = ?,
		version = version + 1, updated_by = ?, updated_at = now() WHERE id = ?`, a.State, a.SentBack, a.VotesAgree,
		a.VotesAttendees, access.ActorID(ctx), a.ID).Error
}

// sendBack makes an assessment a draft again, sent back to surveying.
func (s store) sendBack(ctx context.Context, id uuid.UUID) error {
	return s.db.Conn(ctx).Exec(`UPDATE assessments SET state = 'draft', sent_back = true, version = version + 1, updated_at = now()
		WHERE id = ?`, id).Error
}

// setAssessmentState moves an assessment on (agreed, recognized) with its review.
func (s store) setAssessmentState(ctx context.Context, id uuid.UUID, state string) error {
	return s.db.Conn(ctx).Exec(`UPDATE assessments SET state = ?, version = version + 1, updated_at = now() WHERE id = ?`,
		state, id).Error
}
