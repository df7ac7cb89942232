package assessment

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/approval"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// registry is what this package needs of the household registry.
type registry interface {
	Get(ctx context.Context, scope access.Scope, id uuid.UUID) (household.Household, error)
	Classify(ctx context.Context, id uuid.UUID, to, decision string, effective time.Time) (from string, changed bool, err error)
	NoteChange(ctx context.Context, entityType string, entityID, householdID uuid.UUID, areaPath string) error
}

// approvals is the generic approval flow.
type approvals interface {
	Submit(ctx context.Context, s approval.Subject, note string) error
	Decide(ctx context.Context, scope access.Scope, s approval.Subject, action approval.Action, reason string) (approval.Decision, error)
	Steps(ctx context.Context, subjectType string, id uuid.UUID) ([]approval.Step, error)
}

// readLogger records reads of personal data (the audit access log).
type readLogger interface {
	Read(ctx context.Context, subjectType, areaPath string, ids ...uuid.UUID)
}

// SubjectType is what reviews are called in the approval flow.
const SubjectType = "review"

// Service applies the assessment and review rules, each change in one
// transaction with its audit event.
type Service struct {
	db        *db.DB
	store     store
	registry  registry
	approvals approvals
	reads     readLogger
	now       func() time.Time
	// reclassified are told of each household whose classification a
	// recognition changed, in the recognition's transaction.
	reclassified []Reclassified
}

// Reclassified is told that a household's classification changed, effective
// on a date, in the recognizing transaction; an error undoes the recognition.
type Reclassified func(ctx context.Context, householdID uuid.UUID, effective time.Time) error

// OnReclassified registers what must follow a household's new
// classification (the programs flag the enrollments it affects). Call it
// while wiring, before serving.
func (s *Service) OnReclassified(fn Reclassified) { s.reclassified = append(s.reclassified, fn) }

// NewService makes the service. Register its Decided with the approval flow
// for SubjectType.
func NewService(pool *db.DB, reg registry, flow approvals, reads readLogger) *Service {
	return &Service{db: pool, store: store{db: pool}, registry: reg, approvals: flow, reads: reads, now: time.Now}
}

func actorID(ctx context.Context) *uuid.UUID {
	a, _ := access.ActorFrom(ctx)
	if a.UserID == uuid.Nil {
		return nil
	}
	return &a.UserID
}

func (s *Service) today() time.Time { return vn.Today(s.now()) }

// ---- standards ----

// Standards lists every poverty standard, national and local.
func (s *Service) Standards(ctx context.Context) ([]Standard, error) {
	out, err := s.store.standards(ctx)
	return out, db.MapError(err)
}

// Standard reads one standard by code.
func (s *Service) Standard(ctx context.Context, code string) (Standard, error) {
	all, err := s.Standards(ctx)
	if err != nil {
		return Standard{}, err
	}
	for _, st := range all {
		if st.Code == code {
			return st, nil
		}
	}
	return Standard{}, errStandardNotFound
}

var standardCode = regexp.MustCompile(`^[A-Za-z0-9._-]{2,40}$`)

