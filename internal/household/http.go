package household

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/ratelimit"
	"github.com/ansinh/ansinh/internal/platform/vn"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// Handler serves the registry API.
type Handler struct {
	svc   *Service
	views map[string]func(any) any
}

// NewHandler makes the handlers.
func NewHandler(svc *Service) *Handler {
	return &Handler{svc: svc, views: map[string]func(any) any{}}
}

// FeedView registers how the sync feed shows the records of a type that the
// service's Feed loads (the service returns domain values; their JSON shape
// belongs to their own package's handler). Call it while wiring.
func (h *Handler) FeedView(entityType string, view func(any) any) { h.views[entityType] = view }

// Register mounts the routes.
func (h *Handler) Register(r *access.Routes) {
	r.Handle(http.MethodPost, "/households", "household", "write", h.create)
	r.Kind(ratelimit.Search).Handle(http.MethodGet, "/households", "household", "read", h.list)
	r.Handle(http.MethodGet, "/households/:id", "household", "read", h.get)
	r.Handle(http.MethodPatch, "/households/:id", "household", "write", changeHandler(h.update, http.StatusOK))
	r.Handle(http.MethodPost, "/households/:id/archive", "household", "write", changeHandler(h.archive, http.StatusOK))
	r.Handle(http.MethodPost, "/households/:id/members", "household", "write", changeHandler(h.addMember, http.StatusCreated))
	r.Handle(http.MethodPatch, "/households/:id/members/:member", "household", "write", changeHandler(h.updateMember, http.StatusOK))
	r.Handle(http.MethodPost, "/households/:id/members/:member/status", "household", "write", changeHandler(h.memberEvent, http.StatusOK))
	r.Handle(http.MethodPost, "/households/:id/head", "household", "write", changeHandler(h.changeHead, http.StatusOK))
	r.Handle(http.MethodPost, "/households/:id/transfer", "household", "write", changeHandler(h.transfer, http.StatusOK))
	r.Handle(http.MethodPost, "/households/:id/split", "household", "write", changeHandler(h.split, http.StatusCreated))
	r.Handle(http.MethodGet, "/households/:id/history", "household", "read", h.historyOf)
	r.Handle(http.MethodGet, "/sync/changes", "household", "read", h.changes)
	r.Kind(ratelimit.Search).Handle(http.MethodGet, "/duplicates", "household", "read", h.duplicates)
	r.Kind(ratelimit.Search).Handle(http.MethodGet, "/members", "household", "read", h.members)
	r.Handle(http.MethodPost, "/duplicates/:id/resolve", "household", "write", h.resolve)
}

// MemberHitOut is a member found by search, with where they live.
type MemberHitOut struct {
	MemberOut
	HouseholdID   uuid.UUID `json:"household_id"`
	HouseholdCode string    `json:"household_code"`
	CommuneCode   string    `json:"commune_code"`
}

// The values the list filters take: a household's classification, a member's
// status.
var (
	classifications = []string{"none", "poor", "near_poor", "average"}
	memberStatuses  = []string{"present", "moved_out", "deceased", "merged"}
)

func (h *Handler) members(c *gin.Context) error {
	q := web.NewQuery(c)
	f := MemberFilter{CommuneCode: q.String("commune", 6), Sex: q.Enum("sex", string(Male), string(Female)),
		Status: q.Enum("status", memberStatuses...), Query: q.String("q", 100), AgeMin: q.Int("age_min", 0, 130), AgeMax: q.Int("age_max", 0, 130)}
	limit := q.Limit(50, 200)
	var after uuid.UUID
	q.Cursor(&after)
	if err := q.Err(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	hits, err := h.svc.Members(ctx, access.ScopeFrom(ctx), f, after, limit+1)
	if err != nil {
		return err
	}
	var position func(MemberHit) any // ranked name matches have no next page
	if f.Query == "" {
		position = func(m MemberHit) any { return m.ID }
	}
	page := web.PageOf(hits, limit, func(m MemberHit) MemberHitOut {
		one := householdOut(Household{Members: []Member{m.Member}}, false).Members[0]
		return MemberHitOut{MemberOut: one, HouseholdID: m.HouseholdID, HouseholdCode: m.HouseholdCode, CommuneCode: m.CommuneCode}
	}, position)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, page)
	return nil
}

