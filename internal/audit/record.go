// Package audit is the audit trail: change events written in the caller's
// transaction (Record), the read-access log (AccessLogger), the sealer that
// makes events tamper-evident in signed blocks, and verification.
//
// The write path is a plain INSERT: no lock, no chain, so writers never wait
// for each other. Tamper evidence comes later from the sealer (see seal.go).
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/reqinfo"
)

// Event is one change to record. Before and After are the entity's state
// (any JSON-marshalable value; nil for none): Before is nil for a creation,
// After is nil for nothing (records are archived, never deleted).
type Event struct {
	Action     string // household.create, enrollment.approve, ...
	EntityType string // household, member, user, ...
	EntityID   string
	// AreaPath is the entity's administrative area (ltree path), so that
	// auditors are scoped like everyone else. Empty for entities with no area
	// (then only system-wide auditors see the event).
	AreaPath string
	Reason   string // optional, from the client
	Before   any
	After    any
}

var (
	actionRe     = regexp.MustCompile(`^[a-z][a-z_]*(\.[a-z][a-z_]*)+$`)
	entityTypeRe = regexp.MustCompile(`^[a-z][a-z_]*$`)
	areaPathRe   = regexp.MustCompile(`^[0-9A-Za-z_]+(\.[0-9A-Za-z_]+)*$`)
)

// ErrNotInTransaction is returned when Record is handed a connection that is
// not a transaction: an event must commit or roll back with its change.
var ErrNotInTransaction = errors.New("audit: Record needs the caller's transaction")

// ErrNoActor is returned when the context names nobody: every event has an
// actor, a user or a named system job.
var ErrNoActor = errors.New("audit: no actor in context")

// Record writes e in tx, the caller's transaction, with the actor and request
// facts from ctx. Call it after the change, inside the same db.WithTx.
func Record(ctx context.Context, tx *gorm.DB, e Event) error {
	return RecordAlong(ctx, tx, e, "")
}

// RecordAlong is Record sent in one statement with stmt, a data-modifying
// statement of the caller's own in the same transaction (and its args): the
// event's insert goes before it as a WITH clause, so the event costs no
// round trip of its own. Both rows are written or neither; stmt must not
// begin with WITH. An empty stmt is Record.
func RecordAlong(ctx context.Context, tx *gorm.DB, e Event, stmt string, args ...any) error {
	if tx == nil {
		return ErrNotInTransaction
	}
	if _, ok := tx.Statement.ConnPool.(gorm.TxCommitter); !ok {
		return ErrNotInTransaction
	}
	actor, ok := access.ActorFrom(ctx)
	if !ok {
		return ErrNoActor
	}
	if err := e.validate(); err != nil {
		return err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("audit: event id: %w", err)
	}
	doc, err := newDoc(actor, reqinfo.From(ctx), e)
	if err != nil {
		return err
	}
	err = insertEvent(ctx, tx, id, e, nullUUID(actor.UserID), doc, stmt, args)
	if err != nil {
		return fmt.Errorf("audit: record %s: %w", e.Action, err)
	}
	return nil
}

// eventDoc is an event as stored: one JSON document (see the migration).
type eventDoc struct {
	Actor      docActor        `json:"actor"`
	Action     string          `json:"action"`
	EntityType string          `json:"entity_type"`
	EntityID   string          `json:"entity_id"`
	AreaPath   string          `json:"area_path,omitempty"`
	RequestID  string          `json:"request_id,omitempty"`
	ClientIP   string          `json:"client_ip,omitempty"`
	UserAgent  string          `json:"user_agent,omitempty"`
	Reason     string          `json:"reason,omitempty"`
	Before     json.RawMessage `json:"before,omitempty"`
	After      json.RawMessage `json:"after,omitempty"`
}

type docActor struct {
	Kind  string     `json:"kind"`
	ID    *uuid.UUID `json:"id,omitempty"`
	Name  string     `json:"name"`
	Roles []roleAt   `json:"roles"`
}

func newDoc(actor access.Actor, info reqinfo.Info, e Event) ([]byte, error) {
	before, err := marshalState(e.Before)
	if err != nil {
		return nil, fmt.Errorf("audit: before state: %w", err)
	}
	after, err := marshalState(e.After)
	if err != nil {
		return nil, fmt.Errorf("audit: after state: %w", err)
	}
	return json.Marshal(eventDoc{
		Actor:  docActor{Kind: actor.Kind, ID: nullUUID(actor.UserID), Name: actor.Username, Roles: rolesOf(actor)},
		Action: e.Action, EntityType: e.EntityType, EntityID: e.EntityID, AreaPath: e.AreaPath,
		RequestID: info.RequestID, ClientIP: info.ClientIP, UserAgent: info.UserAgent, Reason: e.Reason,
		Before: before, After: after,
	})
}

func (e Event) validate() error {
	switch {
	case !actionRe.MatchString(e.Action):
		return fmt.Errorf("audit: action %q is not of the form entity.verb", e.Action)
	case !entityTypeRe.MatchString(e.EntityType):
		return fmt.Errorf("audit: entity type %q is not a lower-case name", e.EntityType)
	case e.EntityID == "":
		return fmt.Errorf("audit: %s has no entity id", e.Action)
	case e.AreaPath != "" && !areaPathRe.MatchString(e.AreaPath):
		return fmt.Errorf("audit: area path %q is not an ltree path", e.AreaPath)
	}
	return nil
}

// marshalState encodes a state as JSON, or nil for none.
func marshalState(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return nil, err
	}
	return b, nil
}

type roleAt struct {
	Role string `json:"role"`
	Area string `json:"area"`
}

func rolesOf(a access.Actor) []roleAt {
	out := make([]roleAt, 0, len(a.Assignments))
	for _, as := range a.Assignments {
		out = append(out, roleAt{Role: as.Role, Area: as.AreaCode})
	}
	return out
}

func nullUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

// CommonPath is the deepest area containing every path: the area of an
// event about records in several.
func CommonPath(paths []string) string {
	if len(paths) == 0 {
		return ""
	}
	common := strings.Split(paths[0], ".")
	for _, p := range paths[1:] {
		parts := strings.Split(p, ".")
		n := 0
		for n < len(common) && n < len(parts) && common[n] == parts[n] {
			n++
		}
		common = common[:n]
	}
	return strings.Join(common, ".")
}

// EnteredLate is what an event's state says of a change entered after the
// day it happened: the (earliest) event's date beside the day it was typed.
func EnteredLate(event, enteredOn time.Time) map[string]string {
	return map[string]string{"event_date": event.Format(time.DateOnly), "entered_on": enteredOn.Format(time.DateOnly)}
}