// AddLocalStandard records a province's own, higher standard for a period.
// Its indicators are the national standard's in force when it starts; its
// lines may not be below the national lines of any day of its period.
func (s *Service) AddLocalStandard(ctx context.Context, scope access.Scope, st Standard) (Standard, error) {
	var fe apperr.FieldList
	st.Name, st.LegalSource, st.Notes = strings.TrimSpace(st.Name), strings.TrimSpace(st.LegalSource), strings.TrimSpace(st.Notes)
	if !standardCode.MatchString(st.Code) {
		fe.Add("code", "invalid", "2 to 40 letters, digits, dots, dashes or underscores")
	}
	if st.Name == "" || len(st.Name) > 200 {
		fe.Add("name", "required", "is required (at most 200 characters)")
	}
	if st.LegalSource == "" || len(st.LegalSource) > 500 {
		fe.Add("legal_source", "required", "name the decision that sets it (at most 500 characters)")
	}
	if st.ValidFrom.IsZero() || st.ValidTo.IsZero() || st.ValidTo.Before(st.ValidFrom) {
		fe.Add("valid_to", "invalid", "the period needs valid_from and valid_to, in that order")
	}
	if st.PoorMinDeprivations == 0 {
		st.PoorMinDeprivations = 3
	}
	for field, v := range map[string]int64{"income_line_rural": st.LineRural, "income_line_urban": st.LineUrban,
		"average_max_rural": st.AverageMaxRural, "average_max_urban": st.AverageMaxUrban} {
		if v <= 0 || v > 1_000_000_000 {
			fe.Add(field, "invalid", "must be a whole amount of VND between 1 and 1,000,000,000")
		}
	}
	if st.AverageMaxRural <= st.LineRural || st.AverageMaxUrban <= st.LineUrban {
		fe.Add("average_max_rural", "invalid", "the average band must end above the income line")
	}
	if err := fe.Err(); err != nil {
		return Standard{}, err
	}
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		conn := s.db.Conn(ctx)
		var level, path string
		if err := conn.Raw(`SELECT level, path::text FROM areas WHERE code = ?`, st.AreaCode).Row().Scan(&level, &path); err != nil || level != "province" {
			return apperr.Fields([]apperr.FieldError{{Field: "area_code", Code: "invalid", Message: "must be the code of a province"}})
		}
		if !scope.Contains(path) {
			return apperr.New(apperr.Forbidden, "area_outside_scope", "you can set a local standard only for your own province")
		}
		st.AreaPath = path
		// One writer at a time decides overlaps.
		if err := conn.Exec(`SELECT pg_advisory_xact_lock(hashtext('poverty_standards'))`).Error; err != nil {
			return err
		}
		all, err := s.store.standards(ctx)
		if err != nil {
			return err
		}
		var national *Standard
		for i, o := range all {
			overlaps := !o.ValidTo.Before(st.ValidFrom) && !o.ValidFrom.After(st.ValidTo)
			if o.Code == st.Code {
				return apperr.New(apperr.Conflict, "standard_exists", "a standard with code %s exists", st.Code)
			}
			if overlaps && o.AreaPath == path {
				return apperr.New(apperr.Conflict, "standard_overlaps", "standard %s already covers part of this period here", o.Code)
			}
			if overlaps && o.AreaPath == "" {
				if st.LineRural < o.LineRural || st.LineUrban < o.LineUrban {
					return apperr.Fields([]apperr.FieldError{{Field: "income_line_rural", Code: "below_national",
						Message: fmt.Sprintf("a local standard may not be below the national %s (%d rural, %d urban)", o.Code, o.LineRural, o.LineUrban)}})
				}
				if o.InForce(st.ValidFrom) {
					national = &all[i]
				}
			}
		}
		if national == nil {
			return apperr.Fields([]apperr.FieldError{{Field: "valid_from", Code: "no_national_standard",
				Message: "no national standard is in force on this date to take the indicators from"}})
		}
		st.Indicators = national.Indicators
		if err := s.store.insertStandard(ctx, st, actorID(ctx)); err != nil {
			return err
		}
		return audit.Record(ctx, conn, audit.Event{Action: "poverty_standard.create", EntityType: "poverty_standard",
			EntityID: st.Code, AreaPath: path, After: map[string]any{"code": st.Code, "name": st.Name, "legal_source": st.LegalSource,
				"valid_from": st.ValidFrom.Format(time.DateOnly), "valid_to": st.ValidTo.Format(time.DateOnly),
				"income_line_rural": st.LineRural, "income_line_urban": st.LineUrban,
				"average_max_rural": st.AverageMaxRural, "average_max_urban": st.AverageMaxUrban, "based_on": national.Code}})
	})
	if err != nil {
		return Standard{}, db.MapError(err)
	}
	return s.Standard(ctx, st.Code)
}

