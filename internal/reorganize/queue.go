package reorganize

import (
	"context"
	"slices"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// Queued is a household of a divided commune that awaits a decision: which
// of the commune's successors it now belongs to.
type Queued struct {
	HouseholdID uuid.UUID `json:"household_id"`
	Code        string    `json:"code"`
	Village     string    `json:"village"`
	FromCode    string    `json:"from_code"`
	FromName    string    `json:"from_name"`
	Candidates  []string  `json:"candidates"` // the successors, in code order
}

// Queue is a page of the households awaiting a decision that the caller may
// see (in their scope, or one of their candidate successors is: the workers
// of each successor decide), by household id after the cursor.
func (s *Service) Queue(ctx context.Context, scope access.Scope, id uuid.UUID, after uuid.UUID, limit int) ([]Queued, error) {
	if err := s.store.exists(ctx, id); err != nil {
		return nil, err
	}
	return s.store.queuePage(ctx, scope, id, after, limit)
}

// Placed is a household a decision moved.
type Placed struct {
	HouseholdID uuid.UUID `json:"household_id"`
	CommuneCode string    `json:"commune_code"`
	Edition     string    `json:"commune_edition"`
	Code        string    `json:"code"` // its code in the new commune
}

// Decide places a queued household in one of its commune's successors and
// moves it there at once. The successor must be in the caller's scope: a
// worker decides for the commune they work in.
func (s *Service) Decide(ctx context.Context, scope access.Scope, id, household uuid.UUID, toCode string) (Placed, error) {
	out := Placed{HouseholdID: household, CommuneCode: toCode}
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		m, err := s.store.lockMove(ctx, id, household)
		if err != nil {
			return err
		}
		candidates := m.candidates
		visible := scope.Contains(m.path) || slices.ContainsFunc(candidates, func(c [2]string) bool { return scope.Contains(c[1]) })
		if !visible {
			return errQueuedNotFound
		}
		if m.decided.Valid {
			return apperr.New(apperr.Conflict, "already_decided", "the household was placed in commune %s already", m.decided.String)
		}
		i := slices.IndexFunc(candidates, func(c [2]string) bool { return c[0] == toCode })
		if i < 0 {
			return apperr.Fields([]apperr.FieldError{{Field: "commune_code", Code: "invalid",
				Message: "must be one of the successors of commune " + m.from}})
		}
		if !scope.Contains(candidates[i][1]) {
			return apperr.New(apperr.Forbidden, "area_outside_scope", "you can place households only in your own communes")
		}
		if err := s.store.decide(ctx, id, household, toCode); err != nil {
			return err
		}
		if err := audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "area.reorganize_decide", EntityType: "household",
			EntityID: household.String(), AreaPath: candidates[i][1],
			After: map[string]any{"reorganization": id, "from": m.from, "to": toCode}}); err != nil {
			return err
		}
		if _, err := s.moveBatch(ctx, id, m.toEdition, []uuid.UUID{household}, 1, nil); err != nil {
			return err
		}
		out.Edition = m.toEdition
		out.Code, err = s.store.householdCode(ctx, household)
		return err
	})
	if err != nil {
		return Placed{}, err
	}
	return out, s.finishIfDone(ctx, id)
}

var errQueuedNotFound = apperr.New(apperr.NotFound, "queued_household_not_found", "no household awaits a decision here for you")
