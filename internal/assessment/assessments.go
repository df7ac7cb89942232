package assessment

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// AnswerInput is a worker's answer to one indicator. Deprived may be left
// out where the registry prefills the indicator.
type AnswerInput struct {
	Indicator string
	Deprived  *bool
	Answer    string
	Note      string
}

// AssessmentInput is what a worker records; nil leaves a field alone when
// changing a draft.
type AssessmentInput struct {
	ID              uuid.UUID // optional: a mobile client may mint it
	ReviewID        uuid.UUID
	ReferenceDate   *time.Time // defaults to the review's
	IncomePerPerson *int64
	Answers         []AnswerInput
	Note            *string
}

// buildAnswers answers every indicator of the standard: the worker's answer,
// or the registry's prefill, or the earlier answer of a draft being changed.
// A worker's answer that contradicts the registry needs a note.
func buildAnswers(std Standard, h household.Household, ref time.Time, in []AnswerInput, prev []Answer, fe *apperr.FieldList) []Answer {
	given := map[string]int{}
	for i, a := range in {
		field := fmt.Sprintf("answers[%d]", i)
		if _, ok := std.Indicator(a.Indicator); !ok {
			fe.Add(field+".indicator", "unknown", "%q is not an indicator of standard %s", a.Indicator, std.Code)
			continue
		}
		if _, dup := given[a.Indicator]; dup {
			fe.Add(field+".indicator", "duplicate", "%s is answered twice", a.Indicator)
			continue
		}
		if len(a.Answer) > 500 || len(a.Note) > 500 {
			fe.Add(field, "too_long", "answer and note are at most 500 characters each")
		}
		given[a.Indicator] = i
	}
	previous := map[string]Answer{}
	for _, a := range prev {
		previous[a.Indicator] = a
	}
	var out []Answer
	var missing []string
	for _, ind := range std.Indicators {
		var pf *Prefill
		if ind.Prefill != "" {
			if p, ok := prefill(ind.Prefill, h, ref); ok {
				pf = &p
			}
		}
		ans := Answer{Indicator: ind.Code, Prefill: pf}
		i, ok := given[ind.Code]
		switch {
		case ok && in[i].Deprived != nil:
			ans.Deprived, ans.Answer, ans.Note = *in[i].Deprived, strings.TrimSpace(in[i].Answer), strings.TrimSpace(in[i].Note)
			switch {
			case pf == nil:
				ans.Source = SourceWorker
			case pf.Deprived == ans.Deprived:
				ans.Source = SourceRegistry
			default:
				ans.Source = SourceOverride
				if ans.Note == "" {
					fe.Add(fmt.Sprintf("answers[%d].note", i), "required",
						"the registry says %s; say why the answer differs (%s)", yesNo(pf.Deprived), pf.Reason)
				}
			}
		case pf != nil && (!ok && previous[ind.Code].Source != SourceOverride && previous[ind.Code].Source != SourceWorker || ok):
			ans.Deprived, ans.Source = pf.Deprived, SourceRegistry
			if ok {
				ans.Answer, ans.Note = strings.TrimSpace(in[i].Answer), strings.TrimSpace(in[i].Note)
			}
		case !ok && previous[ind.Code].Source != "":
			p := previous[ind.Code]
			ans.Deprived, ans.Answer, ans.Note, ans.Source = p.Deprived, p.Answer, p.Note, p.Source
			if pf != nil && p.Source == SourceOverride && pf.Deprived == p.Deprived {
				ans.Source = SourceRegistry // the registry caught up with the worker
			}
		default:
			missing = append(missing, ind.Code)
			continue
		}
		out = append(out, ans)
	}
	if len(missing) > 0 {
		fe.Add("answers", "missing", "answer every indicator the registry cannot judge; missing: %s", strings.Join(missing, ", "))
	}
	return out
}

func yesNo(deprived bool) string {
	if deprived {
		return "deprived"
	}
	return "not deprived"
}

func deprivedCodes(answers []Answer) []string {
	var out []string
	for _, a := range answers {
		if a.Deprived {
			out = append(out, a.Indicator)
		}
	}
	return out
}

// evaluate fills an assessment's standard, answers and result from the
// household's record and the input, collecting every problem.
func (s *Service) evaluate(ctx context.Context, a *Assessment, h household.Household, in AssessmentInput) error {
	standards, err := s.store.standards(ctx)
	if err != nil {
		return err
	}
	return s.evaluateWith(standards, a, h, in)
}