// ---- assessments ----

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
	standards, err := s.store.standards(ctx)
	if err != nil {
		return err
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
		r, err := s.store.review(ctx, scope, in.ReviewID, true)
		if apperr.Is(err, apperr.NotFound) {
			return apperr.Fields([]apperr.FieldError{{Field: "review_id", Code: "not_found", Message: "no such review in your area"}})
		}
		if err != nil {
			return err
		}
		if r.CommuneCode != h.CommuneCode {
			return apperr.Fields([]apperr.FieldError{{Field: "review_id", Code: "other_commune", Message: "the review is of another commune"}})
		}
		if r.Kind == Regular && *r.HouseholdID != h.ID {
			return apperr.Fields([]apperr.FieldError{{Field: "review_id", Code: "other_household", Message: "this regular review is of another household's request"}})
		}
		if r.State != StateOpen && r.State != StateSurveying {
			return wrongState("take new assessments", r.State)
		}
		var other *uuid.UUID
		if err := s.db.Conn(ctx).Raw(`SELECT r.id FROM assessments a JOIN reviews r ON r.id = a.review_id
			WHERE a.household_id = ? AND r.id <> ? AND r.state <> 'recognized' LIMIT 1`, h.ID, r.ID).Scan(&other).Error; err != nil {
			return err
		}
		if other != nil {
			return apperr.New(apperr.Conflict, "household_in_open_review",
				"the household is being assessed in review %s, which is not decided yet", other)
		}
		a := Assessment{ID: in.ID, HouseholdID: h.ID, ReviewID: r.ID, AreaPath: h.AreaPath, ReferenceDate: r.ReferenceDate}
		if a.ID == uuid.Nil {
			a.ID = uuid.Must(uuid.NewV7())
		}
		if err := s.evaluate(ctx, &a, h, in); err != nil {
			return err
		}
		if err := s.store.saveAssessment(ctx, a, true, actorID(ctx)); err != nil {
			if apperr.Is(db.MapError(err), apperr.Conflict) {
				return apperr.New(apperr.Conflict, "assessment_exists",
					"this household already has an assessment in this review (or the id is taken): change that one")
			}
			return err
		}
		if r.State == StateOpen {
			if err := s.setState(ctx, r.ID, StateSurveying); err != nil {
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

// saved rereads an assessment after a write and puts it on the sync feed.
func (s *Service) saved(ctx context.Context, id uuid.UUID) (Assessment, error) {
	a, err := s.store.assessment(ctx, access.Everywhere(), id, false)
	if err != nil {
		return a, err
	}
	return a, s.registry.NoteChange(ctx, "assessment", a.ID, a.HouseholdID, a.AreaPath)
}

// moved records an assessment's change of state made by a review action
// (a vote, a send-back, an agreement, a recognition): it puts the assessment
// on the sync feed and records its event with the state before and after.
func (s *Service) moved(ctx context.Context, before Assessment, action string) error {
	after, err := s.saved(ctx, before.ID)
	if err != nil {
		return err
	}
	return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "assessment." + action, EntityType: "assessment",
		EntityID: before.ID.String(), AreaPath: before.AreaPath, Before: assessmentState(before), After: assessmentState(after)})
}

// reviewAssessments are a review's assessments (in one state, or all).
func (s *Service) reviewAssessments(ctx context.Context, reviewID uuid.UUID, state string) ([]Assessment, error) {
	return s.store.assessments(ctx, access.Everywhere(), AssessmentFilter{ReviewID: &reviewID, State: state}, uuid.Nil, 0)
}

func (s *Service) setState(ctx context.Context, reviewID uuid.UUID, state string) error {
	return s.db.Conn(ctx).Exec(`UPDATE reviews SET state = ?, version = version + 1, updated_by = ?, updated_at = now() WHERE id = ?`,
		state, actorID(ctx), reviewID).Error
}

// assessmentState is an assessment as the audit trail keeps it.
func assessmentState(a Assessment) map[string]any {
	deprived := deprivedCodes(a.Answers)
	return map[string]any{"household_id": a.HouseholdID, "review_id": a.ReviewID, "reference_date": a.ReferenceDate.Format(time.DateOnly),
		"standard": a.StandardCode, "area_type": a.AreaType, "income_per_person": a.IncomePerPerson, "deprived": deprived,
		"answers": a.Answers, "result": a.Result.Classification, "state": a.State, "sent_back": a.SentBack, "version": a.Version}
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
		before, err := s.store.assessment(ctx, scope, id, true)
		if err != nil {
			return err
		}
		if before.Version != version {
			return apperr.New(apperr.PreconditionFailed, "precondition_failed",
				"the assessment was changed since you read it (version %d, now %d): read it again", version, before.Version)
		}
		if before.State != Draft {
			return errNotDraft
		}
		if r.State != StateSurveying && r.State != StateOpen {
			return wrongState("change assessments", r.State)
		}
		h, err := s.registry.Get(ctx, scope, before.HouseholdID)
		if err != nil {
			return err
		}
		a := before
		if err := s.evaluate(ctx, &a, h, in); err != nil {
			return err
		}
		if err := s.store.saveAssessment(ctx, a, false, actorID(ctx)); err != nil {
			return err
		}
		if out, err = s.saved(ctx, a.ID); err != nil {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "assessment.update", EntityType: "assessment",
			EntityID: a.ID.String(), AreaPath: a.AreaPath, Before: assessmentState(before), After: assessmentState(out)})
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
	var out []Assessment
	for _, id := range ids {
		a, err := s.store.assessment(ctx, scope, id, false)
		if apperr.Is(err, apperr.NotFound) {
			continue
		}
		if err != nil {
			return nil, db.MapError(err)
		}
		out = append(out, a)
	}
	s.noteAssessmentReads(ctx, out)
	return out, nil
}

// ---- reviews ----

// ReviewInput opens a review.
type ReviewInput struct {
	ID            uuid.UUID
	Kind          string
	CommuneCode   string
	Year          int
	ReferenceDate *time.Time
	HouseholdID   *uuid.UUID // regular reviews: the household that asked
	RequestedOn   *time.Time
	Note          string
}

// regularDecisionDays is how long the commune has to decide a household's
// request (Decision 24/2021).
const regularDecisionDays = 15

