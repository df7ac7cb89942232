package program

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/approval"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/ratelimit"
	"github.com/ansinh/ansinh/internal/platform/vn"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// Handler serves programs, enrollments and deliveries.
type Handler struct {
	svc *Service
}

// NewHandler makes the handlers.
func NewHandler(svc *Service) *Handler { return &Handler{svc: svc} }

// Register mounts the routes.
func (h *Handler) Register(r *access.Routes) {
	r.Handle(http.MethodGet, "/programs", "program", "read", h.programs)
	r.Handle(http.MethodPost, "/programs", "program", "write", h.createProgram)
	r.Handle(http.MethodGet, "/programs/:code", "program", "read", h.program)
	r.Handle(http.MethodPatch, "/programs/:code", "program", "write", h.updateProgram)
	r.Handle(http.MethodGet, "/programs/:code/campaigns", "program", "read", h.campaigns)
	r.Handle(http.MethodPost, "/programs/:code/campaigns", "program", "write", h.addCampaign)
	r.Handle(http.MethodPatch, "/programs/:code/campaigns/:id", "program", "write", h.updateCampaign)
	r.Handle(http.MethodGet, "/programs/:code/budgets", "budget", "read", h.budgets)
	r.Handle(http.MethodPut, "/programs/:code/budgets/:area/:year", "budget", "write", h.setBudget)
	r.Kind(ratelimit.Search).Handle(http.MethodGet, "/programs/:code/gaps", "enrollment", "read", h.gaps)
	r.Handle(http.MethodGet, "/households/:id/eligibility", "enrollment", "read", h.eligibility)

	r.Handle(http.MethodPost, "/enrollments", "enrollment", "propose", h.propose)
	r.Handle(http.MethodGet, "/enrollments", "enrollment", "read", h.enrollments)
	r.Handle(http.MethodGet, "/enrollments/:id", "enrollment", "read", h.enrollment)
	r.Handle(http.MethodPost, "/enrollments/:id/resubmit", "enrollment", "propose", enrollmentAction(h, h.resubmit))
	r.Handle(http.MethodPost, "/enrollments/:id/approve", "enrollment", "approve", enrollmentAction(h, h.decide(approval.Approve)))
	r.Handle(http.MethodPost, "/enrollments/:id/return", "enrollment", "approve", enrollmentAction(h, h.decide(approval.Return)))
	r.Handle(http.MethodPost, "/enrollments/:id/reject", "enrollment", "approve", enrollmentAction(h, h.decide(approval.Reject)))
	r.Handle(http.MethodPost, "/enrollments/:id/end", "enrollment", "approve", enrollmentAction(h, h.end))
	r.Handle(http.MethodPost, "/enrollments/:id/deliveries", "delivery", "write", h.addDelivery)
	r.Handle(http.MethodGet, "/enrollments/:id/deliveries", "delivery", "read", h.deliveries)
	r.Handle(http.MethodGet, "/deliveries/expiring-cards", "delivery", "read", h.expiringCards)
}

// ---- programs ----

