package household

import (
	"context"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
)

// Filter narrows a household list.
type Filter struct {
	CommuneCode    string
	Village        string
	Classification string
	Status         string
	Query          string // a member's name, diacritics optional
	EthnicMinority *bool
	// AgeMin/AgeMax keep households with a present member of that age (years
	// on today's date in Vietnam, by birth year); -1 for no bound.
	AgeMin, AgeMax int
}

// List is a page of households in scope: in id order after the cursor, or,
// with a name query, the best matches first (see store.searchByName).
func (s *Service) List(ctx context.Context, scope access.Scope, f Filter, after uuid.UUID, limit int) ([]Household, error) {
	out, err := s.store.list(ctx, scope, f, today(s.now()).Year(), after, limit)
	if err != nil {
		return nil, err
	}
	s.noteRead(ctx, out...)
	return out, nil
}

// MemberFilter narrows a member search.
type MemberFilter struct {
	CommuneCode    string
	Sex            string
	Status         string
	Query          string
	AgeMin, AgeMax int // -1: no bound
}

// MemberHit is a member with where they live.
type MemberHit struct {
	Member
	HouseholdCode string
	CommuneCode   string
	AreaPath      string
}

// Members searches people in scope: by id after the cursor, or the best name
// matches first with a query (within the scope's households).
func (s *Service) Members(ctx context.Context, scope access.Scope, f MemberFilter, after uuid.UUID, limit int) ([]MemberHit, error) {
	out, err := s.store.memberHits(ctx, scope, f, today(s.now()).Year(), after, limit)
	if err != nil {
		return nil, err
	}
	shown := map[string][]uuid.UUID{}
	for _, m := range out {
		shown[m.AreaPath] = append(shown[m.AreaPath], m.ID)
	}
	for area, ids := range shown {
		s.reads.Read(ctx, "member", area, ids...)
	}
	return out, nil
}