// CreateReview opens a periodic review of a commune for a year, or a regular
// one on a household's request.
func (s *Service) CreateReview(ctx context.Context, scope access.Scope, in ReviewInput) (Review, error) {
	var fe apperr.FieldList
	r := Review{ID: in.ID, Kind: in.Kind, CommuneCode: in.CommuneCode, Year: in.Year, State: StateOpen, Note: strings.TrimSpace(in.Note)}
	if r.ID == uuid.Nil {
		r.ID = uuid.Must(uuid.NewV7())
	}
	today := s.today()
	switch in.Kind {
	case Periodic:
		if in.HouseholdID != nil || in.RequestedOn != nil {
			fe.Add("household_id", "not_allowed", "a periodic review covers the commune, not one household")
		}
		if in.Year < 2022 || in.Year > today.Year()+1 {
			fe.Add("year", "invalid", "must be from 2022 (the first year of a multidimensional standard kept here) to next year")
		}
		// The periodic review runs 1 September to 14 December; its survey
		// refers to its start unless the province says otherwise.
		r.ReferenceDate = time.Date(in.Year, time.September, 1, 0, 0, 0, 0, time.UTC)
	case Regular:
		if in.HouseholdID == nil {
			fe.Add("household_id", "required", "a regular review is of one household's request")
		}
		requested := today
		if in.RequestedOn != nil {
			requested = *in.RequestedOn
		}
		if requested.After(today) {
			fe.Add("requested_on", "invalid", "must not be in the future")
		}
		decideBy := requested.AddDate(0, 0, regularDecisionDays)
		r.HouseholdID, r.RequestedOn, r.DecideBy, r.ReferenceDate, r.Year = in.HouseholdID, &requested, &decideBy, requested, requested.Year()
	default:
		fe.Add("kind", "invalid", "must be periodic or regular")
	}
	if in.ReferenceDate != nil {
		r.ReferenceDate = *in.ReferenceDate
	}
	if len(r.Note) > 1000 {
		fe.Add("note", "too_long", "must be at most 1000 characters")
	}
	if err := fe.Err(); err != nil {
		return Review{}, err
	}
	var out Review
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		conn := s.db.Conn(ctx)
		var level, path string
		if err := conn.Raw(`SELECT level, path::text FROM areas WHERE code = ?`, r.CommuneCode).Row().Scan(&level, &path); err != nil || level != "commune" {
			return apperr.Fields([]apperr.FieldError{{Field: "commune_code", Code: "invalid", Message: "must be the code of a commune"}})
		}
		if !scope.Contains(path) {
			return apperr.New(apperr.Forbidden, "area_outside_scope", "you can open reviews only in your own communes")
		}
		r.AreaPath = path
		if r.Kind == Regular {
			h, err := s.registry.Get(ctx, scope, *r.HouseholdID)
			if apperr.Is(err, apperr.NotFound) || err == nil && h.CommuneCode != r.CommuneCode {
				return apperr.Fields([]apperr.FieldError{{Field: "household_id", Code: "not_found", Message: "no such household in this commune"}})
			}
			if err != nil {
				return err
			}
		}
		err := conn.Exec(`INSERT INTO reviews (id, kind, commune_code, area_path, year, reference_date, household_id, requested_on,
			decide_by, note, created_by, updated_by) VALUES (?, ?, ?, ?::ltree, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.Kind, r.CommuneCode,
			r.AreaPath, r.Year, r.ReferenceDate, r.HouseholdID, r.RequestedOn, r.DecideBy, r.Note, actorID(ctx), actorID(ctx)).Error
		if apperr.Is(db.MapError(err), apperr.Conflict) {
			return apperr.New(apperr.Conflict, "review_exists", "commune %s already has a periodic review for %d (or the id is taken)", r.CommuneCode, r.Year)
		}
		if err != nil {
			return err
		}
		if out, err = s.store.review(ctx, access.Everywhere(), r.ID, false); err != nil {
			return err
		}
		return audit.Record(ctx, conn, audit.Event{Action: "review.create", EntityType: "review", EntityID: r.ID.String(),
			AreaPath: r.AreaPath, After: reviewState(out)})
	})
	return out, db.MapError(err)
}

// reviewState is a review as the audit trail keeps it.
func reviewState(r Review) map[string]any {
	date := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return t.Format(time.DateOnly)
	}
	return map[string]any{"kind": r.Kind, "commune": r.CommuneCode, "year": r.Year, "reference_date": r.ReferenceDate.Format(time.DateOnly),
		"household_id": r.HouseholdID, "state": r.State, "meeting_date": date(r.MeetingDate), "meeting_attendees": r.Attendees,
		"posting_start": date(r.PostingStart), "posting_end": date(r.PostingEnd), "decision_number": r.DecisionNumber,
		"decision_date": date(r.DecisionDate), "decision_signer": r.DecisionSigner, "return_reason": r.ReturnReason,
		"counts": r.Counts, "version": r.Version}
}

// ReviewDetail is a review with its objections and approval steps.
type ReviewDetail struct {
	Review
	Objections []Objection
	Steps      []approval.Step
}

// Review reads one review in scope with its objections and approval history.
func (s *Service) Review(ctx context.Context, scope access.Scope, id uuid.UUID) (ReviewDetail, error) {
	r, err := s.store.review(ctx, scope, id, false)
	if err != nil {
		return ReviewDetail{}, db.MapError(err)
	}
	d := ReviewDetail{Review: r}
	if d.Objections, err = s.store.objections(ctx, id); err != nil {
		return ReviewDetail{}, db.MapError(err)
	}
	if d.Steps, err = s.approvals.Steps(ctx, SubjectType, id); err != nil {
		return ReviewDetail{}, db.MapError(err)
	}
	return d, nil
}

// Reviews lists reviews in scope, in id order after the cursor.
func (s *Service) Reviews(ctx context.Context, scope access.Scope, f ReviewFilter, after uuid.UUID, limit int) ([]Review, error) {
	out, err := s.store.reviews(ctx, scope, f, after, limit)
	return out, db.MapError(err)
}

// transition is the read-modify-write of a review in scope: lock it, apply
// (which checks the state), check If-Match when given (version < 0: not
// given; the state check then guards against a lost race), and record the
// event with the state before and after. apply must use the context it is
// given; an error undoes everything.
func (s *Service) transition(ctx context.Context, scope access.Scope, id uuid.UUID, version int, action, reason string,
	apply func(ctx context.Context, r *Review) error) (ReviewDetail, error) {
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		before, err := s.store.review(ctx, scope, id, true)
		if err != nil {
			return err
		}
		// The action's own state check comes first: a client that lost a race
		// is told the state the winner left (409), not only that it is stale.
		r := before
		if err := apply(ctx, &r); err != nil {
			return err
		}
		if version >= 0 && before.Version != version {
			return &apperr.Error{Kind: apperr.PreconditionFailed, Code: "precondition_failed", State: before.State,
				Message: fmt.Sprintf("the review was changed since you read it (version %d, now %d): read it again", version, before.Version)}
		}
		if err := s.db.Conn(ctx).Exec(`UPDATE reviews SET version = version + 1, updated_by = ?, updated_at = now() WHERE id = ?`,
			actorID(ctx), id).Error; err != nil {
			return err
		}
		after, err := s.store.review(ctx, access.Everywhere(), id, false)
		if err != nil {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "review." + action, EntityType: "review", EntityID: id.String(),
			AreaPath: after.AreaPath, Reason: reason, Before: reviewState(before), After: reviewState(after)})
	})
	if err != nil {
		return ReviewDetail{}, db.MapError(err)
	}
	return s.Review(ctx, access.Everywhere(), id)
}

// Vote is the village meeting's vote on one household's result.
type Vote struct {
	HouseholdID uuid.UUID
	Agree       int
}

// Meeting is the village meeting's record.
type Meeting struct {
	Date      time.Time
	Chair     string
	Attendees int
	Votes     []Vote
}

// RecordMeeting records the village meeting on the households not yet
// agreed. A household with under half of those attending agreeing goes back
// to surveying; when every household is agreed the review moves on to posting.
func (s *Service) RecordMeeting(ctx context.Context, scope access.Scope, id uuid.UUID, version int, m Meeting) (ReviewDetail, error) {
	var fe apperr.FieldList
	m.Chair = strings.TrimSpace(m.Chair)
	if m.Date.IsZero() || m.Date.After(s.today()) {
		fe.Add("date", "invalid", "is required and must not be in the future")
	}
	if m.Chair == "" || len(m.Chair) > 200 {
		fe.Add("chair", "required", "name who chaired the meeting (the village head)")
	}
	if m.Attendees < 1 || m.Attendees > 100_000 {
		fe.Add("attendees", "invalid", "must be the number of people attending")
	}
	for i, v := range m.Votes {
		if v.Agree < 0 || v.Agree > m.Attendees {
			fe.Add(fmt.Sprintf("votes[%d].agree", i), "invalid", "must be from 0 to the number attending")
		}
	}
	if err := fe.Err(); err != nil {
		return ReviewDetail{}, err
	}
	return s.transition(ctx, scope, id, version, "record_meeting", "", func(ctx context.Context, r *Review) error {
		if r.Kind != Periodic {
			return apperr.New(apperr.Conflict, "no_meeting_for_regular", "a regular review has no village meeting")
		}
		if r.State != StateSurveying {
			return wrongState("record a village meeting", r.State)
		}
		drafts, err := s.reviewAssessments(ctx, r.ID, Draft)
		if err != nil {
			return err
		}
		if len(drafts) == 0 {
			return apperr.New(apperr.Conflict, "nothing_to_vote", "no assessment of this review awaits the meeting")
		}
		votes := map[uuid.UUID]int{}
		var fe apperr.FieldList
		for i, v := range m.Votes {
			if _, dup := votes[v.HouseholdID]; dup {
				fe.Add(fmt.Sprintf("votes[%d].household_id", i), "duplicate", "this household is voted twice")
			}
			votes[v.HouseholdID] = v.Agree
		}
		pending := map[uuid.UUID]bool{}
		var missing []string
		for _, a := range drafts {
			pending[a.HouseholdID] = true
			if _, ok := votes[a.HouseholdID]; !ok {
				missing = append(missing, a.HouseholdID.String())
			}
		}
		for i, v := range m.Votes {
			if !pending[v.HouseholdID] {
				fe.Add(fmt.Sprintf("votes[%d].household_id", i), "not_pending", "this household has no draft assessment in the review")
			}
		}
		if len(missing) > 0 {
			fe.Add("votes", "missing", "every household awaiting the meeting needs a vote; missing: %s", strings.Join(missing, ", "))
		}
		if err := fe.Err(); err != nil {
			return err
		}
		conn := s.db.Conn(ctx)
		sentBack := 0
		for _, a := range drafts {
			agree := votes[a.HouseholdID]
			state, back := Agreed, false
			if 2*agree < m.Attendees { // at least half of those attending must agree
				state, back = Draft, true
				sentBack++
			}
			if err := conn.Exec(`UPDATE assessments SET state = ?, sent_back = ?, votes_agree = ?, votes_attendees = ?,
				version = version + 1, updated_by = ?, updated_at = now() WHERE id = ?`, state, back, agree, m.Attendees,
				actorID(ctx), a.ID).Error; err != nil {
				return err
			}
			if err := s.moved(ctx, a, "vote"); err != nil {
				return err
			}
		}
		next := StateMeetingRecorded
		if sentBack > 0 {
			next = StateSurveying
		}
		return conn.Exec(`UPDATE reviews SET state = ?, meeting_date = ?, meeting_chair = ?, meeting_attendees = ? WHERE id = ?`,
			next, m.Date, m.Chair, m.Attendees, r.ID).Error
	})
}

// Post records the public posting of the result list.
func (s *Service) Post(ctx context.Context, scope access.Scope, id uuid.UUID, version int, start, end time.Time) (ReviewDetail, error) {
	if start.IsZero() || end.IsZero() || end.Before(start) {
		return ReviewDetail{}, apperr.Fields([]apperr.FieldError{{Field: "end_date", Code: "invalid", Message: "give start_date and end_date, in that order"}})
	}
	return s.transition(ctx, scope, id, version, "post", "", func(ctx context.Context, r *Review) error {
		if r.State != StateMeetingRecorded {
			return wrongState("post its list", r.State)
		}
		if r.MeetingDate != nil && start.Before(*r.MeetingDate) {
			return apperr.Fields([]apperr.FieldError{{Field: "start_date", Code: "invalid", Message: "the list is posted after the village meeting"}})
		}
		return s.db.Conn(ctx).Exec(`UPDATE reviews SET state = ?, posting_start = ?, posting_end = ? WHERE id = ?`,
			StatePosted, start, end, r.ID).Error
	})
}

// ObjectionInput is an objection to the posted list.
type ObjectionInput struct {
	HouseholdID *uuid.UUID
	RaisedBy    string
	RaisedOn    time.Time
	Content     string
}

// AddObjection records an objection raised while the list is posted.
func (s *Service) AddObjection(ctx context.Context, scope access.Scope, id uuid.UUID, version int, in ObjectionInput) (ReviewDetail, error) {
	var fe apperr.FieldList
	in.RaisedBy, in.Content = strings.TrimSpace(in.RaisedBy), strings.TrimSpace(in.Content)
	if in.RaisedBy == "" || len(in.RaisedBy) > 200 {
		fe.Add("raised_by", "required", "who raised it (at most 200 characters)")
	}
	if in.Content == "" || len(in.Content) > 2000 {
		fe.Add("content", "required", "what the objection says (at most 2000 characters)")
	}
	if in.RaisedOn.IsZero() || in.RaisedOn.After(s.today()) {
		fe.Add("raised_on", "invalid", "is required and must not be in the future")
	}
	if err := fe.Err(); err != nil {
		return ReviewDetail{}, err
	}
	return s.transition(ctx, scope, id, version, "add_objection", "", func(ctx context.Context, r *Review) error {
		if r.State != StatePosted {
			return wrongState("take objections (only a posted list does)", r.State)
		}
		if in.HouseholdID != nil {
			var n int
			if err := s.db.Conn(ctx).Raw(`SELECT count(*) FROM assessments WHERE review_id = ? AND household_id = ?`,
				r.ID, *in.HouseholdID).Scan(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return apperr.Fields([]apperr.FieldError{{Field: "household_id", Code: "not_in_review", Message: "this household is not in the review"}})
			}
		}
		return s.db.Conn(ctx).Exec(`INSERT INTO review_objections (id, review_id, household_id, raised_by, raised_on, content, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, uuid.Must(uuid.NewV7()), r.ID, in.HouseholdID, in.RaisedBy, in.RaisedOn, in.Content,
			actorID(ctx)).Error
	})
}

