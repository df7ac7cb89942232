package assessment

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/approval"
	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// registry is what this package needs of the household registry.
type registry interface {
	Get(ctx context.Context, scope access.Scope, id uuid.UUID) (household.Household, error)
	GetEach(ctx context.Context, scope access.Scope, ids []uuid.UUID) ([]household.Household, error)
	Classify(ctx context.Context, id uuid.UUID, to, decision string, effective time.Time) (from string, changed bool, err error)
	NoteChange(ctx context.Context, entityType string, entityID, householdID uuid.UUID, areaPath string) error
}

// approvals is the generic approval flow.
type approvals interface {
	Submit(ctx context.Context, s approval.Subject, note string) error
	Decide(ctx context.Context, scope access.Scope, s approval.Subject, action approval.Action, reason string) (approval.Decision, error)
	Steps(ctx context.Context, subjectType string, id uuid.UUID) ([]approval.Step, error)
}

// areas is what this package needs of the administrative units.
type areas interface {
	Get(ctx context.Context, code string) (area.Area, error)
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
	areas     areas
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
func NewService(pool *db.DB, areas areas, reg registry, flow approvals, reads readLogger) *Service {
	return &Service{db: pool, store: store{db: pool}, areas: areas, registry: reg, approvals: flow, reads: reads, now: time.Now}
}

func (s *Service) today() time.Time { return vn.Today(s.now()) }

// areaOf reads the area of a code that must be of a level: an unknown code
// or one of another level is the invalid field (a 422); any other error is
// returned as it is.
func (s *Service) areaOf(ctx context.Context, code, level, field, message string) (area.Area, error) {
	a, err := s.areas.Get(ctx, code)
	if apperr.Is(err, apperr.NotFound) || err == nil && a.Level != level {
		return area.Area{}, apperr.Fields([]apperr.FieldError{{Field: field, Code: "invalid", Message: message}})
	}
	return a, err
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

// assessmentState is an assessment as the audit trail keeps it.
func assessmentState(a Assessment) map[string]any {
	deprived := deprivedCodes(a.Answers)
	return map[string]any{"household_id": a.HouseholdID, "review_id": a.ReviewID, "reference_date": a.ReferenceDate.Format(time.DateOnly),
		"standard": a.StandardCode, "area_type": a.AreaType, "income_per_person": a.IncomePerPerson, "deprived": deprived,
		"answers": a.Answers, "result": a.Result.Classification, "state": a.State, "sent_back": a.SentBack, "version": a.Version}
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
