package household

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// readLogger records reads of personal data (the audit access log).
type readLogger interface {
	Read(ctx context.Context, subjectType, areaPath string, ids ...uuid.UUID)
}

// permissions tells where the actor in ctx may do an action (the authorizer).
type permissions interface {
	Scope(ctx context.Context, resource, action string) (access.Scope, error)
}

// trail is the audit trail a household's history is read from.
type trail interface {
	ListEvents(ctx context.Context, scope access.Scope, f audit.EventFilter, after *audit.Position, limit int) ([]audit.EventRecord, *audit.Position, error)
}

// Service applies the registry's rules, in transactions with their audit events.
type Service struct {
	db      *db.DB
	store   store
	reads   readLogger
	now     func() time.Time
	feeds   map[string]FeedLoader
	perms   permissions
	history trail
	// scanned, if set, runs inside a duplicate scan's transaction after its
	// candidates are written (the crash test dies there).
	scanned func(recorded int64)
}

// NewService makes the registry service.
func NewService(pool *db.DB, protect *IDProtector, reads readLogger) *Service {
	return &Service{db: pool, store: store{db: pool, protect: protect}, reads: reads, now: time.Now,
		feeds: map[string]FeedLoader{}}
}

// Views gives the service what its reading rules need: the authorizer (who
// may see full ID numbers) and the audit trail (a household's history).
// Call it while wiring, before serving.
func (s *Service) Views(perms permissions, history trail) { s.perms, s.history = perms, history }

// Get reads a household in scope and logs the read of its people's data.
func (s *Service) Get(ctx context.Context, scope access.Scope, id uuid.UUID) (Household, error) {
	h, err := s.store.household(ctx, scope, id, false)
	if err != nil {
		return Household{}, db.MapError(err)
	}
	s.noteRead(ctx, h)
	return h, nil
}

// GetEach reads households in scope by id, in the order of ids, for batch
// work such as the demo seed: what Get does for each (an access-log entry
// for each household and its people), with two queries for all. A missing
// one is not found, like Get's.
func (s *Service) GetEach(ctx context.Context, scope access.Scope, ids []uuid.UUID) ([]Household, error) {
	found, err := s.store.households(ctx, scope, ids)
	if err != nil {
		return nil, db.MapError(err)
	}
	out := make([]Household, len(ids))
	for i, id := range ids {
		h, ok := found[id]
		if !ok {
			return nil, errHouseholdNotFound
		}
		s.noteRead(ctx, h)
		out[i] = h
	}
	return out, nil
}

// View is Get for showing a household; with reveal, for showing its full ID
// numbers, which only a role that may reveal them in the household's area
// may see (the read itself is in the access log).
func (s *Service) View(ctx context.Context, scope access.Scope, id uuid.UUID, reveal bool) (Household, error) {
	h, err := s.Get(ctx, scope, id)
	if err != nil || !reveal {
		return h, err
	}
	if s.perms == nil { // not wired: nobody may
		return Household{}, errRevealNotAllowed
	}
	where, err := s.perms.Scope(ctx, "member_id", "reveal")
	if err != nil || !where.Contains(h.AreaPath) {
		return Household{}, errRevealNotAllowed
	}
	return h, nil
}

// History is a household's changes from the audit trail, newest first (each
// with the state before and after), for a caller who may read the household.
func (s *Service) History(ctx context.Context, scope access.Scope, id uuid.UUID) ([]audit.EventRecord, error) {
	if _, err := s.Get(ctx, scope, id); err != nil { // scope check (and the read is logged)
		return nil, err
	}
	if s.history == nil {
		return nil, errors.New("household: no audit trail wired (Service.Views)")
	}
	events, _, err := s.history.ListEvents(ctx, access.Everywhere(),
		audit.EventFilter{EntityType: "household", EntityID: id.String()}, nil, 200)
	return events, err
}

// noteRead logs that the caller was shown these households and their people:
// one entry per area for the households and one for the members.
func (s *Service) noteRead(ctx context.Context, hs ...Household) {
	households := map[string][]uuid.UUID{}
	members := map[string][]uuid.UUID{}
	for _, h := range hs {
		households[h.AreaPath] = append(households[h.AreaPath], h.ID)
		for _, m := range h.Members {
			members[h.AreaPath] = append(members[h.AreaPath], m.ID)
		}
	}
	for area, ids := range households {
		s.reads.Read(ctx, "household", area, ids...)
	}
	for area, ids := range members {
		s.reads.Read(ctx, "member", area, ids...)
	}
}

