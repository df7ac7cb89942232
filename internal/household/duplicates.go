package household

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// Candidate is a proposed duplicate pair.
type Candidate struct {
	ID        uuid.UUID
	Reason    string
	A, B      CandidateMember
	CreatedAt time.Time
}

// CandidateMember is one side of a pair.
type CandidateMember struct {
	MemberID, HouseholdID uuid.UUID
	FullName              string
	BirthYear             int
	HouseholdCode         string
	AreaPath              string
}

// Duplicates lists the open candidates in scope, oldest first.
func (s *Service) Duplicates(ctx context.Context, scope access.Scope, limit int) ([]Candidate, error) {
	out, err := s.store.candidates(ctx, scope, limit)
	if err != nil {
		return nil, db.MapError(err)
	}
	for i := range out {
		// A side outside the caller's scope is shown without its name.
		for _, side := range []*CandidateMember{&out[i].A, &out[i].B} {
			if !scope.Contains(side.AreaPath) {
				*side = CandidateMember{MemberID: side.MemberID, AreaPath: side.AreaPath, FullName: "(outside your area)"}
			}
		}
	}
	return out, nil
}

// Resolve settles a candidate. "different" dismisses the pair for good;
// "same" keeps keep (one of the two) and retires the other record into it
// (status merged, history kept). Both records must be in the caller's scope.
func (s *Service) Resolve(ctx context.Context, scope access.Scope, id uuid.UUID, resolution string, keep uuid.UUID) error {
	if resolution != "same" && resolution != "different" {
		return apperr.Fields([]apperr.FieldError{{Field: "resolution", Code: "invalid", Message: "must be same or different"}})
	}
	return s.db.WithTx(ctx, func(ctx context.Context) error {
		c, found, err := s.store.lockCandidate(ctx, id)
		if err != nil {
			return err
		}
		if !found || !scope.Contains(c.area) {
			return errCandidateNotFound
		}
		if c.status != "open" {
			return apperr.New(apperr.Conflict, "candidate_resolved", "this pair was already resolved (%s)", c.status)
		}
		var merged uuid.UUID
		if resolution == "same" {
			if merged, err = s.merge(ctx, scope, c, keep); err != nil {
				return err
			}
		}
		if err := s.store.settle(ctx, id, resolution); err != nil {
			return err
		}
		after := map[string]any{"resolution": resolution, "member_a": c.a, "member_b": c.b}
		if resolution == "same" {
			after["kept"], after["merged"] = keep, merged
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "duplicate.resolve", EntityType: "duplicate_candidate",
			EntityID: id.String(), AreaPath: c.area, After: after})
	})
}

// merge retires the member of the pair that is not keep into keep.
func (s *Service) merge(ctx context.Context, scope access.Scope, c candidatePair, keep uuid.UUID) (uuid.UUID, error) {
	if keep != c.a && keep != c.b {
		return uuid.Nil, apperr.Fields([]apperr.FieldError{{Field: "keep_member_id", Code: "invalid", Message: "must be one of the pair"}})
	}
	merged := c.a
	if keep == c.a {
		merged = c.b
	}
	area, err := s.store.memberArea(ctx, merged)
	if err != nil {
		return uuid.Nil, err
	}
	if !scope.Contains(area) {
		return uuid.Nil, apperr.New(apperr.Forbidden, "merge_outside_scope", "the other record lies outside your area: its commune must resolve it")
	}
	retired, err := s.store.retire(ctx, merged, keep, today(s.now()))
	if err != nil {
		return uuid.Nil, err
	}
	if !retired {
		return uuid.Nil, apperr.New(apperr.Conflict, "cannot_merge", "the record to retire is not present, or heads its household: change the head first")
	}
	return merged, nil
}
