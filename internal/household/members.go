package household

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// AddMember adds a person, as NewMember made them, to a household (a birth
// or someone moving in).
func (s *Service) AddMember(ctx context.Context, scope access.Scope, id uuid.UUID, version int, m Member) (Household, error) {
	return s.change(ctx, scope, id, version, "household.add_member", "", func(ctx context.Context, h *Household) error {
		if err := h.admit(m); err != nil {
			return err
		}
		if err := s.checkID(ctx, scope, m); err != nil {
			return err
		}
		if m.ID == uuid.Nil {
			m.ID = uuid.Must(uuid.NewV7())
		}
		m.HouseholdID = h.ID
		return s.store.insertMember(ctx, m)
	})
}

// checkID refuses the ID number of one member if another present person
// holds it (the problem is the member's id_number field).
func (s *Service) checkID(ctx context.Context, scope access.Scope, m Member) error {
	err := s.checkIDs(ctx, scope, []Member{m})
	if e, ok := apperr.As(err); ok {
		for i := range e.Fields {
			e.Fields[i].Field = "id_number"
		}
	}
	return err
}

// UpdateMember corrects a present member's record (household If-Match). The
// head's relationship changes only through ChangeHead.
func (s *Service) UpdateMember(ctx context.Context, scope access.Scope, id uuid.UUID, version int, memberID uuid.UUID, p MemberPatch) (Household, error) {
	return s.change(ctx, scope, id, version, "member.update", "", func(ctx context.Context, h *Household) error {
		m, err := h.presentMember(memberID)
		if err != nil {
			return err
		}
		if m, err = m.patched(p, s.now()); err != nil {
			return err
		}
		if err := s.checkID(ctx, scope, m); err != nil {
			return err
		}
		return s.store.updateMember(ctx, m)
	})
}

// RecordMemberEvent marks a present member deceased or moved out. The head
// cannot leave this way while others remain: change the head first.
func (s *Service) RecordMemberEvent(ctx context.Context, scope access.Scope, id uuid.UUID, version int, memberID uuid.UUID, ev MemberEvent) (Household, error) {
	if err := ev.check(s.now()); err != nil {
		return Household{}, err
	}
	return s.change(ctx, scope, id, version, ev.action(), strings.TrimSpace(ev.Destination), func(ctx context.Context, h *Household) error {
		m, err := h.leave(memberID, ev)
		if err != nil {
			return err
		}
		return s.store.setMemberStatus(ctx, m)
	})
}

// ChangeHead makes another present member the head; the old head becomes
// relationship "other" (the worker then corrects relationships as needed).
func (s *Service) ChangeHead(ctx context.Context, scope access.Scope, id uuid.UUID, version int, memberID uuid.UUID) (Household, error) {
	return s.change(ctx, scope, id, version, "household.change_head", "", func(ctx context.Context, h *Household) error {
		if err := h.nextHead(memberID); err != nil {
			return err
		}
		return s.store.setHead(ctx, h.ID, memberID)
	})
}