// ResolveObjection records how an objection was resolved. An upheld
// objection about a household sends its assessment back to surveying, and
// the review with it: the corrected result goes to a meeting and is posted again.
func (s *Service) ResolveObjection(ctx context.Context, scope access.Scope, id uuid.UUID, version int, objectionID uuid.UUID, outcome, resolution string) (ReviewDetail, error) {
	resolution = strings.TrimSpace(resolution)
	var fe apperr.FieldList
	if outcome != "dismissed" && outcome != "upheld" {
		fe.Add("outcome", "invalid", "must be dismissed or upheld")
	}
	if resolution == "" || len(resolution) > 2000 {
		fe.Add("resolution", "required", "say how it was resolved (at most 2000 characters)")
	}
	if err := fe.Err(); err != nil {
		return ReviewDetail{}, err
	}
	return s.transition(ctx, scope, id, version, "resolve_objection", resolution, func(ctx context.Context, r *Review) error {
		if r.State != StatePosted {
			return wrongState("resolve objections", r.State)
		}
		conn := s.db.Conn(ctx)
		var householdID *uuid.UUID
		var done bool
		err := conn.Raw(`SELECT household_id, outcome IS NOT NULL FROM review_objections WHERE id = ? AND review_id = ? FOR UPDATE`,
			objectionID, r.ID).Row().Scan(&householdID, &done)
		if err != nil {
			return apperr.New(apperr.NotFound, "objection_not_found", "no such objection in this review")
		}
		if done {
			return apperr.New(apperr.Conflict, "objection_resolved", "this objection is already resolved")
		}
		if err := conn.Exec(`UPDATE review_objections SET outcome = ?, resolution = ?, resolved_by = ?, resolved_at = now() WHERE id = ?`,
			outcome, resolution, actorID(ctx), objectionID).Error; err != nil {
			return err
		}
		if outcome != "upheld" || householdID == nil {
			return nil
		}
		all, err := s.reviewAssessments(ctx, r.ID, "")
		if err != nil {
			return err
		}
		for _, a := range all {
			if a.HouseholdID != *householdID {
				continue
			}
			if err := conn.Exec(`UPDATE assessments SET state = 'draft', sent_back = true, version = version + 1, updated_at = now()
				WHERE id = ?`, a.ID).Error; err != nil {
				return err
			}
			if err := s.moved(ctx, a, "send_back"); err != nil {
				return err
			}
		}
		return s.setState(ctx, r.ID, StateSurveying)
	})
}

