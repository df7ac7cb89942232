package audit

import (
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/ratelimit"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// Handler serves the auditor API.
type Handler struct {
	svc *Service
	log *slog.Logger
}

// NewHandler makes the auditor API handlers.
func NewHandler(svc *Service, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{svc: svc, log: log}
}

// Register mounts the routes, each with its permission.
func (h *Handler) Register(r *access.Routes) {
	r.Kind(ratelimit.Search).Handle(http.MethodGet, "/audit/events", "audit", "read", h.listEvents)
	r.Handle(http.MethodGet, "/audit/events/:id", "audit", "read", h.getEvent)
	r.Kind(ratelimit.Search).Handle(http.MethodGet, "/audit/access", "audit", "read", h.listAccess)
	r.Kind(ratelimit.Export).Handle(http.MethodGet, "/audit/verify", "audit", "verify", h.verify)
}

// EventDTO is an audit event as the API shows it.
type EventDTO struct {
	ID         uuid.UUID       `json:"id"`
	OccurredAt time.Time       `json:"occurred_at"`
	Actor      ActorDTO        `json:"actor"`
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

// ActorDTO is who acted, as recorded at that moment.
type ActorDTO struct {
	Kind  string          `json:"kind"`
	ID    *uuid.UUID      `json:"id,omitempty"`
	Name  string          `json:"name"`
	Roles json.RawMessage `json:"roles"`
}

// AccessDTO is one read of a subject's data.
type AccessDTO struct {
	ID          uuid.UUID `json:"id"`
	OccurredAt  time.Time `json:"occurred_at"`
	Actor       ActorDTO  `json:"actor"`
	Route       string    `json:"route"`
	RequestID   string    `json:"request_id,omitempty"`
	ClientIP    string    `json:"client_ip,omitempty"`
	SubjectType string    `json:"subject_type"`
}

// ToEventDTO shows an event as the API does (also in a household's history).
func ToEventDTO(e EventRecord) EventDTO { return eventDTO(e) }

func eventDTO(e EventRecord) EventDTO {
	return EventDTO{ID: e.ID, OccurredAt: e.OccurredAt,
		Actor:  ActorDTO{Kind: e.ActorKind, ID: e.ActorID, Name: e.ActorName, Roles: e.ActorRoles},
		Action: e.Action, EntityType: e.EntityType, EntityID: e.EntityID, AreaPath: e.AreaPath,
		RequestID: e.RequestID, ClientIP: e.ClientIP, UserAgent: e.UserAgent, Reason: e.Reason,
		Before: e.Before, After: e.After}
}

func (h *Handler) parseFilter(q *web.Query) EventFilter {
	return EventFilter{
		EntityType: q.String("entity_type", 64),
		EntityID:   q.String("entity_id", 128),
		Action:     q.String("action", 128),
		ActorID:    q.UUID("actor_id"),
		AreaPath:   q.String("area", 128),
		From:       q.Time("from"),
		To:         q.Time("to"),
	}
}

func (h *Handler) listEvents(c *gin.Context) error {
	scope := access.ScopeFrom(c.Request.Context())
	q := web.NewQuery(c)
	f := h.parseFilter(q)
	if wantsCSV(c) {
		if err := q.Err(); err != nil {
			return err
		}
		return h.exportCSV(c, scope, f)
	}
	limit := q.Limit(50, 200)
	after := cursorOf(q)
	if err := q.Err(); err != nil {
		return err
	}
	events, next, err := h.svc.ListEvents(c.Request.Context(), scope, f, after, limit)
	if err != nil {
		return err
	}
	page := web.Page[EventDTO]{Items: make([]EventDTO, 0, len(events))}
	for _, e := range events {
		page.Items = append(page.Items, eventDTO(e))
	}
	if next != nil {
		page.NextCursor = web.EncodeCursor(next)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, page)
	return nil
}

func wantsCSV(c *gin.Context) bool {
	return strings.Contains(c.GetHeader("Accept"), "text/csv")
}

// exportCSV streams the filtered events as CSV. Errors before the first row
// are problems; a failure mid-stream can only cut the stream short (it is
// logged here, and the handler returns nil: the status is already sent).
func (h *Handler) exportCSV(c *gin.Context, scope access.Scope, f EventFilter) error {
	var w *csv.Writer
	started := false
	err := h.svc.ExportEvents(c.Request.Context(), scope, f, func(e EventRecord) error {
		if !started {
			started = true
			c.Header("Content-Type", "text/csv; charset=utf-8")
			c.Header("Content-Disposition", `attachment; filename="audit-events.csv"`)
			c.Header("Cache-Control", "no-store")
			c.Status(http.StatusOK)
			w = csv.NewWriter(c.Writer)
			_ = w.Write(csvHeader)
		}
		return w.Write(csvRow(e))
	})
	if !started && err == nil { // no rows: still a valid file with its header
		c.Header("Content-Type", "text/csv; charset=utf-8")
		c.Header("Content-Disposition", `attachment; filename="audit-events.csv"`)
		c.Status(http.StatusOK)
		w = csv.NewWriter(c.Writer)
		_ = w.Write(csvHeader)
	}
	if err != nil && !started {
		return err
	}
	if err != nil {
		h.log.ErrorContext(c.Request.Context(), "audit export cut short", "error", err.Error())
	}
	w.Flush()
	return nil
}

var csvHeader = []string{"id", "occurred_at", "actor_kind", "actor_id", "actor_name", "actor_roles", "action",
	"entity_type", "entity_id", "area_path", "request_id", "client_ip", "user_agent", "reason", "before", "after"}

func csvRow(e EventRecord) []string {
	actorID := ""
	if e.ActorID != nil {
		actorID = e.ActorID.String()
	}
	return []string{e.ID.String(), e.OccurredAt.Format(time.RFC3339Nano), e.ActorKind, actorID, e.ActorName,
		string(e.ActorRoles), e.Action, e.EntityType, e.EntityID, e.AreaPath, e.RequestID, e.ClientIP, e.UserAgent,
		e.Reason, string(e.Before), string(e.After)}
}

func (h *Handler) getEvent(c *gin.Context) error {
	scope := access.ScopeFrom(c.Request.Context())
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errNoEvent // not a UUID: no such event
	}
	e, err := h.svc.GetEvent(c.Request.Context(), scope, id)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, eventDTO(e))
	return nil
}