type candidateSide struct {
	MemberID      uuid.UUID  `json:"member_id"`
	HouseholdID   *uuid.UUID `json:"household_id,omitempty"`
	HouseholdCode string     `json:"household_code,omitempty"`
	FullName      string     `json:"full_name"`
	BirthYear     int        `json:"birth_year,omitempty"`
}

func side(m CandidateMember) candidateSide {
	out := candidateSide{MemberID: m.MemberID, FullName: m.FullName, BirthYear: m.BirthYear, HouseholdCode: m.HouseholdCode}
	if m.HouseholdID != uuid.Nil {
		id := m.HouseholdID
		out.HouseholdID = &id
	}
	return out
}

func (h *Handler) duplicates(c *gin.Context) error {
	q := web.NewQuery(c)
	limit := q.Limit(50, 200)
	if err := q.Err(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	list, err := h.svc.Duplicates(ctx, access.ScopeFrom(ctx), limit)
	if err != nil {
		return err
	}
	type item struct {
		ID        uuid.UUID     `json:"id"`
		Reason    string        `json:"reason"`
		A         candidateSide `json:"a"`
		B         candidateSide `json:"b"`
		CreatedAt time.Time     `json:"created_at"`
	}
	page := web.Page[item]{Items: []item{}}
	for _, d := range list {
		page.Items = append(page.Items, item{ID: d.ID, Reason: d.Reason, A: side(d.A), B: side(d.B), CreatedAt: d.CreatedAt.UTC()})
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, page)
	return nil
}

func (h *Handler) resolve(c *gin.Context) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errCandidateNotFound
	}
	var in struct {
		Resolution   string    `json:"resolution"`
		KeepMemberID uuid.UUID `json:"keep_member_id"`
	}
	if err := web.BindJSON(c, &in); err != nil {
		return err
	}
	ctx := c.Request.Context()
	if err := h.svc.Resolve(ctx, access.ScopeFrom(ctx), id, in.Resolution, in.KeepMemberID); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// memberPatchIn is a member's PATCH body: MemberIn's fields but the id, each
// optional, in their order (it converts to MemberPatch).
type memberPatchIn struct {
	FullName         *string `json:"full_name"`
	BirthDate        *string `json:"birth_date"`
	Sex              *string `json:"sex"`
	IDNumber         *string `json:"id_number"`
	Relationship     *string `json:"relationship"`
	EthnicityCode    *int    `json:"ethnicity_code"`
	Disability       *bool   `json:"disability"`
	EducationLevel   *string `json:"education_level"`
	Occupation       *string `json:"occupation"`
	EmploymentStatus *string `json:"employment_status"`
	InsuranceCard    *string `json:"insurance_card"`
	InsuranceExpiry  *string `json:"insurance_expiry"`
	Student          *bool   `json:"student"`
	SchoolLevel      *string `json:"school_level"`
}