// Submit sends the review for recognition: a periodic one after its posting
// ended with every objection resolved; a regular one once its household is
// assessed. A returned review may be submitted again.
func (s *Service) Submit(ctx context.Context, scope access.Scope, id uuid.UUID, version int, note string) (ReviewDetail, error) {
	note = strings.TrimSpace(note)
	return s.transition(ctx, scope, id, version, "submit", note, func(ctx context.Context, r *Review) error {
		conn := s.db.Conn(ctx)
		switch {
		case r.State == StateReturned:
		case r.Kind == Periodic && r.State == StatePosted:
			if r.PostingEnd != nil && !r.PostingEnd.Before(s.today()) {
				return apperr.New(apperr.Conflict, "posting_not_over", "the list is posted until %s: submit after that", r.PostingEnd.Format(time.DateOnly))
			}
		case r.Kind == Regular && r.State == StateSurveying:
			// The household's request is decided on its assessment: no meeting.
			drafts, err := s.reviewAssessments(ctx, r.ID, Draft)
			if err != nil {
				return err
			}
			for _, a := range drafts {
				if err := conn.Exec(`UPDATE assessments SET state = 'agreed', version = version + 1, updated_at = now() WHERE id = ?`,
					a.ID).Error; err != nil {
					return err
				}
				if err := s.moved(ctx, a, "agree"); err != nil {
					return err
				}
			}
		default:
			return wrongState("be submitted", r.State)
		}
		var open, drafts, total int
		if err := conn.Raw(`SELECT (SELECT count(*) FROM review_objections WHERE review_id = ? AND outcome IS NULL),
			(SELECT count(*) FILTER (WHERE state <> 'agreed') FROM assessments WHERE review_id = ?),
			(SELECT count(*) FROM assessments WHERE review_id = ?)`, r.ID, r.ID, r.ID).Row().Scan(&open, &drafts, &total); err != nil {
			return err
		}
		if open > 0 {
			return apperr.New(apperr.Conflict, "objections_open", "%d objection(s) are not resolved yet", open)
		}
		if total == 0 || drafts > 0 {
			return apperr.New(apperr.Conflict, "assessments_not_agreed", "every household of the review must be assessed and agreed first")
		}
		if err := conn.Exec(`UPDATE reviews SET state = ?, return_reason = NULL WHERE id = ?`, StateSubmitted, r.ID).Error; err != nil {
			return err
		}
		return s.approvals.Submit(ctx, approval.Subject{Type: SubjectType, ID: r.ID, AreaPath: r.AreaPath}, note)
	})
}

