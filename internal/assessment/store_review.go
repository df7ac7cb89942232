package assessment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

const reviewColumns = `reviews.id, reviews.kind, reviews.commune_code, reviews.commune_edition, reviews.area_path::text, reviews.year, reviews.reference_date,
	reviews.household_id, reviews.requested_on, reviews.decide_by, reviews.state, reviews.meeting_date,
	coalesce(reviews.meeting_chair, ''), reviews.meeting_attendees, reviews.posting_start, reviews.posting_end,
	coalesce(reviews.decision_number, ''), reviews.decision_date, coalesce(reviews.decision_signer, ''),
	coalesce(reviews.return_reason, ''), reviews.note, reviews.version, reviews.created_at, reviews.updated_at`

func scanReview(row db.Scanner) (Review, error) {
	var r Review
	err := row.Scan(&r.ID, &r.Kind, &r.CommuneCode, &r.CommuneEdition, &r.AreaPath, &r.Year, &r.ReferenceDate, &r.HouseholdID, &r.RequestedOn,
		&r.DecideBy, &r.State, &r.MeetingDate, &r.MeetingChair, &r.Attendees, &r.PostingStart, &r.PostingEnd,
		&r.DecisionNumber, &r.DecisionDate, &r.DecisionSigner, &r.ReturnReason, &r.Note, &r.Version, &r.CreatedAt, &r.UpdatedAt)
	return r, err
}

