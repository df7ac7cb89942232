package household

import (
	"context"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// Transfer moves present members from one household to another in the
// caller's scope, keeping each person's identity and history (a move in from
// the receiving side). With all members moved, the source is archived: that
// is a merge. Both households are locked in id order, so two transfers in
// opposite directions cannot deadlock.
func (s *Service) Transfer(ctx context.Context, scope access.Scope, fromID uuid.UUID, fromVersion int, toID uuid.UUID, memberIDs []uuid.UUID) (Household, error) {
	if fromID == toID {
		return Household{}, apperr.Fields([]apperr.FieldError{{Field: "to_household_id", Code: "invalid", Message: "must be another household"}})
	}
	if len(memberIDs) == 0 {
		return Household{}, apperr.Fields([]apperr.FieldError{{Field: "member_ids", Code: "required", Message: "name at least one member"}})
	}
	var result Household
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		first, second := fromID, toID
		if second.String() < first.String() {
			first, second = second, first
		}
		if err := s.store.lock(ctx, first, second); err != nil {
			return err
		}
		var to Household                   // read with the source locked
		action := "household.transfer_out" // per attempt: a retried transaction starts again
		from, fromAfter, err := s.store.update(ctx, scope, fromID, fromVersion, func(h *Household) error {
			var err error
			if to, err = s.store.household(ctx, scope, toID, false); err != nil {
				return apperr.Fields([]apperr.FieldError{{Field: "to_household_id", Code: "not_found", Message: "no such household in your area"}})
			}
			if err := h.active(); err != nil {
				return err
			}
			if err := to.active(); err != nil {
				return err
			}
			moving, remaining, err := h.transfer(memberIDs)
			if err != nil {
				return err
			}
			for _, m := range moving {
				if err := s.store.moveMember(ctx, m, toID); err != nil {
					return err
				}
			}
			if remaining == 0 {
				action = "household.merge"
				// A transfer happens when it is recorded (it carries no date):
				// the merged household ends today.
				today := vn.Today(s.now())
				if err := h.archive("merged into household "+toID.String(), today, today); err != nil {
					return err
				}
			}
			return s.store.bump(ctx, toID)
		})
		if err != nil {
			return err
		}
		if result, err = s.store.household(ctx, access.Everywhere(), toID, false); err != nil {
			return err
		}
		if err := s.recordChange(ctx, action, "", from, fromAfter); err != nil {
			return err
		}
		return s.recordChange(ctx, "household.transfer_in", "", to, result)
	})
	return result, db.MapError(err)
}

// Split makes a new household in the same commune from some members of an
// existing one (a grown child's family setting up its own home). The members
// keep their identity and history; headID, one of them, heads the new one.
// The old head stays with the old household.
func (s *Service) Split(ctx context.Context, scope access.Scope, fromID uuid.UUID, version int, nh Household, memberIDs []uuid.UUID, headID uuid.UUID) (Household, error) {
	if err := splitArgs(memberIDs, headID); err != nil {
		return Household{}, err
	}
	var created Household
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		from, fromAfter, err := s.store.update(ctx, scope, fromID, version, func(h *Household) error {
			if err := h.active(); err != nil {
				return err
			}
			moving, err := h.split(memberIDs, headID)
			if err != nil {
				return err
			}
			nh.CommuneCode, nh.CommuneEdition, nh.AreaPath = h.CommuneCode, h.CommuneEdition, h.AreaPath
			today := vn.Today(s.now()) // a split happens when it is recorded
			nh.EstablishedOn = &today
			if err := nh.check(false, s.now()); err != nil {
				return err
			}
			nh.ID, nh.Members = uuid.Must(uuid.NewV7()), nil
			if err := s.store.insertHouseholds(ctx, []Household{nh}); err != nil {
				if apperr.Is(db.MapError(err), apperr.Conflict) {
					return apperr.New(apperr.Conflict, "household_exists", "a household with code %s exists in commune %s", nh.Code, nh.CommuneCode)
				}
				return err
			}
			for _, m := range moving {
				if err := s.store.moveMember(ctx, m, nh.ID); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if created, err = s.store.household(ctx, access.Everywhere(), nh.ID, false); err != nil {
			return err
		}
		reason := "split from " + fromID.String()
		if err := s.recordChange(ctx, "household.split", reason, from, fromAfter); err != nil {
			return err
		}
		return s.recordChange(ctx, "household.create", reason, Household{}, created)
	})
	return created, db.MapError(err)
}