// Reopen takes a returned review back to surveying to correct it: every
// assessment is a draft again and goes to a new meeting and posting.
func (s *Service) Reopen(ctx context.Context, scope access.Scope, id uuid.UUID, version int, reason string) (ReviewDetail, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 1000 {
		return ReviewDetail{}, apperr.Fields([]apperr.FieldError{{Field: "reason", Code: "required", Message: "say what will be corrected"}})
	}
	return s.transition(ctx, scope, id, version, "reopen", reason, func(ctx context.Context, r *Review) error {
		if r.State != StateReturned {
			return wrongState("be reopened", r.State)
		}
		all, err := s.reviewAssessments(ctx, r.ID, "")
		if err != nil {
			return err
		}
		for _, a := range all {
			if err := s.db.Conn(ctx).Exec(`UPDATE assessments SET state = 'draft', sent_back = true, version = version + 1,
				updated_at = now() WHERE id = ?`, a.ID).Error; err != nil {
				return err
			}
			if err := s.moved(ctx, a, "send_back"); err != nil {
				return err
			}
		}
		return s.db.Conn(ctx).Exec(`UPDATE reviews SET state = ?, posting_start = NULL, posting_end = NULL WHERE id = ?`,
			StateSurveying, r.ID).Error
	})
}

// DecisionInput is the recognition decision of a review.
type DecisionInput struct {
	Number string
	Date   time.Time
	Signer string
}

var decisionNumber = regexp.MustCompile(`^[\p{L}\p{N}/._ -]{1,64}$`)

// Recognize approves a submitted review with the recognition decision: every
// household's classification changes, effective on the decision's date, in
// the same transaction (see Decided). The approver must hold the role over
// the commune and must not be the one who submitted it.
func (s *Service) Recognize(ctx context.Context, scope access.Scope, id uuid.UUID, version int, d DecisionInput) (ReviewDetail, error) {
	var fe apperr.FieldList
	d.Number, d.Signer = strings.TrimSpace(d.Number), strings.TrimSpace(d.Signer)
	if !decisionNumber.MatchString(d.Number) {
		fe.Add("decision_number", "invalid", "the decision's number, e.g. 125/QĐ-UBND (at most 64 characters)")
	}
	if d.Date.IsZero() || d.Date.After(s.today()) {
		fe.Add("decision_date", "invalid", "is required and must not be in the future")
	}
	if d.Signer == "" || len(d.Signer) > 200 {
		fe.Add("signer", "required", "who signed the decision")
	}
	if err := fe.Err(); err != nil {
		return ReviewDetail{}, err
	}
	return s.transition(ctx, scope, id, version, "recognize", d.Number, func(ctx context.Context, r *Review) error {
		if r.State != StateSubmitted {
			return wrongState("be recognized", r.State)
		}
		if err := s.db.Conn(ctx).Exec(`UPDATE reviews SET decision_number = ?, decision_date = ?, decision_signer = ?, state = ?
			WHERE id = ?`, d.Number, d.Date, d.Signer, StateRecognized, r.ID).Error; err != nil {
			return err
		}
		_, err := s.approvals.Decide(ctx, scope, approval.Subject{Type: SubjectType, ID: r.ID}, approval.Approve, d.Number)
		return err
	})
}

