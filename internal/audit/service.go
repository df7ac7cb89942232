package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// Service answers auditors' questions: which events, who read whose data,
// does the log verify. Every query is limited to a scope in SQL.
type Service struct {
	db       *db.DB
	verifier *Verifier
	reads    *AccessLogger
}

// NewService makes the auditor service.
func NewService(pool *db.DB, verifier *Verifier, reads *AccessLogger) *Service {
	return &Service{db: pool, verifier: verifier, reads: reads}
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

const eventColumns = `id, occurred_at, doc::text`

func scanEvent(rows interface{ Scan(...any) error }) (EventRecord, error) {
	var e EventRecord
	var doc string
	if err := rows.Scan(&e.ID, &e.OccurredAt, &doc); err != nil {
		return e, err
	}
	var d eventDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return e, fmt.Errorf("audit event %s: %w", e.ID, err)
	}
	roles, _ := json.Marshal(d.Actor.Roles)
	e.OccurredAt = e.OccurredAt.UTC()
	e.ActorKind, e.ActorID, e.ActorName, e.ActorRoles = d.Actor.Kind, d.Actor.ID, d.Actor.Name, roles
	e.Action, e.EntityType, e.EntityID, e.AreaPath = d.Action, d.EntityType, d.EntityID, d.AreaPath
	e.RequestID, e.ClientIP, e.UserAgent, e.Reason = d.RequestID, d.ClientIP, d.UserAgent, d.Reason
	e.Before, e.After = d.Before, d.After
	return e, nil
}

// inScope limits q to rows whose area_path lies in scope. The paths are
// validated ltree paths, passed as one array literal.
func inScope(q *gorm.DB, scope access.Scope) *gorm.DB {
	if scope.IsEverywhere() {
		return q
	}
	cond, args := scope.SQL("area_path")
	return q.Where(cond, args...)
}

func (s *Service) eventQuery(ctx context.Context, scope access.Scope, f EventFilter) (*gorm.DB, error) {
	q := inScope(s.db.Conn(ctx).Table("audit_events"), scope)
	if f.AreaPath != "" {
		if !areaPathRe.MatchString(f.AreaPath) {
			return nil, apperr.Fields([]apperr.FieldError{{Field: "area", Code: "invalid", Message: "must be an area path such as 91.914"}})
		}
		q = q.Where("area_path <@ ?::ltree", f.AreaPath)
	}
	if f.EntityType != "" {
		q = q.Where("entity_type = ?", f.EntityType)
	}
	if f.EntityID != "" {
		q = q.Where("entity_id = ?", f.EntityID)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.ActorID != nil {
		q = q.Where("actor_id = ?", *f.ActorID)
	}
	if f.From != nil {
		q = q.Where("occurred_at >= ?", *f.From)
	}
	if f.To != nil {
		q = q.Where("occurred_at < ?", *f.To)
	}
	return q, nil
}

// ListEvents is a page of events, newest first, after the given position.
func (s *Service) ListEvents(ctx context.Context, scope access.Scope, f EventFilter, after *Position, limit int) ([]EventRecord, *Position, error) {
	q, err := s.eventQuery(ctx, scope, f)
	if err != nil {
		return nil, nil, err
	}
	if after != nil {
		q = q.Where("id < ?", after.ID)
	}
	rows, err := q.Select(eventColumns).Order("id DESC").Limit(limit + 1).Rows()
	if err != nil {
		return nil, nil, db.MapError(err)
	}
	defer rows.Close()
	var out []EventRecord
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, db.MapError(err)
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
	q, err := s.eventQuery(ctx, scope, f)
	if err != nil {
		return err
	}
	var n int64
	if err := q.Session(&gorm.Session{}).Count(&n).Error; err != nil {
		return db.MapError(err)
	}
	if n > MaxExport {
		return apperr.New(apperr.Invalid, "export_too_large",
			"the filter matches %d events; narrow it (from, to, area) to at most %d", n, MaxExport)
	}
	rows, err := q.Select(eventColumns).Order("id DESC").Rows()
	if err != nil {
		return db.MapError(err)
	}
	defer rows.Close()
	batch := make([]EventRecord, 0, 256)
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
		if batch = append(batch, e); len(batch) == cap(batch) {
			s.noteReads(ctx, batch)
			batch = batch[:0]
		}
	}
	s.noteReads(ctx, batch)
	return db.MapError(rows.Err())
}

// GetEvent is one event; one outside the scope is reported as not found.
func (s *Service) GetEvent(ctx context.Context, scope access.Scope, id uuid.UUID) (EventRecord, error) {
	row := inScope(s.db.Conn(ctx).Table("audit_events"), scope).Select(eventColumns).Where("id = ?", id).Row()
	e, err := scanEvent(row)
	if errors.Is(err, sql.ErrNoRows) {
		return EventRecord{}, apperr.New(apperr.NotFound, "audit_event_not_found", "no audit event %s", id)
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
	q := s.db.Conn(ctx).Table("audit_access").Where("subject_ids @> ARRAY[?::uuid]", subject)
	if !scope.IsEverywhere() {
		q = inScope(q, scope)
	}
	if after != nil {
		q = q.Where("id < ?", after.ID)
	}
	rows, err := q.Select(`id, occurred_at, actor_kind, actor_id, actor_name, actor_roles::text, route,
		coalesce(request_id, ''), coalesce(host(client_ip), ''), subject_type, coalesce(area_path::text, '')`).
		Order("id DESC").Limit(limit + 1).Rows()
	if err != nil {
		return nil, nil, db.MapError(err)
	}
	defer rows.Close()
	var out []AccessRecord
	for rows.Next() {
		var a AccessRecord
		var roles string
		if err := rows.Scan(&a.ID, &a.OccurredAt, &a.ActorKind, &a.ActorID, &a.ActorName, &roles, &a.Route,
			&a.RequestID, &a.ClientIP, &a.SubjectType, &a.AreaPath); err != nil {
			return nil, nil, err
		}
		a.OccurredAt = a.OccurredAt.UTC()
		a.ActorRoles = json.RawMessage(roles)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, db.MapError(err)
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
