package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// Service answers auditors' questions: which events, who read whose data,
// does the log verify. Every query is limited to a scope in SQL.
type Service struct {
	store    store
	verifier *Verifier
	reads    *AccessLogger
}

// NewService makes the auditor service.
func NewService(pool *db.DB, verifier *Verifier, reads *AccessLogger) *Service {
	return &Service{store: store{pool}, verifier: verifier, reads: reads}
}

// EventFilter narrows a list of events; zero fields do not filter.
type EventFilter struct {
	EntityType string
	EntityID   string
	Action     string
	ActorID    *uuid.UUID
	AreaPath   string // events in this subtree (within the caller's scope)
	From, To   *time.Time
}

// Position is where a page ends, for the next page's cursor. Lists run newest
// first in id order: ids are UUIDv7, minted as the row is written.
type Position struct {
	ID uuid.UUID `json:"i"`
}

// EventRecord is one stored event.
type EventRecord struct {
	ID         uuid.UUID
	OccurredAt time.Time
	ActorKind  string
	ActorID    *uuid.UUID
	ActorName  string
	ActorRoles json.RawMessage
	Action     string
	EntityType string
	EntityID   string
	AreaPath   string
	RequestID  string
	ClientIP   string
	UserAgent  string
	Reason     string
	Before     json.RawMessage
	After      json.RawMessage
}

// checkFilter refuses an area that is not a path (the filter's other fields
// are compared as given).
func checkFilter(f EventFilter) error {
	if f.AreaPath != "" && !areaPathRe.MatchString(f.AreaPath) {
		return errAreaNotPath
	}
	return nil
}

// ListEvents is a page of events, newest first, after the given position.
func (s *Service) ListEvents(ctx context.Context, scope access.Scope, f EventFilter, after *Position, limit int) ([]EventRecord, *Position, error) {
	if err := checkFilter(f); err != nil {
		return nil, nil, err
	}
	out, err := s.store.listEvents(ctx, scope, f, after, limit+1)
	if err != nil {
		return nil, nil, err
	}
	var next *Position
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = &Position{ID: last.ID}
	}
	s.noteReads(ctx, out)
	return out, next, nil
}

// MaxExport bounds one CSV export; a larger range must be narrowed.
const MaxExport = 100_000

// ExportEvents calls fn for every event matching f, newest first, after
// checking that there are at most MaxExport.
func (s *Service) ExportEvents(ctx context.Context, scope access.Scope, f EventFilter, fn func(EventRecord) error) error {
	if err := checkFilter(f); err != nil {
		return err
	}
	n, err := s.store.countEvents(ctx, scope, f)
	if err != nil {
		return err
	}
	if n > MaxExport {
		return exportTooLarge(n)
	}
	batch := make([]EventRecord, 0, 256)
	var cut error // fn's own failure: the export stops there
	err = s.store.eachEvent(ctx, scope, f, func(e EventRecord) error {
		if cut = fn(e); cut != nil {
			return cut
		}
		if batch = append(batch, e); len(batch) == cap(batch) {
			s.noteReads(ctx, batch)
			batch = batch[:0]
		}
		return nil
	})
	if cut != nil {
		return cut
	}
	s.noteReads(ctx, batch)
	return err
}

// GetEvent is one event; one outside the scope is reported as not found.
func (s *Service) GetEvent(ctx context.Context, scope access.Scope, id uuid.UUID) (EventRecord, error) {
	e, err := s.store.event(ctx, scope, id)
	if errors.Is(err, sql.ErrNoRows) {
		return EventRecord{}, eventNotFound(id)
	}
	if err != nil {
		return EventRecord{}, db.MapError(err)
	}
	s.noteReads(ctx, []EventRecord{e})
	return e, nil
}

// personalEntities are the entity types whose events hold a person's or a
// household's data: showing such an event to an auditor is itself a read.
var personalEntities = map[string]bool{"household": true, "member": true}

func (s *Service) noteReads(ctx context.Context, events []EventRecord) {
	if s.reads == nil {
		return
	}
	type key struct{ entityType, area string }
	groups := map[key][]uuid.UUID{}
	for _, e := range events {
		if !personalEntities[e.EntityType] {
			continue
		}
		if id, err := uuid.Parse(e.EntityID); err == nil {
			k := key{e.EntityType, e.AreaPath}
			groups[k] = append(groups[k], id)
		}
	}
	for k, ids := range groups {
		s.reads.Read(ctx, k.entityType, k.area, ids...)
	}
}

// AccessRecord is one read-access entry.
type AccessRecord struct {
	ID          uuid.UUID
	OccurredAt  time.Time
	ActorKind   string
	ActorID     *uuid.UUID
	ActorName   string
	ActorRoles  json.RawMessage
	Route       string
	RequestID   string
	ClientIP    string
	SubjectType string
	AreaPath    string
}

// ListAccess answers "who has seen this subject's data", newest first. The
// subject's own area decides the scope: entries recorded without an area are
// shown only to unlimited scopes.
func (s *Service) ListAccess(ctx context.Context, scope access.Scope, subject uuid.UUID, after *Position, limit int) ([]AccessRecord, *Position, error) {
	// Flush first so that a read made a moment ago is in the answer.
	if s.reads != nil {
		if err := s.reads.Flush(ctx); err != nil {
			return nil, nil, fmt.Errorf("flush access log: %w", err)
		}
	}
	out, err := s.store.listAccess(ctx, scope, subject, after, limit+1)
	if err != nil {
		return nil, nil, err
	}
	var next *Position
	if len(out) > limit {
		out = out[:limit]
		next = &Position{ID: out[limit-1].ID}
	}
	return out, next, nil
}

// Verify runs a full verification.
func (s *Service) Verify(ctx context.Context) (Report, error) {
	return s.verifier.Verify(ctx, nil)
}
