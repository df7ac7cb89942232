package assessment

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// store is the package's SQL; scope is applied in every query of area data.
type store struct{ db *db.DB }

func inScope(q *gorm.DB, scope access.Scope, column string) *gorm.DB {
	if scope.IsEverywhere() {
		return q
	}
	cond, args := scope.SQL(column)
	return q.Where(cond, args...)
}

// standards reads every standard with its indicators, oldest first.
func (s store) standards(ctx context.Context) ([]Standard, error) {
	rows, err := s.db.Conn(ctx).Raw(`SELECT code, name, legal_source, valid_from, valid_to, coalesce(area_code, ''),
		coalesce(area_path::text, ''), income_line_rural, income_line_urban, average_max_rural, average_max_urban,
		poor_min_deprivations, notes FROM poverty_standards ORDER BY valid_from, code`).Rows()
	if err != nil {
		return nil, err
	}
	var out []Standard
	index := map[string]int{}
	for rows.Next() {
		var st Standard
		if err := rows.Scan(&st.Code, &st.Name, &st.LegalSource, &st.ValidFrom, &st.ValidTo, &st.AreaCode, &st.AreaPath,
			&st.LineRural, &st.LineUrban, &st.AverageMaxRural, &st.AverageMaxUrban, &st.PoorMinDeprivations, &st.Notes); err != nil {
			rows.Close()
			return nil, err
		}
		index[st.Code] = len(out)
		out = append(out, st)
	}
	rows.Close()
	rows, err = s.db.Conn(ctx).Raw(`SELECT standard_code, code, position, dimension, name_vi, name_en, criterion,
		coalesce(prefill, '') FROM poverty_indicators ORDER BY standard_code, position`).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var std string
		var i Indicator
		if err := rows.Scan(&std, &i.Code, &i.Position, &i.Dimension, &i.NameVI, &i.NameEN, &i.Criterion, &i.Prefill); err != nil {
			return nil, err
		}
		if k, ok := index[std]; ok {
			out[k].Indicators = append(out[k].Indicators, i)
		}
	}
	return out, rows.Err()
}

func (s store) insertStandard(ctx context.Context, st Standard, actor *uuid.UUID) error {
	conn := s.db.Conn(ctx)
	if err := conn.Exec(`INSERT INTO poverty_standards (code, name, legal_source, valid_from, valid_to, area_code, area_path,
		income_line_rural, income_line_urban, average_max_rural, average_max_urban, poor_min_deprivations, notes, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?::ltree, ?, ?, ?, ?, ?, ?, ?)`, st.Code, st.Name, st.LegalSource, st.ValidFrom, st.ValidTo,
		st.AreaCode, st.AreaPath, st.LineRural, st.LineUrban, st.AverageMaxRural, st.AverageMaxUrban, st.PoorMinDeprivations,
		st.Notes, actor).Error; err != nil {
		return err
	}
	for _, i := range st.Indicators {
		if err := conn.Exec(`INSERT INTO poverty_indicators (standard_code, code, position, dimension, name_vi, name_en, criterion, prefill)
			VALUES (?, ?, ?, ?, ?, ?, ?, NULLIF(?, ''))`, st.Code, i.Code, i.Position, i.Dimension, i.NameVI, i.NameEN,
			i.Criterion, i.Prefill).Error; err != nil {
			return err
		}
	}
	return nil
}

const reviewColumns = `reviews.id, reviews.kind, reviews.commune_code, reviews.area_path::text, reviews.year, reviews.reference_date,
	reviews.household_id, reviews.requested_on, reviews.decide_by, reviews.state, reviews.meeting_date,
	coalesce(reviews.meeting_chair, ''), reviews.meeting_attendees, reviews.posting_start, reviews.posting_end,
	coalesce(reviews.decision_number, ''), reviews.decision_date, coalesce(reviews.decision_signer, ''),
	coalesce(reviews.return_reason, ''), reviews.note, reviews.version, reviews.created_at, reviews.updated_at`