// Return sends a submitted review back to the commune with the reasons.
func (s *Service) Return(ctx context.Context, scope access.Scope, id uuid.UUID, version int, reason string) (ReviewDetail, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 2000 {
		return ReviewDetail{}, apperr.Fields([]apperr.FieldError{{Field: "reason", Code: "required", Message: "say why it goes back (at most 2000 characters)"}})
	}
	return s.transition(ctx, scope, id, version, "return", reason, func(ctx context.Context, r *Review) error {
		if r.State != StateSubmitted {
			return wrongState("be returned", r.State)
		}
		if err := s.db.Conn(ctx).Exec(`UPDATE reviews SET state = ?, return_reason = ? WHERE id = ?`,
			StateReturned, reason, r.ID).Error; err != nil {
			return err
		}
		_, err := s.approvals.Decide(ctx, scope, approval.Subject{Type: SubjectType, ID: r.ID}, approval.Return, reason)
		return err
	})
}

// Decided is the approval flow's effect for reviews, run in the decision's
// transaction: on approval, every agreed assessment is recognized and each
// household's classification changes with the decision as its source, and
// the lists are derived. (A return needs nothing beyond the review's state.)
func (s *Service) Decided(ctx context.Context, d approval.Decision) error {
	if d.Action != approval.Approve {
		return nil
	}
	r, err := s.store.review(ctx, access.Everywhere(), d.Subject.ID, false)
	if err != nil {
		return err
	}
	if r.DecisionDate == nil {
		return fmt.Errorf("review %s approved without a decision", r.ID)
	}
	standards, err := s.store.standards(ctx)
	if err != nil {
		return err
	}
	assessments, err := s.reviewAssessments(ctx, r.ID, Agreed)
	if err != nil {
		return err
	}
	conn := s.db.Conn(ctx)
	for _, a := range assessments {
		from, changed, err := s.registry.Classify(ctx, a.HouseholdID, a.Result.Classification, r.DecisionNumber, *r.DecisionDate)
		if err != nil {
			return fmt.Errorf("classify household %s: %w", a.HouseholdID, err)
		}
		if changed {
			to := a.Result.Classification
			escaped := false
			if to == Poor && from != Poor {
				i := slices.IndexFunc(standards, func(st Standard) bool { return st.Code == a.StandardCode })
				if i >= 0 {
					if escaped, err = s.store.escapedSince(ctx, a.HouseholdID, standards[i].ValidFrom); err != nil {
						return err
					}
				}
			}
			if err := conn.Exec(`INSERT INTO classification_changes (id, household_id, area_path, review_id, assessment_id,
				standard_code, from_class, to_class, effective_date, decision_number, lists)
				VALUES (?, ?, ?::ltree, ?, ?, ?, ?, ?, ?, ?, ?::text[])`, uuid.Must(uuid.NewV7()), a.HouseholdID, a.AreaPath, r.ID, a.ID,
				a.StandardCode, from, to, *r.DecisionDate, r.DecisionNumber, pgArray(Lists(from, to, escaped))).Error; err != nil {
				return err
			}
			// After the change is on record, so that "years since escaping" sees it.
			for _, fn := range s.reclassified {
				if err := fn(ctx, a.HouseholdID, *r.DecisionDate); err != nil {
					return err
				}
			}
		}
		if err := conn.Exec(`UPDATE assessments SET state = 'recognized', version = version + 1, updated_at = now() WHERE id = ?`,
			a.ID).Error; err != nil {
			return err
		}
		if err := s.moved(ctx, a, "recognize"); err != nil {
			return err
		}
	}
	return nil
}

// pgArray writes a text[] literal of simple codes.
func pgArray(xs []string) string { return "{" + strings.Join(xs, ",") + "}" }

// List is the households a recognized review put on one of its lists.
func (s *Service) List(ctx context.Context, scope access.Scope, reviewID uuid.UUID, kind string) ([]ListEntry, error) {
	if !slices.Contains(ListKinds, kind) {
		return nil, apperr.New(apperr.NotFound, "list_not_found", "no list %q: the lists are %s", kind, strings.Join(ListKinds, ", "))
	}
	r, err := s.store.review(ctx, scope, reviewID, false)
	if err != nil {
		return nil, db.MapError(err)
	}
	if r.State != StateRecognized {
		return nil, wrongState("give lists before it is recognized", r.State)
	}
	out, err := s.store.list(ctx, reviewID, kind)
	if err != nil {
		return nil, db.MapError(err)
	}
	ids := make([]uuid.UUID, len(out))
	for i, e := range out {
		ids[i] = e.HouseholdID
	}
	if len(ids) > 0 {
		s.reads.Read(ctx, "household", r.AreaPath, ids...)
	}
	return out, nil
}
