package reorganize

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/vn"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// Handler serves reorganizations: a system administrator plans, starts and
// follows one (its batches run in the background, and resume when a server
// starts; a reorganization is the whole deployment's, and its plan names
// every assignment, so only administrators read it); workers decide the
// households of divided communes.
type Handler struct {
	svc  *Service
	jobs context.Context // the background work's lifetime
	log  *slog.Logger
}

// NewHandler makes the handlers; batches run under jobs.
func NewHandler(svc *Service, jobs context.Context, log *slog.Logger) *Handler {
	return &Handler{svc: svc, jobs: jobs, log: log}
}

// Register mounts the routes.
func (h *Handler) Register(r *access.Routes) {
	r.Handle(http.MethodPost, "/reorganizations", "reorganization", "write", h.create)
	r.Handle(http.MethodGet, "/reorganizations/:id", "reorganization", "read", h.get)
	r.Handle(http.MethodGet, "/reorganizations/:id/queue", "reorganization_queue", "read", h.queue)
	r.Handle(http.MethodPost, "/reorganizations/:id/queue/:household", "reorganization_queue", "decide", h.decide)
}

type villageIn struct {
	OldCommuneCode string `json:"old_commune_code"`
	Village        string `json:"village"`
	NewCommuneCode string `json:"new_commune_code"`
}

type decisionIn struct {
	Kind   string `json:"kind"`
	Ref    string `json:"ref"`
	Action string `json:"action"`
	ToCode string `json:"to_code"`
}

type createIn struct {
	ToEdition string       `json:"to_edition"`
	DryRun    bool         `json:"dry_run"`
	Villages  []villageIn  `json:"villages"`
	Bindings  []decisionIn `json:"bindings"`
}

// options checks a request and turns it into a run's options.
func (in createIn) options() (Options, error) {
	var fe apperr.FieldList
	if !area.ValidEdition(in.ToEdition) {
		fe.Add("to_edition", "invalid", "must be an edition of the list of units, such as 2026-04")
	}
	o := Options{To: in.ToEdition}
	for i, v := range in.Villages {
		if !area.ValidCode(v.OldCommuneCode) || !area.ValidCode(v.NewCommuneCode) || vn.VillageKey(v.Village) == "" || len(v.Village) > 100 {
			fe.Add(fmt.Sprintf("villages[%d]", i), "invalid", "needs old_commune_code, village (at most 100 characters) and new_commune_code")
			continue
		}
		o.Villages = append(o.Villages, VillageRule{Line: i, OldCommune: v.OldCommuneCode, Village: vn.VillageKey(v.Village), NewCommune: v.NewCommuneCode})
	}
	for i, d := range in.Bindings {
		if d.Kind == "" || d.Ref == "" || (d.Action != Rebind && d.Action != Revoke) || (d.Action == Rebind) != area.ValidCode(d.ToCode) {
			fe.Add(fmt.Sprintf("bindings[%d]", i), "invalid", "needs kind, ref, action (rebind with a to_code, or revoke)")
			continue
		}
		o.Decisions = append(o.Decisions, Decision{Line: i, Kind: d.Kind, Ref: d.Ref, Action: d.Action, ToCode: d.ToCode})
	}
	return o, fe.Err()
}

func (h *Handler) create(c *gin.Context) error {
	var in createIn
	if err := web.BindJSON(c, &in); err != nil {
		return err
	}
	o, err := in.options()
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	if in.DryRun {
		plan, err := h.svc.DryRun(ctx, o)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, plan)
		return nil
	}
	id, err := h.svc.start(ctx, o)
	if plan, blocked := Blocked(err); blocked {
		fields := make([]apperr.FieldError, len(plan.Blockers))
		for i, b := range plan.Blockers {
			fields[i] = apperr.FieldError{Field: "plan", Code: "blocked", Message: b}
		}
		return &apperr.Error{Kind: apperr.Conflict, Code: "reorganization_blocked", Fields: fields,
			Message: fmt.Sprintf("%d thing(s) must be decided before the reorganization (see errors; a dry run gives the whole plan)", len(fields))}
	}
	if err != nil {
		return err
	}
	// Inside a request's transaction (an Idempotency-Key), the run starts
	// once the start has committed.
	db.AfterCommit(ctx, func() { go h.runInBackground(id) })
	st, err := h.svc.Status(ctx, id)
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/reorganizations/"+id.String())
	c.JSON(http.StatusAccepted, st)
	return nil
}

// runInBackground moves a started run's households, as the system.
func (h *Handler) runInBackground(id uuid.UUID) {
	ctx := access.WithActor(h.jobs, access.System("reorganize"))
	if _, err := h.svc.run(ctx, id, Options{}); err != nil && ctx.Err() == nil {
		h.log.Error("reorganization stopped; it resumes when a server starts", "id", id, "error", err.Error())
	}
}

func (h *Handler) get(c *gin.Context) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errNotFound
	}
	st, err := h.svc.Status(c.Request.Context(), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st)
	return nil
}

func (h *Handler) queue(c *gin.Context) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errNotFound
	}
	q := web.NewQuery(c)
	limit := q.Limit(50, 200)
	var after uuid.UUID
	q.Cursor(&after)
	if err := q.Err(); err != nil {
		return err
	}
	items, err := h.svc.Queue(c.Request.Context(), access.ScopeFrom(c.Request.Context()), id, after, limit+1)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, web.PageOf(items, limit, func(x Queued) Queued { return x }, func(x Queued) any { return x.HouseholdID }))
	return nil
}

type decideIn struct {
	CommuneCode string `json:"commune_code"`
}

func (h *Handler) decide(c *gin.Context) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errNotFound
	}
	household, err := uuid.Parse(c.Param("household"))
	if err != nil {
		return errQueuedNotFound
	}
	var in decideIn
	if err := web.BindJSON(c, &in); err != nil {
		return err
	}
	if !area.ValidCode(in.CommuneCode) {
		return apperr.Fields([]apperr.FieldError{{Field: "commune_code", Code: "invalid", Message: "must be the code of a commune"}})
	}
	placed, err := h.svc.Decide(c.Request.Context(), access.ScopeFrom(c.Request.Context()), id, household, in.CommuneCode)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, placed)
	return nil
}
