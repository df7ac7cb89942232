package assessment

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/ratelimit"
	"github.com/ansinh/ansinh/internal/platform/vn"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// Handler serves standards, assessments and reviews.
type Handler struct {
	svc *Service
}

// NewHandler makes the handlers.
func NewHandler(svc *Service) *Handler { return &Handler{svc: svc} }

// Register mounts the routes.
func (h *Handler) Register(r *access.Routes) {
	r.Handle(http.MethodGet, "/poverty-standards", "standard", "read", h.standards)
	r.Handle(http.MethodGet, "/poverty-standards/:code", "standard", "read", h.standard)
	r.Handle(http.MethodPost, "/poverty-standards", "standard", "write", h.addStandard)

	r.Handle(http.MethodPost, "/households/:id/assessments", "assessment", "write", h.createAssessment)
	r.Handle(http.MethodGet, "/households/:id/assessments", "assessment", "read", h.householdAssessments)
	r.Handle(http.MethodGet, "/assessments/:id", "assessment", "read", h.assessment)
	r.Handle(http.MethodPatch, "/assessments/:id", "assessment", "write", h.updateAssessment)

	r.Handle(http.MethodPost, "/reviews", "review", "write", h.createReview)
	r.Handle(http.MethodGet, "/reviews", "review", "read", h.reviews)
	r.Handle(http.MethodGet, "/reviews/:id", "review", "read", h.review)
	r.Handle(http.MethodGet, "/reviews/:id/assessments", "assessment", "read", h.reviewAssessments)
	r.Kind(ratelimit.Export).Handle(http.MethodGet, "/reviews/:id/lists/:kind", "review", "read", h.list)
	r.Handle(http.MethodPost, "/reviews/:id/record-meeting", "review", "write", reviewAction(h, h.recordMeeting))
	r.Handle(http.MethodPost, "/reviews/:id/post", "review", "write", reviewAction(h, h.post))
	r.Handle(http.MethodPost, "/reviews/:id/objections", "review", "write", reviewAction(h, h.addObjection))
	r.Handle(http.MethodPost, "/reviews/:id/objections/:objection/resolve", "review", "write", reviewAction(h, h.resolveObjection))
	r.Handle(http.MethodPost, "/reviews/:id/submit", "review", "write", reviewAction(h, h.submit))
	r.Handle(http.MethodPost, "/reviews/:id/reopen", "review", "write", reviewAction(h, h.reopen))
	r.Handle(http.MethodPost, "/reviews/:id/recognize", "review", "approve", reviewAction(h, h.recognize))
	r.Handle(http.MethodPost, "/reviews/:id/return", "review", "approve", reviewAction(h, h.returnReview))
}

func date(t time.Time) string { return t.Format(time.DateOnly) }

// idParam reads a path id; a malformed one is the given not-found error.
func idParam(c *gin.Context, name string, notFound error) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil {
		return uuid.Nil, notFound
	}
	return id, nil
}

// ---- standards ----

// BandOut is an amount per area type, VND per person per month.
type BandOut struct {
	Rural int64 `json:"rural"`
	Urban int64 `json:"urban"`
}

// IndicatorOut is an indicator of a standard.
type IndicatorOut struct {
	Code      string `json:"code"`
	Position  int    `json:"position"`
	Dimension string `json:"dimension"`
	NameVI    string `json:"name_vi"`
	NameEN    string `json:"name_en"`
	Criterion string `json:"criterion"`
	Prefill   string `json:"prefill,omitempty"`
}

// StandardOut is a poverty standard.
type StandardOut struct {
	Code                string         `json:"code"`
	Name                string         `json:"name"`
	LegalSource         string         `json:"legal_source"`
	ValidFrom           string         `json:"valid_from"`
	ValidTo             string         `json:"valid_to"`
	AreaCode            string         `json:"area_code,omitempty"`
	AreaEdition         string         `json:"area_edition,omitempty"`
	IncomeLine          BandOut        `json:"income_line"`
	AverageMax          BandOut        `json:"average_max"`
	PoorMinDeprivations int            `json:"poor_min_deprivations"`
	Notes               string         `json:"notes,omitempty"`
	Indicators          []IndicatorOut `json:"indicators"`
	Assessable          bool           `json:"assessable"`
}