// Update changes a household if it is still at version.
func (s *Service) Update(ctx context.Context, scope access.Scope, id uuid.UUID, version int, p Patch) (Household, error) {
	return s.change(ctx, scope, id, version, "household.update", "", func(_ context.Context, h *Household) error {
		return h.apply(p, s.now())
	})
}

// Archive retires a household with a reason, ended on a day (nil: today;
// an earlier day is a late entry, which the audit event shows beside its
// own time). Nothing is deleted.
func (s *Service) Archive(ctx context.Context, scope access.Scope, id uuid.UUID, version int, reason string, ended *time.Time) (Household, error) {
	reason, err := archiveReason(reason)
	if err != nil {
		return Household{}, err
	}
	today := vn.Today(s.now())
	day := today
	if ended != nil {
		day = *ended
	}
	return s.change(ctx, scope, id, version, "household.archive", reason, func(_ context.Context, h *Household) error {
		return h.archive(reason, day, today)
	})
}

// Classify sets a household's classification from a recognized decision,
// effective on a date, in the caller's transaction; it reports the
// classification before. An archived household is left alone (changed false).
func (s *Service) Classify(ctx context.Context, id uuid.UUID, to, decision string, effective time.Time) (from string, changed bool, err error) {
	_, err = s.change(ctx, access.Everywhere(), id, -1, "household.classify", decision, func(_ context.Context, h *Household) error {
		from = h.Classification
		// A decision older than the one in force does not override it.
		if err := h.classify(to, decision, effective); err != nil {
			return err
		}
		changed = true
		return nil
	})
	if errors.Is(err, errUnchanged) || errors.Is(err, errArchived) {
		return from, false, nil
	}
	return from, changed, err
}

// change is every change of one active household in scope: the store's
// read-modify-write at version (apply gets the transaction's context: it
// must use that one, not its caller's), then the sync feed and the audit
// event with the state before and after, in the same transaction.
func (s *Service) change(ctx context.Context, scope access.Scope, id uuid.UUID, version int, action, reason string,
	apply func(ctx context.Context, h *Household) error) (Household, error) {
	var after Household
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		before, changed, err := s.store.update(ctx, scope, id, version, func(h *Household) error {
			if err := h.active(); err != nil {
				return err
			}
			return apply(ctx, h)
		})
		if err != nil {
			return err
		}
		after = changed
		return s.recordChange(ctx, action, reason, before, after)
	})
	return after, db.MapError(err)
}

// recordChange puts a changed household on the sync feed (a tombstone when
// archived) and records its audit event; before is the zero Household for
// one just created.
func (s *Service) recordChange(ctx context.Context, action, reason string, before, after Household) error {
	op := "upsert"
	if after.Status == "archived" {
		op = "archive"
	}
	var was any
	if before.ID != uuid.Nil {
		was = auditState(before)
	}
	state := auditState(after)
	today := vn.Today(s.now())
	if d := lateEvent(before, after, today); d != nil {
		// Entered late: the event's date beside the day it was typed (the
		// event's own time is when it was recorded).
		state["entered_late"] = audit.EnteredLate(*d, today)
	}
	return s.store.noteChange(ctx, after, op, audit.Event{Action: action, EntityType: "household", EntityID: after.ID.String(),
		AreaPath: after.AreaPath, Reason: reason, Before: was, After: state})
}

// lateEvent is the earliest date before today of an event this change
// records: the household established or ended, a member arrived or left
// (nil when every event is of today).
func lateEvent(before, after Household, today time.Time) *time.Time {
	var earliest *time.Time
	note := func(d *time.Time) {
		if d != nil && d.Before(today) && (earliest == nil || d.Before(*earliest)) {
			earliest = d
		}
	}
	if before.ID == uuid.Nil {
		note(after.EstablishedOn)
	}
	if before.EndedOn == nil {
		note(after.EndedOn)
	}
	was := map[uuid.UUID]Member{}
	for _, m := range before.Members {
		was[m.ID] = m
	}
	for _, m := range after.Members {
		old, existed := was[m.ID]
		switch {
		case !existed:
			note(m.ArrivedOn)
		case old.Status != m.Status:
			note(m.StatusDate)
		}
	}
	return earliest
}

// auditState is a household as the audit trail keeps it: ID numbers masked
// (the trail is read by auditors; the full numbers stay encrypted).
func auditState(h Household) map[string]any {
	members := make([]map[string]any, 0, len(h.Members))
	for _, m := range h.Members {
		mm := memberFields.auditView(&m, map[string]any{}) // a summary of the person (Member's tags)
		if m.IDNumber != nil {
			mm["id_number"] = m.IDNumber.Masked()
		}
		members = append(members, mm)
	}
	// The household's own fields by their audit keys (Household's tags).
	return householdFields.auditView(&h, map[string]any{"members": members})
}
