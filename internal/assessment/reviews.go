package assessment

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/approval"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

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

// newReview checks what opens a review and makes it, not yet stored.
func newReview(in ReviewInput, today time.Time) (Review, error) {
	var fe apperr.FieldList
	r := Review{ID: in.ID, Kind: in.Kind, CommuneCode: in.CommuneCode, Year: in.Year, State: StateOpen, Note: strings.TrimSpace(in.Note)}
	if r.ID == uuid.Nil {
		r.ID = uuid.Must(uuid.NewV7())
	}
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
	return r, fe.Err()
}

// CreateReview opens a periodic review of a commune for a year, or a regular
// one on a household's request.
func (s *Service) CreateReview(ctx context.Context, scope access.Scope, in ReviewInput) (Review, error) {
	r, err := newReview(in, s.today())
	if err != nil {
		return Review{}, err
	}
	var out Review
	err = s.db.WithTx(ctx, func(ctx context.Context) error {
		commune, err := s.areaOf(ctx, r.CommuneCode, "commune", "commune_code", "must be the code of a commune")
		if err != nil {
			return err
		}
		if !scope.Contains(commune.Path) {
			return apperr.New(apperr.Forbidden, "area_outside_scope", "you can open reviews only in your own communes")
		}
		r.CommuneEdition, r.AreaPath = commune.Edition, commune.Path
		if r.Kind == Regular {
			h, err := s.registry.Get(ctx, scope, *r.HouseholdID)
			if apperr.Is(err, apperr.NotFound) || err == nil && (h.CommuneEdition != r.CommuneEdition || h.CommuneCode != r.CommuneCode) {
				return apperr.Fields([]apperr.FieldError{{Field: "household_id", Code: "not_found", Message: "no such household in this commune"}})
			}
			if err != nil {
				return err
			}
		}
		err = s.store.insertReview(ctx, r, access.ActorID(ctx))
		if apperr.Is(err, apperr.Conflict) {
			return apperr.New(apperr.Conflict, "review_exists", "commune %s already has a periodic review for %d (or the id is taken)", r.CommuneCode, r.Year)
		}
		if err != nil {
			return err
		}
		if out, err = s.store.review(ctx, access.Everywhere(), r.ID, false); err != nil {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "review.create", EntityType: "review", EntityID: r.ID.String(),
			AreaPath: r.AreaPath, After: reviewState(out)})
	})
	return out, db.MapError(err)
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

// transition is a review action in one transaction: updateReview locks the
// review in scope and lets change apply the transition (with the
// transaction's context; change may read, not write), checks If-Match
// (version < 0: not given) and writes the review; then effects makes the
// action's other writes (assessments, objections, the approval flow), and
// the event is recorded with the state before and after. effects may be
// nil; an error undoes everything.
func (s *Service) transition(ctx context.Context, scope access.Scope, id uuid.UUID, version int, action, reason string,
	change func(ctx context.Context, r *Review) error, effects func(ctx context.Context, r Review) error) (ReviewDetail, error) {
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		var changed Review
		before, err := s.store.updateReview(ctx, scope, id, version, func(r *Review) error {
			err := change(ctx, r)
			changed = *r
			return err
		})
		if err != nil {
			return err
		}
		if effects != nil {
			if err := effects(ctx, changed); err != nil {
				return err
			}
		}
		after, err := s.store.review(ctx, access.Everywhere(), id, false)
		if err != nil {
			return err
		}
		state := reviewState(after)
		if d := after.DecisionDate; action == "recognize" && d != nil && d.Before(s.today()) {
			// A decision dated in the past, entered now: says so, as a household's change does.
			state["entered_late"] = audit.EnteredLate(*d, s.today())
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "review." + action, EntityType: "review", EntityID: id.String(),
			AreaPath: after.AreaPath, Reason: reason, Before: reviewState(before), After: state})
	})
	if err != nil {
		return ReviewDetail{}, db.MapError(err)
	}
	return s.Review(ctx, access.Everywhere(), id)
}

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