func scanReview(row interface{ Scan(...any) error }) (Review, error) {
	var r Review
	err := row.Scan(&r.ID, &r.Kind, &r.CommuneCode, &r.AreaPath, &r.Year, &r.ReferenceDate, &r.HouseholdID, &r.RequestedOn,
		&r.DecideBy, &r.State, &r.MeetingDate, &r.MeetingChair, &r.Attendees, &r.PostingStart, &r.PostingEnd,
		&r.DecisionNumber, &r.DecisionDate, &r.DecisionSigner, &r.ReturnReason, &r.Note, &r.Version, &r.CreatedAt, &r.UpdatedAt)
	return r, err
}

// review reads one review in scope, locking it when asked, with its counts.
func (s store) review(ctx context.Context, scope access.Scope, id uuid.UUID, forUpdate bool) (Review, error) {
	q := inScope(s.db.Conn(ctx).Table("reviews"), scope, "reviews.area_path").Select(reviewColumns).Where("reviews.id = ?", id)
	if forUpdate {
		q = q.Clauses(lockForUpdate)
	}
	r, err := scanReview(q.Row())
	if errors.Is(err, sql.ErrNoRows) {
		return Review{}, errReviewNotFound
	}
	if err != nil {
		return Review{}, err
	}
	counts, err := s.counts(ctx, []uuid.UUID{r.ID})
	r.Counts = counts[r.ID]
	return r, err
}

// counts are the reviews' assessments by state and by result.
func (s store) counts(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]map[string]int, error) {
	out := map[uuid.UUID]map[string]int{}
	for _, id := range ids {
		out[id] = map[string]int{"assessments": 0}
	}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.db.Conn(ctx).Raw(`SELECT review_id, state, result, count(*) FROM assessments WHERE review_id IN ?
		GROUP BY review_id, state, result`, ids).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var state, result string
		var n int
		if err := rows.Scan(&id, &state, &result, &n); err != nil {
			return nil, err
		}
		c := out[id]
		c["assessments"] += n
		c[state] += n
		c["result_"+result] += n
	}
	return out, rows.Err()
}

// ReviewFilter narrows a review list.
type ReviewFilter struct {
	AreaCode string // a commune, district or province: reviews within it
	Year     int    // 0 for any
	State    string
	Kind     string
}

func (s store) reviews(ctx context.Context, scope access.Scope, f ReviewFilter, after uuid.UUID, limit int) ([]Review, error) {
	q := inScope(s.db.Conn(ctx).Table("reviews"), scope, "reviews.area_path").Select(reviewColumns)
	if f.AreaCode != "" {
		q = q.Where("reviews.area_path <@ (SELECT path FROM areas WHERE code = ?)", f.AreaCode)
	}
	if f.Year != 0 {
		q = q.Where("reviews.year = ?", f.Year)
	}
	if f.State != "" {
		q = q.Where("reviews.state = ?", f.State)
	}
	if f.Kind != "" {
		q = q.Where("reviews.kind = ?", f.Kind)
	}
	if after != uuid.Nil {
		q = q.Where("reviews.id > ?", after)
	}
	rows, err := q.Order("reviews.id").Limit(limit).Rows()
	if err != nil {
		return nil, err
	}
	var out []Review
	for rows.Next() {
		r, err := scanReview(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, r)
	}
	rows.Close()
	ids := make([]uuid.UUID, len(out))
	for i := range out {
		ids[i] = out[i].ID
	}
	counts, err := s.counts(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Counts = counts[out[i].ID]
	}
	return out, nil
}

const assessmentColumns = `assessments.id, assessments.household_id, assessments.review_id, assessments.area_path::text,
	assessments.reference_date, assessments.standard_code, assessments.area_type, assessments.income_per_person,
	assessments.answers, assessments.deprivations, assessments.result, assessments.reasons, assessments.state,
	assessments.votes_agree, assessments.votes_attendees, assessments.sent_back, assessments.note, assessments.version,
	assessments.created_at, assessments.updated_at`