func (h *Handler) listAccess(c *gin.Context) error {
	scope := access.ScopeFrom(c.Request.Context())
	q := web.NewQuery(c)
	q.Require("subject_id")
	subject := q.UUID("subject_id")
	limit := q.Limit(50, 200)
	after := cursorOf(q)
	if err := q.Err(); err != nil {
		return err
	}
	entries, next, err := h.svc.ListAccess(c.Request.Context(), scope, *subject, after, limit)
	if err != nil {
		return err
	}
	page := web.Page[AccessDTO]{Items: make([]AccessDTO, 0, len(entries))}
	for _, a := range entries {
		page.Items = append(page.Items, AccessDTO{ID: a.ID, OccurredAt: a.OccurredAt,
			Actor: ActorDTO{Kind: a.ActorKind, ID: a.ActorID, Name: a.ActorName, Roles: a.ActorRoles},
			Route: a.Route, RequestID: a.RequestID, ClientIP: a.ClientIP, SubjectType: a.SubjectType})
	}
	if next != nil {
		page.NextCursor = web.EncodeCursor(next)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, page)
	return nil
}

func (h *Handler) verify(c *gin.Context) error {
	r, err := h.svc.Verify(c.Request.Context())
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, r)
	return nil
}

// cursorOf is the page position the client sent, nil for the first page.
func cursorOf(q *web.Query) *Position {
	var p Position
	if !q.Cursor(&p) {
		return nil
	}
	return &p
}
