package household

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// NoteChange appends a change of another record about a household (an
// assessment) to the sync feed, in the caller's transaction. The feed serves
// it through the loader registered for its type with Feed.
func (s *Service) NoteChange(ctx context.Context, entityType string, entityID, householdID uuid.UUID, areaPath string) error {
	return s.store.noteEntity(ctx, entityType, entityID, householdID, areaPath)
}

// FeedLoader reads the current state of records of one type for the sync
// feed, as the client will see them; records not found in scope are left
// out of the map (the client is told to drop them).
type FeedLoader func(ctx context.Context, scope access.Scope, ids []uuid.UUID) (map[uuid.UUID]any, error)

// Feed registers the loader of a record type that NoteChange writes. Call it
// while wiring, before serving.
func (s *Service) Feed(entityType string, load FeedLoader) { s.feeds[entityType] = load }

// SyncPosition is where a client's feed stands: after (TxID, Seq).
type SyncPosition struct {
	TxID uint64 `json:"x"`
	Seq  int64  `json:"s"`
	// Scope is the fingerprint of the scope the position was read in; a
	// position of another scope is expired (positions issued before it was
	// recorded have none, and are accepted).
	Scope string `json:"a,omitempty"`
}

// Change is one entry of the feed: a household's current state, or a
// tombstone (Household nil) when it was archived; or, for another type, that
// record as its loader shows it.
type Change struct {
	Type        string // household, or a type registered with Feed
	ID          uuid.UUID
	HouseholdID uuid.UUID
	Op          string
	Household   *Household
	Data        any
}

// errScopeChanged: the caller's areas changed since the position was issued.
var errScopeChanged = apperr.New(apperr.Gone, "sync_cursor_expired",
	"your areas changed since this sync position (a role granted, revoked or re-bound to new units): discard local data and sync from the start (no cursor)")

// ErrSyncCursorExpired asks the client to sync from scratch.
var ErrSyncCursorExpired = apperr.New(apperr.Gone, "sync_cursor_expired",
	"the sync position is unknown or too old: discard local data and sync from the start (no cursor)")

// Changes returns the caller's scope's changes after pos, oldest first, at
// most limit households (the latest state of each), and the next position.
// Only changes below the feed's horizon (db.Horizon of registry_changes) are
// served: everything before them is final, so nothing that commits later can
// land behind the cursor.
//
// The feed reads in one read-only snapshot, from a replica when replicas are
// serving: the horizon and the page come from the same server. A position a
// lagging replica has not reached yet is served by the primary.
func (s *Service) Changes(ctx context.Context, scope access.Scope, pos SyncPosition, limit int) (changes []Change, next SyncPosition, more bool, err error) {
	if pos.Scope != "" && pos.Scope != scope.Fingerprint() {
		return nil, pos, false, errScopeChanged
	}
	defer func() { next.Scope = scope.Fingerprint() }()
	err = s.db.ReadTx(ctx, func(ctx context.Context, onReplica bool) error {
		changes, next, more, err = s.changes(ctx, scope, pos, limit)
		if onReplica && (errors.Is(err, ErrSyncCursorExpired) || errors.Is(err, errAhead)) {
			return errBehind
		}
		return err
	})
	if errors.Is(err, errBehind) {
		err = s.db.WithTxOptions(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}, func(ctx context.Context) error {
			changes, next, more, err = s.changes(ctx, scope, pos, limit)
			return err
		})
	}
	if errors.Is(err, errAhead) { // nothing final past the position yet
		changes, next, more, err = nil, pos, false, nil
	}
	if err != nil {
		return nil, pos, false, err
	}
	// Logged once the page is final: a replica attempt given up for the
	// primary, or a transaction retried, read nothing the client receives.
	var shown []Household
	for _, c := range changes {
		if c.Household != nil {
			shown = append(shown, *c.Household)
		}
	}
	s.noteRead(ctx, shown...)
	return changes, next, more, nil
}

// errBehind: the replica has not replayed the client's position yet.
var errBehind = errors.New("sync: replica behind the position")

// errAhead: the position was issued but lies at or past the horizon now (a
// transaction below it took a lock on the feed since): nothing to serve yet.
var errAhead = errors.New("sync: position at or past the horizon")

func (s *Service) changes(ctx context.Context, scope access.Scope, pos SyncPosition, limit int) ([]Change, SyncPosition, bool, error) {
	horizon, issued, err := s.db.Horizon(ctx, "registry_changes")
	if err != nil {
		return nil, pos, false, err
	}
	if pos.TxID >= issued && pos.TxID != 0 {
		return nil, pos, false, ErrSyncCursorExpired // issued positions lie below the snapshot's xmax: not one of ours
	}
	if pos.TxID >= horizon && pos.TxID != 0 {
		return nil, pos, false, errAhead
	}
	entries, err := s.store.feedEntries(ctx, scope, pos, horizon, limit+1)
	if err != nil {
		return nil, pos, false, err
	}
	more := len(entries) > limit
	if more {
		entries = entries[:limit]
	}
	out := latest(entries)
	if err := s.fill(ctx, scope, out); err != nil {
		return nil, pos, false, err
	}
	next := pos
	if len(entries) > 0 {
		next = entries[len(entries)-1].pos
	}
	return out, next, more, nil
}

// feedKey names one record of the feed.
type feedKey struct {
	typ string
	id  uuid.UUID
}

// latest is one change per record, in the order of their first entries:
// the latest entry of each record wins (its current state is sent).
func latest(entries []feedEntry) []Change {
	var out []Change
	index := map[feedKey]int{}
	for _, e := range entries {
		k := feedKey{e.typ, e.id}
		if i, seen := index[k]; seen {
			out[i].Op = e.op
			continue
		}
		index[k] = len(out)
		out = append(out, Change{Type: e.typ, ID: e.id, HouseholdID: e.household, Op: e.op})
	}
	return out
}

// fill puts the records' current states in the changes: households and
// their members in two queries (not two each), other types through their
// loaders. A record no longer in the caller's scope, or archived, becomes a
// tombstone.
func (s *Service) fill(ctx context.Context, scope access.Scope, out []Change) error {
	others := map[string][]uuid.UUID{}
	var want []uuid.UUID
	for _, c := range out {
		switch {
		case c.Type != "household":
			others[c.Type] = append(others[c.Type], c.ID)
		case c.Op != "archive":
			want = append(want, c.ID)
		}
	}
	loaded := map[feedKey]any{}
	for typ, ids := range others {
		load := s.feeds[typ]
		if load == nil {
			return fmt.Errorf("sync: no feed loader for %q", typ)
		}
		got, err := load(ctx, scope, ids)
		if err != nil {
			return err
		}
		for id, v := range got {
			loaded[feedKey{typ, id}] = v
		}
	}
	current, err := s.store.households(ctx, scope, want)
	if err != nil {
		return db.MapError(err)
	}
	for i := range out {
		if out[i].Type != "household" {
			if v, ok := loaded[feedKey{out[i].Type, out[i].ID}]; ok {
				out[i].Data = v
			} else {
				out[i].Op = "archive" // no longer in the caller's scope
			}
			continue
		}
		if out[i].Op == "archive" {
			continue // a tombstone: the client drops its copy
		}
		h, ok := current[out[i].ID]
		if !ok || h.Status == "archived" { // left the caller's scope since, or archived: a tombstone too
			out[i].Op = "archive"
			continue
		}
		out[i].Household = &h
	}
	return nil
}