// historyOf lists the household's earlier states from the audit trail,
// newest first (each change with the state before and after).
func (h *Handler) historyOf(c *gin.Context) error {
	id, err := householdID(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	events, err := h.svc.History(ctx, access.ScopeFrom(ctx), id)
	if err != nil {
		return err
	}
	page := web.Page[audit.EventDTO]{Items: make([]audit.EventDTO, 0, len(events))}
	for _, e := range events {
		page.Items = append(page.Items, audit.ToEventDTO(e))
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, page)
	return nil
}

// ChangeOut is one entry of the sync feed.
type ChangeOut struct {
	Type        string        `json:"type"` // household (members travel inside it), assessment
	ID          uuid.UUID     `json:"id"`
	HouseholdID uuid.UUID     `json:"household_id"`
	Op          string        `json:"op"` // upsert, or archive: drop the local copy
	Household   *HouseholdOut `json:"household,omitempty"`
	Data        any           `json:"data,omitempty"` // the record, for types other than household
}

func (h *Handler) changes(c *gin.Context) error {
	q := web.NewQuery(c)
	limit := q.Limit(100, 500)
	var pos SyncPosition
	if raw := c.Query("cursor"); raw != "" {
		if err := web.DecodeCursor(raw, &pos); err != nil {
			return ErrSyncCursorExpired
		}
	}
	if err := q.Err(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	changes, next, more, err := h.svc.Changes(ctx, access.ScopeFrom(ctx), pos, limit)
	if err != nil {
		return err
	}
	out := struct {
		Changes    []ChangeOut `json:"changes"`
		NextCursor string      `json:"next_cursor"`
		HasMore    bool        `json:"has_more"`
	}{Changes: []ChangeOut{}, NextCursor: web.EncodeCursor(next), HasMore: more}
	for _, ch := range changes {
		co := ChangeOut{Type: ch.Type, ID: ch.ID, HouseholdID: ch.HouseholdID, Op: ch.Op, Data: ch.Data}
		if view := h.views[ch.Type]; view != nil && ch.Data != nil {
			co.Data = view(ch.Data)
		}
		if ch.Household != nil {
			ho := householdOut(*ch.Household, false)
			co.Household = &ho
		}
		out.Changes = append(out.Changes, co)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
	return nil
}

// MemberIn is a member as a client sends it.
type MemberIn struct {
	ID               *uuid.UUID `json:"id"`
	FullName         string     `json:"full_name"`
	BirthDate        string     `json:"birth_date"` // YYYY-MM-DD or YYYY
	Sex              string     `json:"sex"`
	IDNumber         string     `json:"id_number"`
	Relationship     string     `json:"relationship"`
	EthnicityCode    *int       `json:"ethnicity_code"`
	Disability       bool       `json:"disability"`
	EducationLevel   string     `json:"education_level"`
	Occupation       string     `json:"occupation"`
	EmploymentStatus string     `json:"employment_status"`
	InsuranceCard    string     `json:"insurance_card"`
	InsuranceExpiry  string     `json:"insurance_expiry"`
	Student          bool       `json:"student"`
	SchoolLevel      string     `json:"school_level"`
	ArrivedOn        string     `json:"arrived_on"` // YYYY-MM-DD: born or moved in (default: since the household was established)
}

// HouseholdIn is a household as a client registers it (and, any of the
// fields the model lets a client change, as it patches one: patchIn).
type HouseholdIn struct {
	ID             *uuid.UUID `json:"id"` // a mobile client may mint it (UUIDv7)
	Code           string     `json:"code"`
	CommuneCode    string     `json:"commune_code"`
	Village        string     `json:"village"`
	Address        string     `json:"address"`
	AreaType       string     `json:"area_type"`
	Phone          string     `json:"phone"`
	EthnicMinority bool       `json:"ethnic_minority"`
	EstablishedOn  string     `json:"established_on"` // YYYY-MM-DD: when it came into existence (default today)
	Members        []MemberIn `json:"members"`
}

// household is the household's own fields as the model takes them: the one
// mapping from the request, for a registration and a patch alike.
func (in HouseholdIn) household() Household {
	h := Household{Code: in.Code, CommuneCode: in.CommuneCode, Village: in.Village, Address: in.Address,
		AreaType: in.AreaType, Phone: in.Phone, EthnicMinority: in.EthnicMinority}
	if in.ID != nil {
		h.ID = *in.ID
	}
	return h
}

// fields are the member's values for NewMember (MemberFields has MemberIn's
// fields, in the same order).
func (in MemberIn) fields() MemberFields { return MemberFields(in) }

// MemberOut is a member as the API shows it: the ID number masked unless the
// caller asked to reveal it and may.
type MemberOut struct {
	ID               uuid.UUID `json:"id"`
	FullName         string    `json:"full_name"`
	BirthDate        string    `json:"birth_date"`
	Sex              string    `json:"sex"`
	IDNumber         string    `json:"id_number,omitempty"`
	IDKind           string    `json:"id_kind,omitempty"`
	Relationship     string    `json:"relationship"`
	EthnicityCode    *int      `json:"ethnicity_code,omitempty"`
	Disability       bool      `json:"disability,omitempty"`
	EducationLevel   string    `json:"education_level,omitempty"`
	Occupation       string    `json:"occupation,omitempty"`
	EmploymentStatus string    `json:"employment_status,omitempty"`
	InsuranceCard    string    `json:"insurance_card,omitempty"`
	InsuranceExpiry  string    `json:"insurance_expiry,omitempty"`
	Student          bool      `json:"student,omitempty"`
	SchoolLevel      string    `json:"school_level,omitempty"`
	ArrivedOn        string    `json:"arrived_on,omitempty"`
	Status           string    `json:"status"`
}

// HouseholdOut is a household as the API shows it.
type HouseholdOut struct {
	ID                     uuid.UUID   `json:"id"`
	Code                   string      `json:"code"`
	CommuneCode            string      `json:"commune_code"`
	CommuneEdition         string      `json:"commune_edition"`
	AreaPath               string      `json:"area_path"`
	Village                string      `json:"village"`
	Address                string      `json:"address,omitempty"`
	AreaType               string      `json:"area_type"`
	Phone                  string      `json:"phone,omitempty"`
	EthnicMinority         bool        `json:"ethnic_minority"`
	Classification         string      `json:"classification"`
	ClassificationDecision string      `json:"classification_decision,omitempty"`
	ClassificationSince    string      `json:"classification_effective,omitempty"`
	Status                 string      `json:"status"`
	ArchiveReason          string      `json:"archive_reason,omitempty"`
	EstablishedOn          string      `json:"established_on"`
	EndedOn                string      `json:"ended_on,omitempty"`
	Version                int         `json:"version"`
	CreatedAt              time.Time   `json:"created_at"`
	UpdatedAt              time.Time   `json:"updated_at"`
	Members                []MemberOut `json:"members"`
}

func householdOut(hh Household, reveal bool) HouseholdOut {
	out := HouseholdOut{ID: hh.ID, Code: hh.Code, CommuneCode: hh.CommuneCode, CommuneEdition: hh.CommuneEdition, AreaPath: hh.AreaPath, Village: hh.Village,
		Address: hh.Address, AreaType: hh.AreaType, Phone: hh.Phone, EthnicMinority: hh.EthnicMinority,
		Classification: hh.Classification, ClassificationDecision: hh.ClassificationDecision,
		ClassificationSince: vn.Date(hh.ClassificationEffective), Status: hh.Status,
		ArchiveReason: hh.ArchiveReason, EstablishedOn: vn.Date(hh.EstablishedOn), EndedOn: vn.Date(hh.EndedOn),
		Version: hh.Version, CreatedAt: hh.CreatedAt.UTC(), UpdatedAt: hh.UpdatedAt.UTC(),
		Members: make([]MemberOut, 0, len(hh.Members))}
	for _, m := range hh.Members {
		birth := vn.Date(m.BirthDate)
		if birth == "" {
			birth = fmt.Sprintf("%04d", m.BirthYear)
		}
		mo := MemberOut{ID: m.ID, FullName: m.FullName, BirthDate: birth, Sex: string(m.Sex), Relationship: m.Relationship,
			EthnicityCode: m.EthnicityCode, Disability: m.Disability, EducationLevel: m.EducationLevel, Occupation: m.Occupation,
			EmploymentStatus: m.EmploymentStatus, InsuranceCard: m.InsuranceCard, InsuranceExpiry: vn.Date(m.InsuranceExpiry),
			Student: m.Student, SchoolLevel: m.SchoolLevel, ArrivedOn: vn.Date(m.ArrivedOn), Status: m.Status}
		if m.IDNumber != nil {
			mo.IDKind = string(m.IDNumber.Kind)
			mo.IDNumber = m.IDNumber.Masked()
			if reveal {
				mo.IDNumber = m.IDNumber.Digits
			}
		}
		out.Members = append(out.Members, mo)
	}
	return out
}

func write(c *gin.Context, status int, hh Household, reveal bool) {
	web.SetVersionETag(c, hh.Version)
	c.Header("Cache-Control", "no-store")
	c.JSON(status, householdOut(hh, reveal))
}

func (h *Handler) create(c *gin.Context) error {
	var in HouseholdIn
	if err := web.BindJSON(c, &in); err != nil {
		return err
	}
	f := HouseholdFields{Household: in.household(), EstablishedOn: in.EstablishedOn}
	var fe apperr.FieldList
	if len(in.Members) > 50 {
		fe.Add("members", "too_many", "at most 50 members")
	}
	for _, m := range in.Members {
		f.Members = append(f.Members, m.fields())
	}
	hh, err := NewHousehold(f, h.svc.now())
	if e, ok := apperr.As(err); ok {
		fe = append(fe, e.Fields...)
	}
	if err := apperr.Fields(dedupe(fe)); err != nil {
		return err
	}
	ctx := c.Request.Context()
	created, err := h.svc.Create(ctx, access.ScopeFrom(ctx), hh)
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/households/"+created.ID.String())
	write(c, http.StatusCreated, created, false)
	return nil
}

// householdID is the :id path parameter; a malformed one is not found.
func householdID(c *gin.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return uuid.Nil, errHouseholdNotFound
	}
	return id, nil
}

func (h *Handler) get(c *gin.Context) error {
	id, err := householdID(c)
	if err != nil {
		return err
	}
	q := web.NewQuery(c)
	reveal := q.Enum("reveal", "id_number") == "id_number"
	if err := q.Err(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	hh, err := h.svc.View(ctx, access.ScopeFrom(ctx), id, reveal)
	if err != nil {
		return err
	}
	write(c, http.StatusOK, hh, reveal)
	return nil
}

func (h *Handler) list(c *gin.Context) error {
	q := web.NewQuery(c)
	f := Filter{CommuneCode: q.String("commune", 6), Village: q.String("village", 100),
		Classification: q.Enum("classification", classifications...), Status: q.Enum("status", "active", "archived"),
		Query: q.String("q", 100), EthnicMinority: q.Bool("ethnic_minority"), AgeMin: q.Int("member_age_min", 0, 130), AgeMax: q.Int("member_age_max", 0, 130)}
	limit := q.Limit(50, 200)
	var after uuid.UUID
	q.Cursor(&after)
	if err := q.Err(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	list, err := h.svc.List(ctx, access.ScopeFrom(ctx), f, after, limit+1)
	if err != nil {
		return err
	}
	var position func(Household) any // ranked name matches have no next page
	if f.Query == "" {
		position = func(hh Household) any { return hh.ID }
	}
	page := web.PageOf(list, limit, func(hh Household) HouseholdOut { return householdOut(hh, false) }, position)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, page)
	return nil
}

// patchIn is a PATCH body: any of HouseholdIn's fields that the model lets
// a client change (tagged patch), each optional (absent or null leaves the
// field alone). Its type, patchType, is built once from HouseholdIn, so the
// body is decoded as strictly as any other: a key that is unknown, or that a
// patch may not change, is refused by name, a value of the wrong type by field.
type patchIn struct{ v reflect.Value }

var patchType = func() reflect.Type {
	in := reflect.TypeFor[HouseholdIn]()
	var fs []reflect.StructField
	for i := range in.NumField() {
		sf := in.Field(i)
		if f, ok := householdFields.named(jsonName(sf)); ok && f.patch {
			fs = append(fs, reflect.StructField{Name: sf.Name, Type: reflect.PointerTo(sf.Type), Tag: sf.Tag})
		}
	}
	return reflect.StructOf(fs)
}()

// jsonName is a struct field's name in JSON.
func jsonName(sf reflect.StructField) string {
	name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
	return name
}

func (p *patchIn) UnmarshalJSON(b []byte) error {
	v := reflect.New(patchType)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v.Interface()); err != nil {
		return err
	}
	p.v = v.Elem()
	return nil
}

// patch is the model's Patch: the fields given, mapped as a registration's
// (HouseholdIn.household).
func (p patchIn) patch() Patch {
	var in HouseholdIn
	var names []string
	for i := range patchType.NumField() {
		if p.v.IsValid() && !p.v.Field(i).IsNil() {
			sf := patchType.Field(i)
			reflect.ValueOf(&in).Elem().FieldByName(sf.Name).Set(p.v.Field(i).Elem())
			names = append(names, jsonName(sf))
		}
	}
	return Patch{To: in.household(), Fields: names}
}

// changeReq is what every change to a household starts from: its id from the
// path, its version from If-Match, the caller's scope and the JSON body.
type changeReq[T any] struct {
	ctx     context.Context
	scope   access.Scope
	id      uuid.UUID
	version int
	in      T
}

// changeHandler reads a changeReq, runs do, and answers with the household do
// returns (with Location when it was created) and its ETag.
func changeHandler[T any](do func(c *gin.Context, r changeReq[T]) (Household, error), status int) web.HandlerFunc {
	return func(c *gin.Context) error {
		id, err := householdID(c)
		if err != nil {
			return err
		}
		var in T
		version, err := web.BindChange(c, &in)
		if err != nil {
			return err
		}
		ctx := c.Request.Context()
		hh, err := do(c, changeReq[T]{ctx: ctx, scope: access.ScopeFrom(ctx), id: id, version: version, in: in})
		if err != nil {
			return err
		}
		if status == http.StatusCreated && hh.ID != id { // split: a new household
			c.Header("Location", "/api/v1/households/"+hh.ID.String())
		}
		write(c, status, hh, false)
		return nil
	}
}

// memberParam is the :member path parameter; a malformed one is not found.
func memberParam(c *gin.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("member"))
	if err != nil {
		return uuid.Nil, errNoMember
	}
	return id, nil
}

func (h *Handler) update(_ *gin.Context, r changeReq[patchIn]) (Household, error) {
	return h.svc.Update(r.ctx, r.scope, r.id, r.version, r.in.patch())
}

type archiveIn struct {
	Reason  string `json:"reason"`
	EndedOn string `json:"ended_on"` // YYYY-MM-DD; empty: today
}

func (h *Handler) archive(_ *gin.Context, r changeReq[archiveIn]) (Household, error) {
	var ended *time.Time
	if r.in.EndedOn != "" {
		t, err := time.Parse(time.DateOnly, r.in.EndedOn)
		if err != nil {
			return Household{}, apperr.Fields([]apperr.FieldError{{Field: "ended_on", Code: "invalid", Message: "must be a date, YYYY-MM-DD"}})
		}
		ended = &t
	}
	return h.svc.Archive(r.ctx, r.scope, r.id, r.version, r.in.Reason, ended)
}

func (h *Handler) addMember(_ *gin.Context, r changeReq[MemberIn]) (Household, error) {
	m, err := NewMember(r.in.fields(), h.svc.now())
	if err != nil {
		return Household{}, err
	}
	return h.svc.AddMember(r.ctx, r.scope, r.id, r.version, m)
}

func (h *Handler) updateMember(c *gin.Context, r changeReq[memberPatchIn]) (Household, error) {
	member, err := memberParam(c)
	if err != nil {
		return Household{}, err
	}
	return h.svc.UpdateMember(r.ctx, r.scope, r.id, r.version, member, MemberPatch(r.in))
}

type memberEventIn struct {
	Status      string `json:"status"`
	Date        string `json:"date"`
	Destination string `json:"destination"`
}

func (h *Handler) memberEvent(c *gin.Context, r changeReq[memberEventIn]) (Household, error) {
	member, err := memberParam(c)
	if err != nil {
		return Household{}, err
	}
	date, err := time.Parse(time.DateOnly, r.in.Date)
	if err != nil {
		return Household{}, apperr.Fields([]apperr.FieldError{{Field: "date", Code: "invalid", Message: "must be YYYY-MM-DD"}})
	}
	return h.svc.RecordMemberEvent(r.ctx, r.scope, r.id, r.version, member,
		MemberEvent{Status: r.in.Status, Date: date, Destination: r.in.Destination})
}

type changeHeadIn struct {
	MemberID uuid.UUID `json:"member_id"`
}

func (h *Handler) changeHead(_ *gin.Context, r changeReq[changeHeadIn]) (Household, error) {
	return h.svc.ChangeHead(r.ctx, r.scope, r.id, r.version, r.in.MemberID)
}

type transferIn struct {
	ToHouseholdID uuid.UUID   `json:"to_household_id"`
	MemberIDs     []uuid.UUID `json:"member_ids"`
}

// transfer moves members to another household (all of them: a merge) and
// answers with the receiving household.
func (h *Handler) transfer(_ *gin.Context, r changeReq[transferIn]) (Household, error) {
	if len(r.in.MemberIDs) > 50 {
		return Household{}, apperr.Fields([]apperr.FieldError{{Field: "member_ids", Code: "too_many", Message: "at most 50"}})
	}
	return h.svc.Transfer(r.ctx, r.scope, r.id, r.version, r.in.ToHouseholdID, r.in.MemberIDs)
}

type splitIn struct {
	Code         string      `json:"code"`
	Village      string      `json:"village"`
	Address      string      `json:"address"`
	AreaType     string      `json:"area_type"`
	Phone        string      `json:"phone"`
	MemberIDs    []uuid.UUID `json:"member_ids"`
	HeadMemberID uuid.UUID   `json:"head_member_id"`
}

// split makes a new household from some members and answers with it.
func (h *Handler) split(_ *gin.Context, r changeReq[splitIn]) (Household, error) {
	in := r.in
	return h.svc.Split(r.ctx, r.scope, r.id, r.version,
		Household{Code: in.Code, Village: in.Village, Address: in.Address, AreaType: in.AreaType, Phone: in.Phone},
		in.MemberIDs, in.HeadMemberID)
}