// ProgramOut is a program of the catalog.
type ProgramOut struct {
	Code        string    `json:"code"`
	NameVI      string    `json:"name_vi"`
	NameEN      string    `json:"name_en"`
	LegalBasis  string    `json:"legal_basis"`
	Kind        string    `json:"kind"`
	Level       string    `json:"level"`
	AreaCode    string    `json:"area_code,omitempty"`
	AreaEdition string    `json:"area_edition,omitempty"`
	Rule        []Clause  `json:"rule"`
	Params      []Params  `json:"params"`
	Amount      string    `json:"amount"`
	Funding     []string  `json:"funding"`
	Status      string    `json:"status"`
	Version     int       `json:"version"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func programOut(p Program) ProgramOut {
	out := ProgramOut{Code: p.Code, NameVI: p.NameVI, NameEN: p.NameEN, LegalBasis: p.LegalBasis, Kind: p.Kind, Level: p.Level,
		AreaCode: p.AreaCode, AreaEdition: p.AreaEdition, Rule: p.Rule, Params: p.Params, Amount: p.Amount, Funding: p.Funding, Status: p.Status,
		Version: p.Version, UpdatedAt: p.UpdatedAt.UTC()}
	if out.Params == nil {
		out.Params = []Params{}
	}
	return out
}

func (h *Handler) writeProgram(c *gin.Context, status int, p Program) {
	web.SetVersionETag(c, p.Version)
	c.JSON(status, programOut(p))
}

func (h *Handler) programs(c *gin.Context) error {
	all, err := h.svc.Programs(c.Request.Context())
	if err != nil {
		return err
	}
	page := web.Page[ProgramOut]{Items: make([]ProgramOut, 0, len(all))}
	for _, p := range all {
		page.Items = append(page.Items, programOut(p))
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (h *Handler) program(c *gin.Context) error {
	p, err := h.svc.Program(c.Request.Context(), c.Param("code"))
	if err != nil {
		return err
	}
	h.writeProgram(c, http.StatusOK, p)
	return nil
}

type programIn struct {
	Code       string   `json:"code"`
	NameVI     string   `json:"name_vi"`
	NameEN     string   `json:"name_en"`
	LegalBasis string   `json:"legal_basis"`
	Kind       string   `json:"kind"`
	Level      string   `json:"level"`
	AreaCode   string   `json:"area_code"`
	Rule       []Clause `json:"rule"`
	Params     []Params `json:"params"`
	Amount     string   `json:"amount"`
	Funding    []string `json:"funding"`
	Status     string   `json:"status"`
}

func (h *Handler) createProgram(c *gin.Context) error {
	var in programIn
	if err := web.BindJSON(c, &in); err != nil {
		return err
	}
	ctx := c.Request.Context()
	p, err := h.svc.CreateProgram(ctx, access.ScopeFrom(ctx), Program{Code: in.Code, NameVI: in.NameVI, NameEN: in.NameEN,
		LegalBasis: in.LegalBasis, Kind: in.Kind, Level: in.Level, AreaCode: in.AreaCode, Rule: in.Rule, Params: in.Params,
		Amount: in.Amount, Funding: in.Funding, Status: in.Status})
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/programs/"+p.Code)
	h.writeProgram(c, http.StatusCreated, p)
	return nil
}

type programPatchIn struct {
	NameVI     *string  `json:"name_vi"`
	NameEN     *string  `json:"name_en"`
	LegalBasis *string  `json:"legal_basis"`
	Rule       []Clause `json:"rule"`
	Params     []Params `json:"params"`
	Amount     *string  `json:"amount"`
	Funding    []string `json:"funding"`
	Status     *string  `json:"status"`
}

func (h *Handler) updateProgram(c *gin.Context) error {
	var in programPatchIn
	version, err := web.BindChange(c, &in)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	p, err := h.svc.UpdateProgram(ctx, access.ScopeFrom(ctx), c.Param("code"), version, ProgramPatch{
		NameVI: in.NameVI, NameEN: in.NameEN, LegalBasis: in.LegalBasis, Amount: in.Amount, Status: in.Status, Rule: in.Rule,
		Params: in.Params, Funding: in.Funding})
	if err != nil {
		return err
	}
	h.writeProgram(c, http.StatusOK, p)
	return nil
}

// CampaignOut is a gift or relief campaign.
type CampaignOut struct {
	ID            uuid.UUID `json:"id"`
	ProgramCode   string    `json:"program_code"`
	Name          string    `json:"name"`
	AreaCode      string    `json:"area_code"`
	AreaEdition   string    `json:"area_edition"`
	StartsOn      string    `json:"starts_on"`
	EndsOn        string    `json:"ends_on"`
	PackageAmount int64     `json:"package_amount"`
	Version       int       `json:"version"`
}

func campaignOut(x Campaign) CampaignOut {
	return CampaignOut{ID: x.ID, ProgramCode: x.ProgramCode, Name: x.Name, AreaCode: x.AreaCode, AreaEdition: x.AreaEdition,
		StartsOn: x.StartsOn.Format(time.DateOnly), EndsOn: x.EndsOn.Format(time.DateOnly), PackageAmount: x.PackageAmount,
		Version: x.Version}
}

func (h *Handler) updateCampaign(c *gin.Context) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errCampaignNotFound
	}
	var in struct {
		Name          *string `json:"name"`
		EndsOn        *string `json:"ends_on"`
		PackageAmount *int64  `json:"package_amount"`
	}
	version, err := web.BindChange(c, &in)
	if err != nil {
		return err
	}
	p := CampaignPatch{Name: in.Name, PackageAmount: in.PackageAmount}
	if in.EndsOn != nil {
		var fe apperr.FieldList
		if p.EndsOn = web.ParseDate(&fe, "ends_on", *in.EndsOn, true); p.EndsOn == nil {
			return fe.Err()
		}
	}
	ctx := c.Request.Context()
	x, err := h.svc.UpdateCampaign(ctx, access.ScopeFrom(ctx), c.Param("code"), id, version, p)
	if err != nil {
		return err
	}
	web.SetVersionETag(c, x.Version)
	c.JSON(http.StatusOK, campaignOut(x))
	return nil
}

func (h *Handler) campaigns(c *gin.Context) error {
	list, err := h.svc.Campaigns(c.Request.Context(), c.Param("code"))
	if err != nil {
		return err
	}
	page := web.Page[CampaignOut]{Items: make([]CampaignOut, 0, len(list))}
	for _, x := range list {
		page.Items = append(page.Items, campaignOut(x))
	}
	c.JSON(http.StatusOK, page)
	return nil
}

type campaignIn struct {
	Name          string `json:"name"`
	AreaCode      string `json:"area_code"`
	StartsOn      string `json:"starts_on"`
	EndsOn        string `json:"ends_on"`
	PackageAmount int64  `json:"package_amount"`
}

func (h *Handler) addCampaign(c *gin.Context) error {
	var in campaignIn
	if err := web.BindJSON(c, &in); err != nil {
		return err
	}
	var fe apperr.FieldList
	start := web.ParseDate(&fe, "starts_on", in.StartsOn, true)
	end := web.ParseDate(&fe, "ends_on", in.EndsOn, true)
	if err := fe.Err(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	x, err := h.svc.AddCampaign(ctx, access.ScopeFrom(ctx), c.Param("code"), Campaign{Name: in.Name, AreaCode: in.AreaCode,
		StartsOn: *start, EndsOn: *end, PackageAmount: in.PackageAmount})
	if err != nil {
		return err
	}
	web.SetVersionETag(c, x.Version)
	c.JSON(http.StatusCreated, campaignOut(x))
	return nil
}

// BudgetOut is a budget with what is committed of it.
type BudgetOut struct {
	ProgramCode string `json:"program_code"`
	AreaCode    string `json:"area_code"`
	AreaEdition string `json:"area_edition"`
	Year        int    `json:"year"`
	Amount      int64  `json:"amount"`
	Committed   int64  `json:"committed"`
	Remaining   int64  `json:"remaining"`
	Version     int    `json:"version"`
}

func budgetOut(b Budget) BudgetOut {
	return BudgetOut{ProgramCode: b.ProgramCode, AreaCode: b.AreaCode, AreaEdition: b.AreaEdition, Year: b.Year, Amount: b.Amount, Committed: b.Committed,
		Remaining: b.Amount - b.Committed, Version: b.Version}
}

func (h *Handler) budgets(c *gin.Context) error {
	q := web.NewQuery(c)
	year := max(q.Int("year", 2000, 2100), 0)
	if err := q.Err(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	list, err := h.svc.Budgets(ctx, access.ScopeFrom(ctx), c.Param("code"), year)
	if err != nil {
		return err
	}
	page := web.Page[BudgetOut]{Items: make([]BudgetOut, 0, len(list))}
	for _, b := range list {
		page.Items = append(page.Items, budgetOut(b))
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (h *Handler) setBudget(c *gin.Context) error {
	var in struct {
		Amount *int64 `json:"amount"`
	}
	if err := web.BindJSON(c, &in); err != nil {
		return err
	}
	version, err := web.IfMatchVersionOptional(c)
	if err != nil {
		return err
	}
	year, err := strconv.Atoi(c.Param("year"))
	if err != nil || in.Amount == nil {
		return fieldError("amount", "required", "give the amount, for a year in the path")
	}
	ctx := c.Request.Context()
	b, err := h.svc.SetBudget(ctx, access.ScopeFrom(ctx), c.Param("code"), c.Param("area"), year, version, *in.Amount)
	if err != nil {
		return err
	}
	web.SetVersionETag(c, b.Version)
	c.JSON(http.StatusOK, budgetOut(b))
	return nil
}

// ---- eligibility ----

// VerdictOut is one eligibility decision with its reason in words.
type VerdictOut struct {
	MemberID *uuid.UUID `json:"member_id,omitempty"`
	Eligible bool       `json:"eligible"`
	ReasonVI string     `json:"reason_vi"`
	ReasonEN string     `json:"reason_en"`
}

// EligibilityOut is a program's decision for a household.
type EligibilityOut struct {
	ProgramCode string       `json:"program_code"`
	NameVI      string       `json:"name_vi"`
	NameEN      string       `json:"name_en"`
	Level       string       `json:"level"`
	Eligible    bool         `json:"eligible"`
	Enrolled    bool         `json:"enrolled"`
	Verdicts    []VerdictOut `json:"verdicts"`
}

func (h *Handler) eligibility(c *gin.Context) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errHouseholdNotFound
	}
	ctx := c.Request.Context()
	list, err := h.svc.Eligibility(ctx, access.ScopeFrom(ctx), id)
	if err != nil {
		return err
	}
	page := web.Page[EligibilityOut]{Items: make([]EligibilityOut, 0, len(list))}
	for _, v := range list {
		e := EligibilityOut{ProgramCode: v.Program.Code, NameVI: v.Program.NameVI, NameEN: v.Program.NameEN, Level: v.Program.Level,
			Eligible: v.Eligible, Enrolled: v.Enrolled, Verdicts: make([]VerdictOut, 0, len(v.Verdicts))}
		for _, mv := range v.Verdicts {
			e.Verdicts = append(e.Verdicts, VerdictOut{MemberID: mv.MemberID, Eligible: mv.Eligible, ReasonVI: mv.ReasonVI, ReasonEN: mv.ReasonEN})
		}
		page.Items = append(page.Items, e)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, page)
	return nil
}

// GapOut is one eligible household or member not enrolled.
type GapOut struct {
	HouseholdID   uuid.UUID  `json:"household_id"`
	HouseholdCode string     `json:"household_code"`
	CommuneCode   string     `json:"commune_code"`
	Village       string     `json:"village"`
	MemberID      *uuid.UUID `json:"member_id,omitempty"`
	ReasonVI      string     `json:"reason_vi"`
	ReasonEN      string     `json:"reason_en"`
}

func (h *Handler) gaps(c *gin.Context) error {
	q := web.NewQuery(c)
	area := q.String("area", 10)
	q.Require("area")
	limit := q.Limit(500, 5000)
	if err := q.Err(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	list, err := h.svc.Gaps(ctx, access.ScopeFrom(ctx), c.Param("code"), area, limit)
	if err != nil {
		return err
	}
	out := struct {
		ProgramCode string   `json:"program_code"`
		AreaCode    string   `json:"area_code"`
		Items       []GapOut `json:"items"`
	}{ProgramCode: c.Param("code"), AreaCode: area, Items: make([]GapOut, 0, len(list))}
	for _, g := range list {
		out.Items = append(out.Items, GapOut(g))
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
	return nil
}

// ---- enrollments ----

// EnrollmentOut is an enrollment.
type EnrollmentOut struct {
	ID          uuid.UUID      `json:"id"`
	ProgramCode string         `json:"program_code"`
	HouseholdID uuid.UUID      `json:"household_id"`
	MemberID    *uuid.UUID     `json:"member_id,omitempty"`
	AreaPath    string         `json:"area_path"`
	State       string         `json:"state"`
	StartsOn    string         `json:"starts_on"`
	EndsOn      string         `json:"ends_on,omitempty"`
	Amount      int64          `json:"amount"`
	Benefit     map[string]any `json:"benefit"`
	Reason      string         `json:"reason"`
	Evidence    string         `json:"evidence,omitempty"`
	FlaggedOn   string         `json:"flagged_on,omitempty"`
	FlagReason  string         `json:"flag_reason,omitempty"`
	EndedOn     string         `json:"ended_on,omitempty"`
	EndReason   string         `json:"end_reason,omitempty"`
	Version     int            `json:"version"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

func enrollmentOut(e Enrollment) EnrollmentOut {
	return EnrollmentOut{ID: e.ID, ProgramCode: e.ProgramCode, HouseholdID: e.HouseholdID, MemberID: e.MemberID, AreaPath: e.AreaPath,
		State: e.State, StartsOn: e.StartsOn.Format(time.DateOnly), EndsOn: vn.Date(e.EndsOn), Amount: e.Amount, Benefit: e.Benefit,
		Reason: e.Reason, Evidence: e.Evidence, FlaggedOn: vn.Date(e.FlaggedOn), FlagReason: e.FlagReason, EndedOn: vn.Date(e.EndedOn),
		EndReason: e.EndReason, Version: e.Version, CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC()}
}

func (h *Handler) writeEnrollment(c *gin.Context, status int, e Enrollment) {
	web.SetVersionETag(c, e.Version)
	c.Header("Cache-Control", "no-store")
	c.JSON(status, enrollmentOut(e))
}

type proposalIn struct {
	ID          *uuid.UUID `json:"id"`
	ProgramCode string     `json:"program_code"`
	HouseholdID uuid.UUID  `json:"household_id"`
	MemberID    *uuid.UUID `json:"member_id"`
	StartsOn    string     `json:"starts_on"`
	EndsOn      string     `json:"ends_on"`
	Evidence    string     `json:"evidence"`
}

func (h *Handler) propose(c *gin.Context) error {
	var in proposalIn
	if err := web.BindJSON(c, &in); err != nil {
		return err
	}
	var fe apperr.FieldList
	start := web.ParseDate(&fe, "starts_on", in.StartsOn, true)
	end := web.ParseDate(&fe, "ends_on", in.EndsOn, false)
	if err := fe.Err(); err != nil {
		return err
	}
	p := Proposal{ProgramCode: in.ProgramCode, HouseholdID: in.HouseholdID, MemberID: in.MemberID, StartsOn: *start, EndsOn: end,
		Evidence: in.Evidence}
	if in.ID != nil {
		p.ID = *in.ID
	}
	ctx := c.Request.Context()
	e, err := h.svc.Propose(ctx, access.ScopeFrom(ctx), p)
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/enrollments/"+e.ID.String())
	h.writeEnrollment(c, http.StatusCreated, e)
	return nil
}

func (h *Handler) enrollments(c *gin.Context) error {
	q := web.NewQuery(c)
	f := EnrollmentFilter{ProgramCode: q.String("program", 41), HouseholdID: q.UUID("household_id"), State: q.Enum("state", Proposed, Returned, Approved, Rejected, Ended),
		Flagged: q.Bool("flagged"), AreaCode: q.String("area", 10)}
	return web.ServeIDPage(c, q, 50, 500, func(ctx context.Context, after uuid.UUID, limit int) ([]Enrollment, error) {
		return h.svc.Enrollments(ctx, access.ScopeFrom(ctx), f, after, limit)
	}, enrollmentOut, func(e Enrollment) uuid.UUID { return e.ID })
}

func enrollmentID(c *gin.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return uuid.Nil, errEnrollmentNotFound
	}
	return id, nil
}