// evaluateWith is evaluate with the standards already read.
func (s *Service) evaluateWith(standards []Standard, a *Assessment, h household.Household, in AssessmentInput) error {
	var fe apperr.FieldList
	if in.ReferenceDate != nil {
		a.ReferenceDate = *in.ReferenceDate
	}
	if in.IncomePerPerson != nil {
		a.IncomePerPerson = *in.IncomePerPerson
	}
	if in.Note != nil {
		a.Note = strings.TrimSpace(*in.Note)
	}
	if a.IncomePerPerson < 0 || a.IncomePerPerson > 1_000_000_000 {
		fe.Add("income_per_person", "invalid", "must be whole VND per person per month, from 0 to 1,000,000,000")
	}
	if len(a.Note) > 1000 {
		fe.Add("note", "too_long", "must be at most 1000 characters")
	}
	if a.ReferenceDate.After(s.today().AddDate(1, 0, 0)) || a.ReferenceDate.Year() < 2000 {
		fe.Add("reference_date", "invalid", "must be a date from 2000 to a year from now")
	}
	std, ok := Choose(standards, h.AreaPath, a.ReferenceDate)
	if !ok {
		fe.Add("reference_date", "no_standard", "no poverty standard is in force on %s", a.ReferenceDate.Format(time.DateOnly))
		return fe.Err()
	}
	var prev []Answer
	if a.StandardCode == std.Code {
		prev = a.Answers
	}
	a.StandardCode, a.AreaType = std.Code, h.AreaType
	a.Answers = buildAnswers(std, h, a.ReferenceDate, in.Answers, prev, &fe)
	if err := fe.Err(); err != nil {
		return err
	}
	a.Result = Classify(std, a.AreaType, a.IncomePerPerson, deprivedCodes(a.Answers))
	return nil
}

// CreateAssessment records a household's assessment in a review of its commune.
func (s *Service) CreateAssessment(ctx context.Context, scope access.Scope, householdID uuid.UUID, in AssessmentInput) (Assessment, error) {
	var out Assessment
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		h, err := s.registry.Get(ctx, scope, householdID)
		if err != nil {
			return err
		}
		if h.Status != "active" {
			return apperr.New(apperr.Conflict, "household_archived", "the household is archived")
		}
		r, err := s.reviewFor(ctx, scope, h, in.ReviewID)
		if err != nil {
			return err
		}
		a := Assessment{ID: in.ID, HouseholdID: h.ID, ReviewID: r.ID, AreaPath: h.AreaPath, ReferenceDate: r.ReferenceDate}
		if a.ID == uuid.Nil {
			a.ID = uuid.Must(uuid.NewV7())
		}
		if err := s.evaluate(ctx, &a, h, in); err != nil {
			return err
		}
		if err := s.store.insertAssessment(ctx, a, access.ActorID(ctx)); err != nil {
			if apperr.Is(err, apperr.Conflict) {
				return apperr.New(apperr.Conflict, "assessment_exists",
					"this household already has an assessment in this review (or the id is taken): change that one")
			}
			return err
		}
		if r.State == StateOpen {
			if err := s.store.setReviewState(ctx, r.ID, StateSurveying); err != nil {
				return err
			}
		}
		if out, err = s.saved(ctx, a.ID); err != nil {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "assessment.create", EntityType: "assessment",
			EntityID: a.ID.String(), AreaPath: a.AreaPath, After: assessmentState(out)})
	})
	return out, db.MapError(err)
}

