package complaint

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/vn"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// Handler serves the complaints API.
type Handler struct{ svc *Service }

// NewHandler makes the handlers.
func NewHandler(svc *Service) *Handler { return &Handler{svc: svc} }

// Register mounts the routes.
func (h *Handler) Register(r *access.Routes) {
	r.Handle(http.MethodPost, "/complaints", "complaint", "write", h.receive)
	r.Handle(http.MethodGet, "/complaints", "complaint", "read", h.list)
	r.Handle(http.MethodGet, "/complaints/:id", "complaint", "read", h.get)
	r.Handle(http.MethodPost, "/complaints/:id/accept", "complaint", "write", h.accept)
	r.Handle(http.MethodPost, "/complaints/:id/refuse", "complaint", "write", h.refuse)
	r.Handle(http.MethodPost, "/complaints/:id/steps", "complaint", "write", h.step)
	r.Handle(http.MethodPost, "/complaints/:id/decide", "complaint", "decide", h.decide)
	r.Handle(http.MethodPost, "/complaints/:id/appeal", "complaint", "write", h.appeal)
}

// Out is a complaint as the API shows it.
type Out struct {
	ID               uuid.UUID  `json:"id"`
	Reference        string     `json:"reference"`
	Instance         int        `json:"instance"`
	AppealOf         *uuid.UUID `json:"appeal_of,omitempty"`
	HouseholdID      uuid.UUID  `json:"household_id"`
	HandlerCode      string     `json:"handler_code"`
	HandlerEdition   string     `json:"handler_edition"`
	ComplainantName  string     `json:"complainant_name"`
	Channel          string     `json:"channel"`
	ReceivedOn       string     `json:"received_on"`
	KnownOn          string     `json:"known_on,omitempty"`
	FileBy           string     `json:"file_by,omitempty"`
	FiledLate        bool       `json:"filed_late"`
	LateReason       string     `json:"late_reason,omitempty"`
	SubjectKind      string     `json:"subject_kind"`
	SubjectID        *uuid.UUID `json:"subject_id,omitempty"`
	RespondentUserID *uuid.UUID `json:"respondent_user_id,omitempty"`
	Content          string     `json:"content"`
	Complex          bool       `json:"complex"`
	Remote           bool       `json:"remote"`
	State            string     `json:"state"`
	AcceptBy         string     `json:"accept_by"`
	AcceptedOn       string     `json:"accepted_on,omitempty"`
	SettleBy         string     `json:"settle_by,omitempty"`
	Overdue          bool       `json:"overdue"`
	NotAcceptedWhy   string     `json:"not_accepted_reason,omitempty"`
	DecidedOn        string     `json:"decided_on,omitempty"`
	Outcome          string     `json:"outcome,omitempty"`
	Reasoning        string     `json:"reasoning,omitempty"`
	Version          int        `json:"version"`
	CreatedAt        time.Time  `json:"created_at"`
	Steps            []StepOut  `json:"steps"`
}

// StepOut is a step taken to settle a complaint.
type StepOut struct {
	ID         uuid.UUID `json:"id"`
	Kind       string    `json:"kind"`
	OccurredOn string    `json:"occurred_on"`
	Summary    string    `json:"summary"`
}

func (h *Handler) out(c Complaint) Out {
	today := h.svc.today()
	o := Out{ID: c.ID, Reference: c.Reference, Instance: c.Instance, AppealOf: c.AppealOf, HouseholdID: c.HouseholdID, HandlerCode: c.HandlerCode,
		HandlerEdition: c.HandlerEdition, ComplainantName: c.ComplainantName, Channel: c.Channel, ReceivedOn: vn.Date(&c.ReceivedOn),
		KnownOn: vn.Date(c.KnownOn), FileBy: vn.Date(c.FileBy), FiledLate: c.FiledLate(), LateReason: c.LateReason,
		SubjectKind: c.SubjectKind, SubjectID: c.SubjectID, RespondentUserID: c.RespondentUserID, Content: c.Content, Complex: c.Complex,
		Remote: c.Remote, State: c.State, AcceptBy: vn.Date(&c.AcceptBy), AcceptedOn: vn.Date(c.AcceptedOn), SettleBy: vn.Date(c.SettleBy),
		NotAcceptedWhy: c.NotAcceptedWhy, DecidedOn: vn.Date(c.DecidedOn), Outcome: c.Outcome, Reasoning: c.Reasoning, Version: c.Version,
		CreatedAt: c.CreatedAt.UTC(), Steps: []StepOut{}}
	// An appealed first instance is closed: the appeal's limits run instead.
	o.Overdue = !c.Appealed && (c.State == Received && c.AcceptBy.Before(today) || c.State == Accepted && c.SettleBy.Before(today))
	for _, st := range c.Steps {
		o.Steps = append(o.Steps, StepOut{ID: st.ID, Kind: st.Kind, OccurredOn: vn.Date(&st.OccurredOn), Summary: st.Summary})
	}
	return o
}

// respond writes a complaint with its ETag.
func (h *Handler) respond(c *gin.Context, status int, x Complaint) {
	web.SetVersionETag(c, x.Version)
	c.Header("Cache-Control", "no-store")
	c.JSON(status, h.out(x))
}