func (h *Handler) enrollment(c *gin.Context) error {
	id, err := enrollmentID(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	e, err := h.svc.Enrollment(ctx, access.ScopeFrom(ctx), id)
	if err != nil {
		return err
	}
	h.writeEnrollment(c, http.StatusOK, e)
	return nil
}

// actionReq is an enrollment action's request: the enrollment, If-Match
// (optional: -1 when absent; the state check guards a lost race), the scope
// and the body.
type actionReq[T any] struct {
	ctx     context.Context
	scope   access.Scope
	id      uuid.UUID
	version int
	in      T
}

func enrollmentAction[T any](h *Handler, do func(r actionReq[T]) (Enrollment, error)) web.HandlerFunc {
	return func(c *gin.Context) error {
		id, err := enrollmentID(c)
		if err != nil {
			return err
		}
		version, err := web.IfMatchVersionOptional(c)
		if err != nil {
			return err
		}
		r := actionReq[T]{id: id, version: version}
		if c.Request.ContentLength != 0 {
			if err := web.BindJSON(c, &r.in); err != nil {
				return err
			}
		}
		r.ctx = c.Request.Context()
		r.scope = access.ScopeFrom(r.ctx)
		e, err := do(r)
		if err != nil {
			return err
		}
		h.writeEnrollment(c, http.StatusOK, e)
		return nil
	}
}

type reasonIn struct {
	Reason string `json:"reason"`
}

func (h *Handler) decide(action approval.Action) func(r actionReq[reasonIn]) (Enrollment, error) {
	return func(r actionReq[reasonIn]) (Enrollment, error) {
		return h.svc.Decide(r.ctx, r.scope, r.id, r.version, action, r.in.Reason)
	}
}

type evidenceIn struct {
	Evidence string `json:"evidence"`
}

func (h *Handler) resubmit(r actionReq[evidenceIn]) (Enrollment, error) {
	return h.svc.Resubmit(r.ctx, r.scope, r.id, r.version, r.in.Evidence)
}

type endIn struct {
	Date   string `json:"date"`
	Reason string `json:"reason"`
}

func (h *Handler) end(r actionReq[endIn]) (Enrollment, error) {
	var fe apperr.FieldList
	on := web.ParseDate(&fe, "date", r.in.Date, true)
	if err := fe.Err(); err != nil {
		return Enrollment{}, err
	}
	return h.svc.End(r.ctx, r.scope, r.id, r.version, *on, r.in.Reason)
}

// ---- deliveries ----

// DeliveryOut is a record of support delivered.
type DeliveryOut struct {
	ID           uuid.UUID      `json:"id"`
	EnrollmentID uuid.UUID      `json:"enrollment_id"`
	Kind         string         `json:"kind"`
	OccurredOn   string         `json:"occurred_on"`
	Amount       int64          `json:"amount"`
	ExpiresOn    string         `json:"expires_on,omitempty"`
	CampaignID   *uuid.UUID     `json:"campaign_id,omitempty"`
	Record       map[string]any `json:"record"`
	CreatedAt    time.Time      `json:"created_at"`
}

func deliveryOut(d Delivery) DeliveryOut {
	return DeliveryOut{ID: d.ID, EnrollmentID: d.EnrollmentID, Kind: d.Kind, OccurredOn: d.OccurredOn.Format(time.DateOnly),
		Amount: d.Amount, ExpiresOn: vn.Date(d.ExpiresOn), CampaignID: d.CampaignID, Record: d.Details, CreatedAt: d.CreatedAt.UTC()}
}

func (h *Handler) addDelivery(c *gin.Context) error {
	id, err := enrollmentID(c)
	if err != nil {
		return err
	}
	var in struct {
		Record json.RawMessage `json:"record"`
	}
	if err := web.BindJSON(c, &in); err != nil {
		return err
	}
	if len(in.Record) == 0 {
		return fieldError("record", "required", "give the record of the support delivered")
	}
	ctx := c.Request.Context()
	d, err := h.svc.AddDelivery(ctx, access.ScopeFrom(ctx), id, in.Record)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, deliveryOut(d))
	return nil
}

func (h *Handler) writeDeliveries(c *gin.Context, list []Delivery) {
	page := web.Page[DeliveryOut]{Items: make([]DeliveryOut, 0, len(list))}
	for _, d := range list {
		page.Items = append(page.Items, deliveryOut(d))
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, page)
}

func (h *Handler) deliveries(c *gin.Context) error {
	id, err := enrollmentID(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	list, err := h.svc.Deliveries(ctx, access.ScopeFrom(ctx), id)
	if err != nil {
		return err
	}
	h.writeDeliveries(c, list)
	return nil
}

func (h *Handler) expiringCards(c *gin.Context) error {
	q := web.NewQuery(c)
	days := q.Int("within_days", 0, 366)
	if days < 0 {
		days = 30
	}
	limit := q.Limit(200, 2000)
	if err := q.Err(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	list, err := h.svc.ExpiringCards(ctx, access.ScopeFrom(ctx), days, limit)
	if err != nil {
		return err
	}
	h.writeDeliveries(c, list)
	return nil
}