// reviewFor locks the review a new assessment of household h goes in: one
// in scope, of h's commune (of h's request for a regular one), taking
// assessments, while no other review of h is undecided.
func (s *Service) reviewFor(ctx context.Context, scope access.Scope, h household.Household, id uuid.UUID) (Review, error) {
	r, err := s.store.review(ctx, scope, id, true)
	if apperr.Is(err, apperr.NotFound) {
		return Review{}, apperr.Fields([]apperr.FieldError{{Field: "review_id", Code: "not_found", Message: "no such review in your area"}})
	}
	if err != nil {
		return Review{}, err
	}
	if r.CommuneEdition != h.CommuneEdition || r.CommuneCode != h.CommuneCode {
		return Review{}, apperr.Fields([]apperr.FieldError{{Field: "review_id", Code: "other_commune", Message: "the review is of another commune"}})
	}
	if r.Kind == Regular && *r.HouseholdID != h.ID {
		return Review{}, apperr.Fields([]apperr.FieldError{{Field: "review_id", Code: "other_household", Message: "this regular review is of another household's request"}})
	}
	if err := r.TakeAssessments(); err != nil {
		return Review{}, err
	}
	other, err := s.store.undecidedReviewOf(ctx, h.ID, r.ID)
	if err != nil {
		return Review{}, err
	}
	if other != nil {
		return Review{}, apperr.New(apperr.Conflict, "household_in_open_review",
			"the household is being assessed in review %s, which is not decided yet", other)
	}
	return r, nil
}

// UpdateAssessment changes a draft assessment still at version; the registry
// is read again, so prefilled answers follow corrections made there.
func (s *Service) UpdateAssessment(ctx context.Context, scope access.Scope, id uuid.UUID, version int, in AssessmentInput) (Assessment, error) {
	var out Assessment
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		// Lock the review before the assessment, in the order review actions do.
		peek, err := s.store.assessment(ctx, scope, id, false)
		if err != nil {
			return err
		}
		r, err := s.store.review(ctx, access.Everywhere(), peek.ReviewID, true)
		if err != nil {
			return err
		}
		before, err := s.store.updateAssessment(ctx, scope, id, version, func(a *Assessment) error {
			if err := a.Revise(); err != nil {
				return err
			}
			if err := r.AllowChanges(); err != nil {
				return err
			}
			h, err := s.registry.Get(ctx, scope, a.HouseholdID)
			if err != nil {
				return err
			}
			return s.evaluate(ctx, a, h, in)
		})
		if err != nil {
			return err
		}
		if out, err = s.saved(ctx, id); err != nil {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "assessment.update", EntityType: "assessment",
			EntityID: id.String(), AreaPath: before.AreaPath, Before: assessmentState(before), After: assessmentState(out)})
	})
	return out, db.MapError(err)
}

// Assessment reads one assessment in scope.
func (s *Service) Assessment(ctx context.Context, scope access.Scope, id uuid.UUID) (Assessment, error) {
	a, err := s.store.assessment(ctx, scope, id, false)
	if err != nil {
		return Assessment{}, db.MapError(err)
	}
	s.reads.Read(ctx, "assessment", a.AreaPath, a.ID)
	return a, nil
}

// Assessments lists assessments in scope, in id order after the cursor.
func (s *Service) Assessments(ctx context.Context, scope access.Scope, f AssessmentFilter, after uuid.UUID, limit int) ([]Assessment, error) {
	if f.ReviewID != nil { // an unknown review is not found, not an empty list
		if _, err := s.store.review(ctx, scope, *f.ReviewID, false); err != nil {
			return nil, db.MapError(err)
		}
	}
	out, err := s.store.assessments(ctx, scope, f, after, limit)
	if err != nil {
		return nil, db.MapError(err)
	}
	s.noteAssessmentReads(ctx, out)
	return out, nil
}

func (s *Service) noteAssessmentReads(ctx context.Context, as []Assessment) {
	byArea := map[string][]uuid.UUID{}
	for _, a := range as {
		byArea[a.AreaPath] = append(byArea[a.AreaPath], a.ID)
	}
	for area, ids := range byArea {
		s.reads.Read(ctx, "assessment", area, ids...)
	}
}

// FeedLoader serves assessments to the registry's sync feed, by id (the
// feed's handler renders them with Handler.FeedView).
func (s *Service) FeedLoader(ctx context.Context, scope access.Scope, ids []uuid.UUID) (map[uuid.UUID]any, error) {
	list, err := s.AssessmentsByID(ctx, scope, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]any, len(list))
	for _, a := range list {
		out[a.ID] = a
	}
	return out, nil
}

// AssessmentsByID reads assessments in scope by id (the sync feed).
func (s *Service) AssessmentsByID(ctx context.Context, scope access.Scope, ids []uuid.UUID) ([]Assessment, error) {
	out, err := s.store.assessmentsByID(ctx, scope, ids)
	if err != nil {
		return nil, db.MapError(err)
	}
	s.noteAssessmentReads(ctx, out)
	return out, nil
}