func (h *Handler) receive(c *gin.Context) error {
	var in struct {
		HouseholdID      uuid.UUID  `json:"household_id"`
		ComplainantName  string     `json:"complainant_name"`
		Channel          string     `json:"channel"`
		ReceivedOn       string     `json:"received_on"`
		KnownOn          string     `json:"known_on"`
		SubjectKind      string     `json:"subject_kind"`
		SubjectID        *uuid.UUID `json:"subject_id"`
		RespondentUserID *uuid.UUID `json:"respondent_user_id"`
		Content          string     `json:"content"`
	}
	if err := web.BindJSON(c, &in); err != nil {
		return err
	}
	var fe apperr.FieldList
	received := web.ParseDate(&fe, "received_on", in.ReceivedOn, false)
	known := web.ParseDate(&fe, "known_on", in.KnownOn, false)
	if err := fe.Err(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	x, err := h.svc.Receive(ctx, access.ScopeFrom(ctx), Intake{HouseholdID: in.HouseholdID, ComplainantName: in.ComplainantName,
		Channel: in.Channel, ReceivedOn: received, KnownOn: known, SubjectKind: in.SubjectKind, SubjectID: in.SubjectID, RespondentUserID: in.RespondentUserID,
		Content: in.Content})
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/complaints/"+x.ID.String())
	h.respond(c, http.StatusCreated, x)
	return nil
}

func (h *Handler) list(c *gin.Context) error {
	q := web.NewQuery(c)
	f := Filter{HouseholdID: q.UUID("household"), State: q.Enum("state", Received, Accepted, NotAccepted, Settled)}
	limit := q.Limit(50, 500)
	var before *uuid.UUID
	var pos uuid.UUID
	if q.Cursor(&pos) {
		before = &pos
	}
	if err := q.Err(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	rows, err := h.svc.List(ctx, access.ScopeFrom(ctx), f, before, limit+1)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, web.PageOf(rows, limit, h.out, func(x Complaint) any { return x.ID }))
	return nil
}

// target reads the complaint's id and the If-Match version (-1 without).
func target(c *gin.Context) (uuid.UUID, int, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return uuid.Nil, 0, errNotFound
	}
	version, err := web.IfMatchVersionOptional(c)
	return id, version, err
}

func (h *Handler) get(c *gin.Context) error {
	id, _, err := target(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	x, err := h.svc.Get(ctx, access.ScopeFrom(ctx), id)
	if err != nil {
		return err
	}
	h.respond(c, http.StatusOK, x)
	return nil
}

// act runs a step on the complaint named in the path with its JSON body.
func act[T any](h *Handler, c *gin.Context, do func(id uuid.UUID, version int, in T, fe *apperr.FieldList) (Complaint, error)) error {
	id, version, err := target(c)
	if err != nil {
		return err
	}
	var in T
	if err := web.BindJSON(c, &in); err != nil {
		return err
	}
	var fe apperr.FieldList
	x, err := do(id, version, in, &fe)
	if err != nil {
		return err
	}
	h.respond(c, http.StatusOK, x)
	return nil
}

func (h *Handler) accept(c *gin.Context) error {
	ctx := c.Request.Context()
	return act(h, c, func(id uuid.UUID, version int, in struct {
		AcceptedOn string `json:"accepted_on"`
		Complex    bool   `json:"complex"`
		LateReason string `json:"late_reason"`
	}, fe *apperr.FieldList) (Complaint, error) {
		on := web.ParseDate(fe, "accepted_on", in.AcceptedOn, false)
		if err := fe.Err(); err != nil {
			return Complaint{}, err
		}
		return h.svc.Accept(ctx, access.ScopeFrom(ctx), id, version, on, in.Complex, in.LateReason)
	})
}

func (h *Handler) refuse(c *gin.Context) error {
	ctx := c.Request.Context()
	return act(h, c, func(id uuid.UUID, version int, in struct {
		Reason string `json:"reason"`
	}, _ *apperr.FieldList) (Complaint, error) {
		return h.svc.Refuse(ctx, access.ScopeFrom(ctx), id, version, in.Reason)
	})
}

func (h *Handler) step(c *gin.Context) error {
	ctx := c.Request.Context()
	return act(h, c, func(id uuid.UUID, _ int, in struct {
		Kind       string `json:"kind"`
		OccurredOn string `json:"occurred_on"`
		Summary    string `json:"summary"`
	}, fe *apperr.FieldList) (Complaint, error) {
		on := web.ParseDate(fe, "occurred_on", in.OccurredOn, false)
		if err := fe.Err(); err != nil {
			return Complaint{}, err
		}
		st := Step{Kind: in.Kind, Summary: in.Summary}
		if on != nil {
			st.OccurredOn = *on
		}
		return h.svc.AddStep(ctx, access.ScopeFrom(ctx), id, st)
	})
}

func (h *Handler) decide(c *gin.Context) error {
	ctx := c.Request.Context()
	return act(h, c, func(id uuid.UUID, version int, in struct {
		DecidedOn string `json:"decided_on"`
		Outcome   string `json:"outcome"`
		Reasoning string `json:"reasoning"`
	}, fe *apperr.FieldList) (Complaint, error) {
		on := web.ParseDate(fe, "decided_on", in.DecidedOn, false)
		if err := fe.Err(); err != nil {
			return Complaint{}, err
		}
		return h.svc.Decide(ctx, access.ScopeFrom(ctx), id, version, on, in.Outcome, in.Reasoning)
	})
}

func (h *Handler) appeal(c *gin.Context) error {
	ctx := c.Request.Context()
	id, _, err := target(c)
	if err != nil {
		return err
	}
	var in struct {
		ReceivedOn string `json:"received_on"`
		Content    string `json:"content"`
	}
	if err := web.BindJSON(c, &in); err != nil {
		return err
	}
	var fe apperr.FieldList
	on := web.ParseDate(&fe, "received_on", in.ReceivedOn, false)
	if err := fe.Err(); err != nil {
		return err
	}
	x, err := h.svc.Appeal(ctx, access.ScopeFrom(ctx), id, on, in.Content)
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/complaints/"+x.ID.String())
	h.respond(c, http.StatusCreated, x)
	return nil
}