// review reads one review in scope, locking it when asked, with its counts.
func (s store) review(ctx context.Context, scope access.Scope, id uuid.UUID, forUpdate bool) (Review, error) {
	q := scope.Filter(s.db.Conn(ctx).Table("reviews"), "reviews.area_path").Select(reviewColumns).Where("reviews.id = ?", id)
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
	err := db.Each(s.db.Conn(ctx).Raw(`SELECT review_id, state, result, count(*) FROM assessments
		WHERE review_id = ANY (?::uuid[]) GROUP BY review_id, state, result`, db.UUIDArray(ids)), func(row db.Scanner) error {
		var id uuid.UUID
		var state, result string
		var n int
		if err := row.Scan(&id, &state, &result, &n); err != nil {
			return err
		}
		c := out[id]
		c["assessments"] += n
		c[state] += n
		c["result_"+result] += n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReviewFilter narrows a review list.
type ReviewFilter struct {
	AreaCode string // a commune, district or province: reviews within it
	Year     int    // 0 for any
	State    string
	Kind     string
}

func (s store) reviews(ctx context.Context, scope access.Scope, f ReviewFilter, after uuid.UUID, limit int) ([]Review, error) {
	q := scope.Filter(s.db.Conn(ctx).Table("reviews"), "reviews.area_path").Select(reviewColumns)
	if f.AreaCode != "" {
		q = q.Where("reviews.area_path <@ (SELECT path FROM areas WHERE edition = area_edition_in_use() AND code = ?)", f.AreaCode)
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
	out, err := db.Collect(q.Order("reviews.id").Limit(limit), scanReview)
	if err != nil {
		return nil, err
	}
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

// insertReview opens a review; a periodic review of a commune and year that
// exists (or a taken id) is a Conflict.
func (s store) insertReview(ctx context.Context, r Review, actor *uuid.UUID) error {
	return db.MapError(s.db.Conn(ctx).Exec(`INSERT INTO reviews (id, kind, commune_code, commune_edition, area_path, year, reference_date,
		household_id, requested_on, decide_by, note, created_by, updated_by) VALUES (?, ?, ?, ?, ?::ltree, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Kind, r.CommuneCode, r.CommuneEdition, r.AreaPath, r.Year, r.ReferenceDate, r.HouseholdID, r.RequestedOn, r.DecideBy, r.Note,
		actor, actor).Error)
}

// updateReview is the read-modify-write of a review in scope: it locks the
// row, lets change apply a transition to a copy, checks the version that
// If-Match gave (version < 0: none given; the state check then guards
// against a lost race) before anything is written, and writes the changed
// row with the next version. The transition's own refusal comes first, so
// that a client that lost a race is told the state the winner left (409),
// not only that its copy is stale. It returns the row as it was.
func (s store) updateReview(ctx context.Context, scope access.Scope, id uuid.UUID, version int, change func(*Review) error) (Review, error) {
	before, err := s.review(ctx, scope, id, true)
	if err != nil {
		return Review{}, err
	}
	r := before
	if err := change(&r); err != nil {
		return before, err
	}
	if version >= 0 && before.Version != version {
		return before, &apperr.Error{Kind: apperr.PreconditionFailed, Code: "precondition_failed", State: before.State,
			Message: fmt.Sprintf("the review was changed since you read it (version %d, now %d): read it again", version, before.Version)}
	}
	return before, s.db.Conn(ctx).Exec(`UPDATE reviews SET state = ?, meeting_date = ?, meeting_chair = NULLIF(?, ''),
		meeting_attendees = ?, posting_start = ?, posting_end = ?, decision_number = NULLIF(?, ''), decision_date = ?,
		decision_signer = NULLIF(?, ''), return_reason = NULLIF(?, ''), version = version + 1, updated_by = ?, updated_at = now()
		WHERE id = ?`, r.State, r.MeetingDate, r.MeetingChair, r.Attendees, r.PostingStart, r.PostingEnd, r.DecisionNumber,
		r.DecisionDate, r.DecisionSigner, r.ReturnReason, access.ActorID(ctx), id).Error
}

// setReviewState moves a review on as a side effect of an assessment's
// change (the first assessment starts the survey).
func (s store) setReviewState(ctx context.Context, id uuid.UUID, state string) error {
	return s.db.Conn(ctx).Exec(`UPDATE reviews SET state = ?, version = version + 1, updated_by = ?, updated_at = now() WHERE id = ?`,
		state, access.ActorID(ctx), id).Error
}

// undecidedReviewOf is another review than except in which the household is
// assessed and that is not recognized yet, or nil.
func (s store) undecidedReviewOf(ctx context.Context, householdID, except uuid.UUID) (*uuid.UUID, error) {
	others, err := s.undecidedReviewsOf(ctx, []uuid.UUID{householdID}, except)
	if other, ok := others[householdID]; ok && err == nil {
		return &other, nil
	}
	return nil, err
}

// tally counts what a submission checks.
func (s store) tally(ctx context.Context, reviewID uuid.UUID) (Tally, error) {
	var t Tally
	err := s.db.Conn(ctx).Raw(`SELECT (SELECT count(*) FROM review_objections WHERE review_id = ? AND outcome IS NULL),
		count(*) FILTER (WHERE state <> 'agreed'), count(*) FILTER (WHERE state = 'draft'), count(*)
		FROM assessments WHERE review_id = ?`, reviewID, reviewID).Row().Scan(&t.Open, &t.NotAgreed, &t.Drafts, &t.Total)
	return t, err
}

// ---- objections ----

func (s store) objections(ctx context.Context, reviewID uuid.UUID) ([]Objection, error) {
	return db.Collect(s.db.Conn(ctx).Raw(`SELECT id, review_id, household_id, raised_by, raised_on, content, coalesce(outcome, ''),
		coalesce(resolution, ''), resolved_at, created_at FROM review_objections WHERE review_id = ? ORDER BY id`, reviewID),
		func(row db.Scanner) (Objection, error) {
			var o Objection
			err := row.Scan(&o.ID, &o.ReviewID, &o.HouseholdID, &o.RaisedBy, &o.RaisedOn, &o.Content, &o.Outcome,
				&o.Resolution, &o.ResolvedAt, &o.CreatedAt)
			return o, err
		})
}

// inReview reports whether the household is assessed in the review.
func (s store) inReview(ctx context.Context, reviewID, householdID uuid.UUID) (bool, error) {
	var n int
	err := s.db.Conn(ctx).Raw(`SELECT count(*) FROM assessments WHERE review_id = ? AND household_id = ?`,
		reviewID, householdID).Scan(&n).Error
	return n > 0, err
}

func (s store) insertObjection(ctx context.Context, o Objection, actor *uuid.UUID) error {
	return s.db.Conn(ctx).Exec(`INSERT INTO review_objections (id, review_id, household_id, raised_by, raised_on, content, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, o.ID, o.ReviewID, o.HouseholdID, o.RaisedBy, o.RaisedOn, o.Content, actor).Error
}

// lockObjection reads an objection of the review for update: the household
// it is about (or nil) and whether it is resolved.
func (s store) lockObjection(ctx context.Context, reviewID, id uuid.UUID) (Objection, error) {
	o := Objection{ID: id, ReviewID: reviewID}
	err := s.db.Conn(ctx).Raw(`SELECT household_id, coalesce(outcome, '') FROM review_objections WHERE id = ? AND review_id = ?
		FOR UPDATE`, id, reviewID).Row().Scan(&o.HouseholdID, &o.Outcome)
	if errors.Is(err, sql.ErrNoRows) {
		return o, errObjectionNotFound
	}
	return o, err
}

func (s store) resolveObjection(ctx context.Context, id uuid.UUID, outcome, resolution string, actor *uuid.UUID) error {
	return s.db.Conn(ctx).Exec(`UPDATE review_objections SET outcome = ?, resolution = ?, resolved_by = ?, resolved_at = now()
		WHERE id = ?`, outcome, resolution, actor, id).Error
}

// ---- recognition ----

// classificationChange is a recognized change of a household's class.
type classificationChange struct {
	Assessment Assessment
	Review     Review
	From, To   string
	Lists      []string
}

func (s store) insertClassificationChange(ctx context.Context, c classificationChange) error {
	a, r := c.Assessment, c.Review
	return s.db.Conn(ctx).Exec(`INSERT INTO classification_changes (id, household_id, area_path, review_id, assessment_id,
		standard_code, from_class, to_class, effective_date, decision_number, lists)
		VALUES (?, ?, ?::ltree, ?, ?, ?, ?, ?, ?, ?, ?::text[])`, uuid.Must(uuid.NewV7()), a.HouseholdID, a.AreaPath, r.ID, a.ID,
		a.StandardCode, c.From, c.To, *r.DecisionDate, r.DecisionNumber, db.TextArray(c.Lists)).Error
}

// list reads the households a recognized review put on a list.
func (s store) list(ctx context.Context, reviewID uuid.UUID, kind string) ([]ListEntry, error) {
	return db.Collect(s.db.Conn(ctx).Raw(`SELECT h.id, h.code, h.village, coalesce(m.full_name, ''), c.from_class, c.to_class,
		c.effective_date, c.decision_number, a.income_per_person, a.deprivations
		FROM classification_changes c
		JOIN households h ON h.id = c.household_id
		JOIN assessments a ON a.id = c.assessment_id
		LEFT JOIN members m ON m.household_id = h.id AND m.relationship = 'head' AND m.status = 'present'
		WHERE c.review_id = ? AND ? = ANY (c.lists) ORDER BY h.village, h.code`, reviewID, kind), func(row db.Scanner) (ListEntry, error) {
		var e ListEntry
		err := row.Scan(&e.HouseholdID, &e.HouseholdCode, &e.Village, &e.HeadName, &e.From, &e.To, &e.EffectiveDate,
			&e.DecisionNumber, &e.Income, &e.Deprivations)
		return e, err
	})
}

// escapedSince reports whether a household left poverty on or after a date
// (a recognized change from poor to anything else).
func (s store) escapedSince(ctx context.Context, householdID uuid.UUID, since time.Time) (bool, error) {
	var n int
	err := s.db.Conn(ctx).Raw(`SELECT count(*) FROM classification_changes WHERE household_id = ? AND from_class = 'poor'
		AND effective_date >= ?`, householdID, since).Scan(&n).Error
	return n > 0, err
}