func standardOut(s Standard) StandardOut {
	out := StandardOut{Code: s.Code, Name: s.Name, LegalSource: s.LegalSource, ValidFrom: date(s.ValidFrom), ValidTo: date(s.ValidTo),
		AreaCode: s.AreaCode, AreaEdition: s.AreaEdition, IncomeLine: BandOut{s.LineRural, s.LineUrban}, AverageMax: BandOut{s.AverageMaxRural, s.AverageMaxUrban},
		PoorMinDeprivations: s.PoorMinDeprivations, Notes: s.Notes, Indicators: make([]IndicatorOut, 0, len(s.Indicators)), Assessable: !s.HistoryOnly}
	for _, i := range s.Indicators {
		out.Indicators = append(out.Indicators, IndicatorOut{Code: i.Code, Position: i.Position, Dimension: i.Dimension,
			NameVI: i.NameVI, NameEN: i.NameEN, Criterion: i.Criterion, Prefill: i.Prefill})
	}
	return out
}

func (h *Handler) standards(c *gin.Context) error {
	q := web.NewQuery(c)
	on := q.Date("in_force_on")
	area := q.String("area", 10)
	if err := q.Err(); err != nil {
		return err
	}
	all, err := h.svc.Standards(c.Request.Context())
	if err != nil {
		return err
	}
	page := web.Page[StandardOut]{Items: []StandardOut{}}
	for _, s := range all {
		if on != nil && !s.InForce(*on) || area != "" && s.AreaCode != "" && s.AreaCode != area {
			continue
		}
		page.Items = append(page.Items, standardOut(s))
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (h *Handler) standard(c *gin.Context) error {
	s, err := h.svc.Standard(c.Request.Context(), c.Param("code"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, standardOut(s))
	return nil
}

type standardIn struct {
	Code                string `json:"code"`
	Name                string `json:"name"`
	LegalSource         string `json:"legal_source"`
	AreaCode            string `json:"area_code"`
	ValidFrom           string `json:"valid_from"`
	ValidTo             string `json:"valid_to"`
	IncomeLineRural     int64  `json:"income_line_rural"`
	IncomeLineUrban     int64  `json:"income_line_urban"`
	AverageMaxRural     int64  `json:"average_max_rural"`
	AverageMaxUrban     int64  `json:"average_max_urban"`
	PoorMinDeprivations int    `json:"poor_min_deprivations"`
	Notes               string `json:"notes"`
}

func (h *Handler) addStandard(c *gin.Context) error {
	var in standardIn
	if err := web.BindJSON(c, &in); err != nil {
		return err
	}
	var fe apperr.FieldList
	from := web.ParseDate(&fe, "valid_from", in.ValidFrom, true)
	to := web.ParseDate(&fe, "valid_to", in.ValidTo, true)
	if in.PoorMinDeprivations < 0 || in.PoorMinDeprivations > 20 {
		fe.Add("poor_min_deprivations", "invalid", "must be from 1 to 20 (default 3)")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	s, err := h.svc.AddLocalStandard(ctx, access.ScopeFrom(ctx), Standard{Code: in.Code, Name: in.Name, LegalSource: in.LegalSource,
		AreaCode: in.AreaCode, ValidFrom: *from, ValidTo: *to, LineRural: in.IncomeLineRural, LineUrban: in.IncomeLineUrban,
		AverageMaxRural: in.AverageMaxRural, AverageMaxUrban: in.AverageMaxUrban, PoorMinDeprivations: in.PoorMinDeprivations,
		Notes: in.Notes})
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/poverty-standards/"+s.Code)
	c.JSON(http.StatusCreated, standardOut(s))
	return nil
}

// ---- assessments ----

// AnswerOut is one indicator's answer.
type AnswerOut struct {
	Indicator string      `json:"indicator"`
	Deprived  bool        `json:"deprived"`
	Answer    string      `json:"answer,omitempty"`
	Source    string      `json:"source"`
	Prefill   *PrefillOut `json:"prefill,omitempty"`
	Note      string      `json:"note,omitempty"`
}

// PrefillOut is what the registry said about an indicator.
type PrefillOut struct {
	Rule     string      `json:"rule"`
	Deprived bool        `json:"deprived"`
	Reason   string      `json:"reason"`
	Members  []uuid.UUID `json:"member_ids,omitempty"`
}

// ReasonOut is one step of a classification's reasoning.
type ReasonOut struct {
	Code       string   `json:"code"`
	Detail     string   `json:"detail"`
	Income     int64    `json:"income,omitempty"`
	Line       int64    `json:"line,omitempty"`
	Threshold  int      `json:"threshold,omitempty"`
	Indicators []string `json:"indicators,omitempty"`
}

// VotesOut is the village meeting's vote on an assessment.
type VotesOut struct {
	Agree     int `json:"agree"`
	Attendees int `json:"attendees"`
}

// AssessmentOut is an assessment as the API shows it.
type AssessmentOut struct {
	ID              uuid.UUID   `json:"id"`
	HouseholdID     uuid.UUID   `json:"household_id"`
	ReviewID        uuid.UUID   `json:"review_id"`
	AreaPath        string      `json:"area_path"`
	ReferenceDate   string      `json:"reference_date"`
	StandardCode    string      `json:"standard_code"`
	AreaType        string      `json:"area_type"`
	IncomePerPerson int64       `json:"income_per_person"`
	Answers         []AnswerOut `json:"answers"`
	Classification  string      `json:"classification"`
	Deprivations    int         `json:"deprivations"`
	Reasons         []ReasonOut `json:"reasons"`
	State           string      `json:"state"`
	Votes           *VotesOut   `json:"votes,omitempty"`
	SentBack        bool        `json:"sent_back"`
	Note            string      `json:"note,omitempty"`
	Version         int         `json:"version"`
	CreatedAt       time.Time   `json:"created_at"`
	UpdatedAt       time.Time   `json:"updated_at"`
}

func assessmentOut(a Assessment) AssessmentOut {
	out := AssessmentOut{ID: a.ID, HouseholdID: a.HouseholdID, ReviewID: a.ReviewID, AreaPath: a.AreaPath,
		ReferenceDate: date(a.ReferenceDate), StandardCode: a.StandardCode, AreaType: a.AreaType, IncomePerPerson: a.IncomePerPerson,
		Answers: make([]AnswerOut, 0, len(a.Answers)), Classification: a.Result.Classification, Deprivations: a.Result.Deprivations,
		Reasons: make([]ReasonOut, 0, len(a.Result.Reasons)), State: a.State, SentBack: a.SentBack, Note: a.Note,
		Version: a.Version, CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC()}
	for _, an := range a.Answers {
		ao := AnswerOut{Indicator: an.Indicator, Deprived: an.Deprived, Answer: an.Answer, Source: an.Source, Note: an.Note}
		if an.Prefill != nil {
			ao.Prefill = &PrefillOut{Rule: an.Prefill.Rule, Deprived: an.Prefill.Deprived, Reason: an.Prefill.Reason, Members: an.Prefill.Members}
		}
		out.Answers = append(out.Answers, ao)
	}
	for _, r := range a.Result.Reasons {
		out.Reasons = append(out.Reasons, ReasonOut(r))
	}
	if a.VotesAgree != nil && a.VotesAttendees != nil {
		out.Votes = &VotesOut{Agree: *a.VotesAgree, Attendees: *a.VotesAttendees}
	}
	return out
}

type answerIn struct {
	Indicator string `json:"indicator"`
	Deprived  *bool  `json:"deprived"`
	Answer    string `json:"answer"`
	Note      string `json:"note"`
}

type assessmentPatchIn struct {
	ReferenceDate   *string    `json:"reference_date"`
	IncomePerPerson *int64     `json:"income_per_person"`
	Answers         []answerIn `json:"answers"`
	Note            *string    `json:"note"`
}

type assessmentIn struct {
	ID       *uuid.UUID `json:"id"`
	ReviewID *uuid.UUID `json:"review_id"`
	assessmentPatchIn
}

func (in assessmentPatchIn) input(fe *apperr.FieldList) AssessmentInput {
	out := AssessmentInput{IncomePerPerson: in.IncomePerPerson, Note: in.Note}
	if in.ReferenceDate != nil {
		out.ReferenceDate = web.ParseDate(fe, "reference_date", *in.ReferenceDate, true)
	}
	for _, a := range in.Answers {
		out.Answers = append(out.Answers, AnswerInput(a))
	}
	return out
}

func (h *Handler) writeAssessment(c *gin.Context, status int, a Assessment) {
	web.SetVersionETag(c, a.Version)
	c.Header("Cache-Control", "no-store")
	c.JSON(status, assessmentOut(a))
}

var errNoHousehold = apperr.New(apperr.NotFound, "household_not_found", "no such household")

func (h *Handler) createAssessment(c *gin.Context) error {
	householdID, err := idParam(c, "id", errNoHousehold)
	if err != nil {
		return err
	}
	var in assessmentIn
	if err := web.BindJSON(c, &in); err != nil {
		return err
	}
	var fe apperr.FieldList
	if in.ReviewID == nil {
		fe.Add("review_id", "required", "name the review this assessment belongs to")
	}
	if in.IncomePerPerson == nil {
		fe.Add("income_per_person", "required", "give the income per person per month, whole VND")
	}
	input := in.input(&fe)
	if err := fe.Err(); err != nil {
		return err
	}
	input.ReviewID = *in.ReviewID
	if in.ID != nil {
		input.ID = *in.ID
	}
	ctx := c.Request.Context()
	a, err := h.svc.CreateAssessment(ctx, access.ScopeFrom(ctx), householdID, input)
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/assessments/"+a.ID.String())
	h.writeAssessment(c, http.StatusCreated, a)
	return nil
}

func (h *Handler) updateAssessment(c *gin.Context) error {
	id, err := idParam(c, "id", errAssessmentNotFound)
	if err != nil {
		return err
	}
	var in assessmentPatchIn
	version, err := web.BindChange(c, &in)
	if err != nil {
		return err
	}
	var fe apperr.FieldList
	input := in.input(&fe)
	if err := fe.Err(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	a, err := h.svc.UpdateAssessment(ctx, access.ScopeFrom(ctx), id, version, input)
	if err != nil {
		return err
	}
	h.writeAssessment(c, http.StatusOK, a)
	return nil
}

func (h *Handler) assessment(c *gin.Context) error {
	id, err := idParam(c, "id", errAssessmentNotFound)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	a, err := h.svc.Assessment(ctx, access.ScopeFrom(ctx), id)
	if err != nil {
		return err
	}
	h.writeAssessment(c, http.StatusOK, a)
	return nil
}

func (h *Handler) listAssessments(c *gin.Context, f AssessmentFilter) error {
	q := web.NewQuery(c)
	f.State, f.Result = q.Enum("state", Draft, Agreed, Recognized), q.Enum("classification", Poor, NearPoor, Average, None)
	return web.ServeIDPage(c, q, 50, 500, func(ctx context.Context, after uuid.UUID, limit int) ([]Assessment, error) {
		return h.svc.Assessments(ctx, access.ScopeFrom(ctx), f, after, limit)
	}, assessmentOut, func(a Assessment) uuid.UUID { return a.ID })
}

func (h *Handler) householdAssessments(c *gin.Context) error {
	id, err := idParam(c, "id", errNoHousehold)
	if err != nil {
		return err
	}
	return h.listAssessments(c, AssessmentFilter{HouseholdID: &id})
}

func (h *Handler) reviewAssessments(c *gin.Context) error {
	id, err := idParam(c, "id", errReviewNotFound)
	if err != nil {
		return err
	}
	return h.listAssessments(c, AssessmentFilter{ReviewID: &id})
}

// FeedView is how an assessment travels in the registry's sync feed: as the
// API shows it (the household handler renders the feed's records with it).
func (h *Handler) FeedView(v any) any {
	if a, ok := v.(Assessment); ok {
		return assessmentOut(a)
	}
	return v
}

// ---- reviews ----

// ReviewOut is a review as the API shows it.
type ReviewOut struct {
	ID             uuid.UUID      `json:"id"`
	Kind           string         `json:"kind"`
	CommuneCode    string         `json:"commune_code"`
	CommuneEdition string         `json:"commune_edition"`
	AreaPath       string         `json:"area_path"`
	Year           int            `json:"year"`
	ReferenceDate  string         `json:"reference_date"`
	HouseholdID    *uuid.UUID     `json:"household_id,omitempty"`
	RequestedOn    string         `json:"requested_on,omitempty"`
	DecideBy       string         `json:"decide_by,omitempty"`
	State          string         `json:"state"`
	Meeting        *MeetingOut    `json:"meeting,omitempty"`
	Posting        *PostingOut    `json:"posting,omitempty"`
	Decision       *DecisionOut   `json:"decision,omitempty"`
	ReturnReason   string         `json:"return_reason,omitempty"`
	Note           string         `json:"note,omitempty"`
	Counts         map[string]int `json:"counts"`
	Objections     []ObjectionOut `json:"objections,omitempty"`
	Steps          []StepOut      `json:"approval_steps,omitempty"`
	Version        int            `json:"version"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
}

// MeetingOut is the village meeting's record.
type MeetingOut struct {
	Date      string `json:"date"`
	Chair     string `json:"chair"`
	Attendees int    `json:"attendees"`
}

// PostingOut is the public posting period.
type PostingOut struct {
	StartDate string `json:"start_date"`
	EndDate   string `json:"end_date"`
}

// DecisionOut is the recognition decision.
type DecisionOut struct {
	Number string `json:"number"`
	Date   string `json:"date"`
	Signer string `json:"signer"`
}

// ObjectionOut is an objection to the posted list.
type ObjectionOut struct {
	ID          uuid.UUID  `json:"id"`
	HouseholdID *uuid.UUID `json:"household_id,omitempty"`
	RaisedBy    string     `json:"raised_by"`
	RaisedOn    string     `json:"raised_on"`
	Content     string     `json:"content"`
	Outcome     string     `json:"outcome,omitempty"`
	Resolution  string     `json:"resolution,omitempty"`
}

// StepOut is a step of the approval flow.
type StepOut struct {
	Action string    `json:"action"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

func reviewOut(r Review) ReviewOut {
	out := ReviewOut{ID: r.ID, Kind: r.Kind, CommuneCode: r.CommuneCode, CommuneEdition: r.CommuneEdition, AreaPath: r.AreaPath, Year: r.Year,
		ReferenceDate: date(r.ReferenceDate), HouseholdID: r.HouseholdID, RequestedOn: vn.Date(r.RequestedOn),
		DecideBy: vn.Date(r.DecideBy), State: r.State, ReturnReason: r.ReturnReason, Note: r.Note, Counts: r.Counts,
		Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.MeetingDate != nil && r.Attendees != nil {
		out.Meeting = &MeetingOut{Date: date(*r.MeetingDate), Chair: r.MeetingChair, Attendees: *r.Attendees}
	}
	if r.PostingStart != nil && r.PostingEnd != nil {
		out.Posting = &PostingOut{StartDate: date(*r.PostingStart), EndDate: date(*r.PostingEnd)}
	}
	if r.DecisionNumber != "" && r.DecisionDate != nil {
		out.Decision = &DecisionOut{Number: r.DecisionNumber, Date: date(*r.DecisionDate), Signer: r.DecisionSigner}
	}
	return out
}

func reviewDetailOut(d ReviewDetail) ReviewOut {
	out := reviewOut(d.Review)
	for _, o := range d.Objections {
		out.Objections = append(out.Objections, ObjectionOut{ID: o.ID, HouseholdID: o.HouseholdID, RaisedBy: o.RaisedBy,
			RaisedOn: date(o.RaisedOn), Content: o.Content, Outcome: o.Outcome, Resolution: o.Resolution})
	}
	for _, s := range d.Steps {
		out.Steps = append(out.Steps, StepOut{Action: string(s.Action), Actor: s.Actor, Reason: s.Reason, At: s.At.UTC()})
	}
	return out
}

func (h *Handler) writeReview(c *gin.Context, status int, d ReviewDetail) {
	web.SetVersionETag(c, d.Version)
	c.Header("Cache-Control", "no-store")
	c.JSON(status, reviewDetailOut(d))
}

type reviewIn struct {
	ID            *uuid.UUID `json:"id"`
	Kind          string     `json:"kind"`
	CommuneCode   string     `json:"commune_code"`
	Year          int        `json:"year"`
	ReferenceDate string     `json:"reference_date"`
	HouseholdID   *uuid.UUID `json:"household_id"`
	RequestedOn   string     `json:"requested_on"`
	Note          string     `json:"note"`
}

func (h *Handler) createReview(c *gin.Context) error {
	var in reviewIn
	if err := web.BindJSON(c, &in); err != nil {
		return err
	}
	var fe apperr.FieldList
	input := ReviewInput{Kind: in.Kind, CommuneCode: in.CommuneCode, Year: in.Year, HouseholdID: in.HouseholdID, Note: in.Note,
		ReferenceDate: web.ParseDate(&fe, "reference_date", in.ReferenceDate, false),
		RequestedOn:   web.ParseDate(&fe, "requested_on", in.RequestedOn, false)}
	if in.ID != nil {
		input.ID = *in.ID
	}
	if err := fe.Err(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	r, err := h.svc.CreateReview(ctx, access.ScopeFrom(ctx), input)
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/reviews/"+r.ID.String())
	h.writeReview(c, http.StatusCreated, ReviewDetail{Review: r})
	return nil
}

func (h *Handler) reviews(c *gin.Context) error {
	q := web.NewQuery(c)
	f := ReviewFilter{AreaCode: q.String("area", 10), Year: max(q.Int("year", 2000, 2100), 0), State: q.Enum("state",
		StateOpen, StateSurveying, StateMeetingRecorded, StatePosted, StateSubmitted, StateReturned, StateRecognized),
		Kind: q.Enum("kind", Periodic, Regular)}
	return web.ServeIDPage(c, q, 50, 200, func(ctx context.Context, after uuid.UUID, limit int) ([]Review, error) {
		return h.svc.Reviews(ctx, access.ScopeFrom(ctx), f, after, limit)
	}, reviewOut, func(r Review) uuid.UUID { return r.ID })
}

func (h *Handler) review(c *gin.Context) error {
	id, err := idParam(c, "id", errReviewNotFound)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	d, err := h.svc.Review(ctx, access.ScopeFrom(ctx), id)
	if err != nil {
		return err
	}
	h.writeReview(c, http.StatusOK, d)
	return nil
}

// ListEntryOut is a household on a recognized list.
type ListEntryOut struct {
	HouseholdID     uuid.UUID `json:"household_id"`
	HouseholdCode   string    `json:"household_code"`
	Village         string    `json:"village"`
	HeadName        string    `json:"head_name"`
	From            string    `json:"from"`
	To              string    `json:"to"`
	EffectiveDate   string    `json:"effective_date"`
	DecisionNumber  string    `json:"decision_number"`
	IncomePerPerson int64     `json:"income_per_person"`
	Deprivations    int       `json:"deprivations"`
}

func (h *Handler) list(c *gin.Context) error {
	id, err := idParam(c, "id", errReviewNotFound)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	entries, err := h.svc.List(ctx, access.ScopeFrom(ctx), id, c.Param("kind"))
	if err != nil {
		return err
	}
	out := struct {
		ReviewID uuid.UUID      `json:"review_id"`
		Kind     string         `json:"kind"`
		Items    []ListEntryOut `json:"items"`
	}{ReviewID: id, Kind: c.Param("kind"), Items: make([]ListEntryOut, 0, len(entries))}
	for _, e := range entries {
		out.Items = append(out.Items, ListEntryOut{HouseholdID: e.HouseholdID, HouseholdCode: e.HouseholdCode, Village: e.Village,
			HeadName: e.HeadName, From: e.From, To: e.To, EffectiveDate: date(e.EffectiveDate), DecisionNumber: e.DecisionNumber,
			IncomePerPerson: e.Income, Deprivations: e.Deprivations})
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
	return nil
}

// actionReq is a review action's request: the review, If-Match (optional:
// -1 when absent), the caller's scope and the body.
type actionReq[T any] struct {
	ctx     context.Context
	scope   access.Scope
	id      uuid.UUID
	version int
	in      T
	fe      apperr.FieldList
}

// reviewAction reads an actionReq, runs do and answers with the review.
func reviewAction[T any](h *Handler, do func(c *gin.Context, r *actionReq[T]) (ReviewDetail, error)) web.HandlerFunc {
	return func(c *gin.Context) error {
		id, err := idParam(c, "id", errReviewNotFound)
		if err != nil {
			return err
		}
		version, err := web.IfMatchVersionOptional(c)
		if err != nil {
			return err
		}
		r := &actionReq[T]{id: id, version: version}
		if c.Request.ContentLength != 0 { // actions without required fields may come with no body
			if err := web.BindJSON(c, &r.in); err != nil {
				return err
			}
		}
		r.ctx = c.Request.Context()
		r.scope = access.ScopeFrom(r.ctx)
		d, err := do(c, r)
		if err == nil {
			err = r.fe.Err()
		}
		if err != nil {
			return err
		}
		h.writeReview(c, http.StatusOK, d)
		return nil
	}
}

type voteIn struct {
	HouseholdID uuid.UUID `json:"household_id"`
	Agree       int       `json:"agree"`
}

type meetingIn struct {
	Date      string   `json:"date"`
	Chair     string   `json:"chair"`
	Attendees int      `json:"attendees"`
	Votes     []voteIn `json:"votes"`
}

func (h *Handler) recordMeeting(_ *gin.Context, r *actionReq[meetingIn]) (ReviewDetail, error) {
	d := web.ParseDate(&r.fe, "date", r.in.Date, true)
	if d == nil {
		return ReviewDetail{}, r.fe.Err()
	}
	m := Meeting{Date: *d, Chair: r.in.Chair, Attendees: r.in.Attendees}
	for _, v := range r.in.Votes {
		m.Votes = append(m.Votes, Vote(v))
	}
	return h.svc.RecordMeeting(r.ctx, r.scope, r.id, r.version, m)
}

type postingIn struct {
	StartDate string `json:"start_date"`
	EndDate   string `json:"end_date"`
}

func (h *Handler) post(_ *gin.Context, r *actionReq[postingIn]) (ReviewDetail, error) {
	start := web.ParseDate(&r.fe, "start_date", r.in.StartDate, true)
	end := web.ParseDate(&r.fe, "end_date", r.in.EndDate, true)
	if start == nil || end == nil {
		return ReviewDetail{}, r.fe.Err()
	}
	return h.svc.Post(r.ctx, r.scope, r.id, r.version, *start, *end)
}

type objectionIn struct {
	HouseholdID *uuid.UUID `json:"household_id"`
	RaisedBy    string     `json:"raised_by"`
	RaisedOn    string     `json:"raised_on"`
	Content     string     `json:"content"`
}

func (h *Handler) addObjection(_ *gin.Context, r *actionReq[objectionIn]) (ReviewDetail, error) {
	on := web.ParseDate(&r.fe, "raised_on", r.in.RaisedOn, true)
	if on == nil {
		return ReviewDetail{}, r.fe.Err()
	}
	return h.svc.AddObjection(r.ctx, r.scope, r.id, r.version, ObjectionInput{HouseholdID: r.in.HouseholdID,
		RaisedBy: r.in.RaisedBy, RaisedOn: *on, Content: r.in.Content})
}

type resolveIn struct {
	Outcome    string `json:"outcome"`
	Resolution string `json:"resolution"`
}

func (h *Handler) resolveObjection(c *gin.Context, r *actionReq[resolveIn]) (ReviewDetail, error) {
	objection, err := idParam(c, "objection", apperr.New(apperr.NotFound, "objection_not_found", "no such objection"))
	if err != nil {
		return ReviewDetail{}, err
	}
	return h.svc.ResolveObjection(r.ctx, r.scope, r.id, r.version, objection, r.in.Outcome, r.in.Resolution)
}

type noteIn struct {
	Note string `json:"note"`
}

func (h *Handler) submit(_ *gin.Context, r *actionReq[noteIn]) (ReviewDetail, error) {
	return h.svc.Submit(r.ctx, r.scope, r.id, r.version, r.in.Note)
}

type reasonIn struct {
	Reason string `json:"reason"`
}

func (h *Handler) reopen(_ *gin.Context, r *actionReq[reasonIn]) (ReviewDetail, error) {
	return h.svc.Reopen(r.ctx, r.scope, r.id, r.version, r.in.Reason)
}

func (h *Handler) returnReview(_ *gin.Context, r *actionReq[reasonIn]) (ReviewDetail, error) {
	return h.svc.Return(r.ctx, r.scope, r.id, r.version, r.in.Reason)
}

type decisionIn struct {
	DecisionNumber string `json:"decision_number"`
	DecisionDate   string `json:"decision_date"`
	Signer         string `json:"signer"`
}

func (h *Handler) recognize(_ *gin.Context, r *actionReq[decisionIn]) (ReviewDetail, error) {
	d := web.ParseDate(&r.fe, "decision_date", r.in.DecisionDate, true)
	if d == nil {
		return ReviewDetail{}, r.fe.Err()
	}
	return h.svc.Recognize(r.ctx, r.scope, r.id, r.version, DecisionInput{Number: r.in.DecisionNumber, Date: *d, Signer: r.in.Signer})
}
