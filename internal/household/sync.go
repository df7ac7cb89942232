package household

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// noteChange appends to the sync feed, in the change's transaction.
func (s *Service) noteChange(ctx context.Context, h Household, op string) error {
	return s.db.Conn(ctx).Exec(`INSERT INTO registry_changes (household_id, area_path, op) VALUES (?, ?::ltree, ?)`,
		h.ID, h.AreaPath, op).Error
}

// NoteChange appends a change of another record about a household (an
// assessment) to the sync feed, in the caller's transaction. The feed serves
// it through the loader registered for its type with Feed.
func (s *Service) NoteChange(ctx context.Context, entityType string, entityID, householdID uuid.UUID, areaPath string) error {
	return s.db.Conn(ctx).Exec(`INSERT INTO registry_changes (household_id, area_path, op, entity_type, entity_id)
		VALUES (?, ?::ltree, 'upsert', ?, ?)`, householdID, areaPath, entityType, entityID).Error
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

// ErrSyncCursorExpired asks the client to sync from scratch.
var ErrSyncCursorExpired = apperr.New(apperr.Gone, "sync_cursor_expired",
	"the sync position is unknown or too old: discard local data and sync from the start (no cursor)")

// Changes returns the caller's scope's changes after pos, oldest first, at
// most limit households (the latest state of each), and the next position.
// Only changes below the snapshot xmin are served: everything before them is
// final, so nothing that commits later can land behind the cursor.
//
// The feed reads in one read-only snapshot, from a replica when replicas are
// serving: the horizon and the page come from the same server. A position a
// lagging replica has not reached yet is served by the primary.
func (s *Service) Changes(ctx context.Context, scope access.Scope, pos SyncPosition, limit int) (changes []Change, next SyncPosition, more bool, err error) {
	err = s.db.ReadTx(ctx, func(ctx context.Context, onReplica bool) error {
		changes, next, more, err = s.changes(ctx, scope, pos, limit)
		if onReplica && errors.Is(err, ErrSyncCursorExpired) {
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

func (s *Service) changes(ctx context.Context, scope access.Scope, pos SyncPosition, limit int) ([]Change, SyncPosition, bool, error) {
	horizon, err := s.db.Horizon(ctx)
	if err != nil {
		return nil, pos, false, err
	}
	if pos.TxID >= horizon && pos.TxID != 0 {
		return nil, pos, false, ErrSyncCursorExpired // issued positions lie below the horizon: not one of ours
	}
	q := s.db.Conn(ctx).Table("registry_changes").
		Select("txid::text, seq, household_id, entity_type, coalesce(entity_id, household_id), op").
		Where("(txid, seq) > (?::text::xid8, ?) AND txid < ?::text::xid8", strconv.FormatUint(pos.TxID, 10), pos.Seq,
			strconv.FormatUint(horizon, 10))
	if !scope.IsEverywhere() {
		if scope.Empty() {
			return nil, pos, false, nil
		}
		cond, args := scope.SQL("area_path")
		q = q.Where(cond, args...)
	}
	rows, err := q.Order("txid, seq").Limit(limit + 1).Rows()
	if err != nil {
		return nil, pos, false, db.MapError(err)
	}
	type entry struct {
		pos       SyncPosition
		household uuid.UUID
		typ       string
		id        uuid.UUID
		op        string
	}
	var entries []entry
	for rows.Next() {
		var e entry
		var tx string
		if err := rows.Scan(&tx, &e.pos.Seq, &e.household, &e.typ, &e.id, &e.op); err != nil {
			rows.Close()
			return nil, pos, false, err
		}
		if e.pos.TxID, err = strconv.ParseUint(tx, 10, 64); err != nil {
			rows.Close()
			return nil, pos, false, fmt.Errorf("sync: txid %q: %w", tx, err)
		}
		entries = append(entries, e)
	}
	rows.Close()
	more := len(entries) > limit
	if more {
		entries = entries[:limit]
	}
	// The latest entry of each record wins; its current state is sent.
	type key struct {
		typ string
		id  uuid.UUID
	}
	var out []Change
	index := map[key]int{}
	others := map[string][]uuid.UUID{}
	for _, e := range entries {
		k := key{e.typ, e.id}
		if i, seen := index[k]; seen {
			out[i].Op = e.op
			continue
		}
		index[k] = len(out)
		out = append(out, Change{Type: e.typ, ID: e.id, HouseholdID: e.household, Op: e.op})
		if e.typ != "household" {
			others[e.typ] = append(others[e.typ], e.id)
		}
	}
	loaded := map[key]any{}
	for typ, ids := range others {
		load := s.feeds[typ]
		if load == nil {
			return nil, pos, false, fmt.Errorf("sync: no feed loader for %q", typ)
		}
		got, err := load(ctx, scope, ids)
		if err != nil {
			return nil, pos, false, err
		}
		for id, v := range got {
			loaded[key{typ, id}] = v
		}
	}
	// The page's households and their members in two queries, not two each.
	var want []uuid.UUID
	for _, c := range out {
		if c.Type == "household" && c.Op != "archive" {
			want = append(want, c.ID)
		}
	}
	current, err := s.store.households(ctx, scope, want)
	if err != nil {
		return nil, pos, false, db.MapError(err)
	}
	for i := range out {
		if out[i].Type != "household" {
			if v, ok := loaded[key{out[i].Type, out[i].ID}]; ok {
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
		if !ok { // left the caller's scope since: a tombstone too
			out[i].Op = "archive"
			continue
		}
		if h.Status == "archived" {
			out[i].Op = "archive"
			continue
		}
		out[i].Household = &h
	}
	next := pos
	if len(entries) > 0 {
		next = entries[len(entries)-1].pos
	}
	return out, next, more, nil
}