func scanAssessment(row interface{ Scan(...any) error }) (Assessment, error) {
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

// lockForUpdate locks the row read for the rest of the transaction.
var lockForUpdate = clause.Locking{Strength: "UPDATE"}

func (s store) assessment(ctx context.Context, scope access.Scope, id uuid.UUID, lock bool) (Assessment, error) {
	q := inScope(s.db.Conn(ctx).Table("assessments"), scope, "assessments.area_path").Select(assessmentColumns).
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

// AssessmentFilter selects assessments of a household or of a review.
type AssessmentFilter struct {
	HouseholdID *uuid.UUID
	ReviewID    *uuid.UUID
	State       string
	Result      string
}

func (s store) assessments(ctx context.Context, scope access.Scope, f AssessmentFilter, after uuid.UUID, limit int) ([]Assessment, error) {
	q := inScope(s.db.Conn(ctx).Table("assessments"), scope, "assessments.area_path").Select(assessmentColumns)
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
	rows, err := q.Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Assessment
	for rows.Next() {
		a, err := scanAssessment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// saveAssessment inserts or rewrites an assessment's answers and result.
func (s store) saveAssessment(ctx context.Context, a Assessment, insert bool, actor *uuid.UUID) error {
	answers, err := json.Marshal(a.Answers)
	if err != nil {
		return err
	}
	reasons, err := json.Marshal(a.Result.Reasons)
	if err != nil {
		return err
	}
	if insert {
		return s.db.Conn(ctx).Exec(`INSERT INTO assessments (id, household_id, review_id, area_path, reference_date, standard_code,
			area_type, income_per_person, answers, deprivations, result, reasons, note, created_by, updated_by)
			VALUES (?, ?, ?, ?::ltree, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, a.HouseholdID, a.ReviewID, a.AreaPath,
			a.ReferenceDate, a.StandardCode, a.AreaType, a.IncomePerPerson, string(answers), a.Result.Deprivations,
			a.Result.Classification, string(reasons), a.Note, actor, actor).Error
	}
	return s.db.Conn(ctx).Exec(`UPDATE assessments SET reference_date = ?, standard_code = ?, area_type = ?, income_per_person = ?,
		answers = ?, deprivations = ?, result = ?, reasons = ?, note = ?, sent_back = false, version = version + 1,
		updated_by = ?, updated_at = now() WHERE id = ?`, a.ReferenceDate, a.StandardCode, a.AreaType, a.IncomePerPerson,
		string(answers), a.Result.Deprivations, a.Result.Classification, string(reasons), a.Note, actor, a.ID).Error
}

func (s store) objections(ctx context.Context, reviewID uuid.UUID) ([]Objection, error) {
	rows, err := s.db.Conn(ctx).Raw(`SELECT id, review_id, household_id, raised_by, raised_on, content, coalesce(outcome, ''),
		coalesce(resolution, ''), resolved_at, created_at FROM review_objections WHERE review_id = ? ORDER BY id`, reviewID).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Objection
	for rows.Next() {
		var o Objection
		if err := rows.Scan(&o.ID, &o.ReviewID, &o.HouseholdID, &o.RaisedBy, &o.RaisedOn, &o.Content, &o.Outcome,
			&o.Resolution, &o.ResolvedAt, &o.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// list reads the households a recognized review put on a list.
func (s store) list(ctx context.Context, reviewID uuid.UUID, kind string) ([]ListEntry, error) {
	rows, err := s.db.Conn(ctx).Raw(`SELECT h.id, h.code, h.village, coalesce(m.full_name, ''), c.from_class, c.to_class,
		c.effective_date, c.decision_number, a.income_per_person, a.deprivations
		FROM classification_changes c
		JOIN households h ON h.id = c.household_id
		JOIN assessments a ON a.id = c.assessment_id
		LEFT JOIN members m ON m.household_id = h.id AND m.relationship = 'head' AND m.status = 'present'
		WHERE c.review_id = ? AND ? = ANY (c.lists) ORDER BY h.village, h.code`, reviewID, kind).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ListEntry
	for rows.Next() {
		var e ListEntry
		if err := rows.Scan(&e.HouseholdID, &e.HouseholdCode, &e.Village, &e.HeadName, &e.From, &e.To, &e.EffectiveDate,
			&e.DecisionNumber, &e.Income, &e.Deprivations); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// escapedSince reports whether a household left poverty on or after a date
// (a recognized change from poor to anything else).
func (s store) escapedSince(ctx context.Context, householdID uuid.UUID, since time.Time) (bool, error) {
	var n int
	err := s.db.Conn(ctx).Raw(`SELECT count(*) FROM classification_changes WHERE household_id = ? AND from_class = 'poor'
		AND effective_date >= ?`, householdID, since).Scan(&n).Error
	return n > 0, err
}
