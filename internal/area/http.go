package area

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/vn"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// Handler serves the areas API. Areas are public reference data: every role
// may read every unit (scoping applies to what lies in them).
type Handler struct {
	store *Store
	now   func() time.Time
}

// NewHandler makes the handlers.
func NewHandler(store *Store) *Handler { return &Handler{store: store, now: time.Now} }

// Register mounts the routes.
func (h *Handler) Register(r *access.Routes) {
	r.Handle(http.MethodGet, "/areas", "area", "read", h.list)
	r.Handle(http.MethodGet, "/areas/:code", "area", "read", h.get)
	r.Handle(http.MethodGet, "/area-editions", "area", "read", h.editions)
	r.Handle(http.MethodGet, "/areas/:code/designations", "area", "read", h.designations)
}

// DesignationDTO is a designation as the API shows it.
type DesignationDTO struct {
	Kind           string  `json:"kind"`
	Label          string  `json:"label"`
	Zone           string  `json:"zone,omitempty"`
	Edition        string  `json:"edition"`
	Code           string  `json:"area_code"`
	Path           string  `json:"area_path"`
	Village        string  `json:"village,omitempty"`
	ValidFrom      string  `json:"valid_from"`
	ValidTo        *string `json:"valid_to"`
	DecisionNumber string  `json:"decision_number"`
	DecisionDate   string  `json:"decision_date"`
	Issuer         string  `json:"issuer,omitempty"`
	Illustrative   bool    `json:"illustrative"`
}

// designations are those in force on a date (default today) in an area and
// in the units containing it.
func (h *Handler) designations(c *gin.Context) error {
	code := c.Param("code")
	if !ValidCode(code) {
		return errNotFound(code)
	}
	q := web.NewQuery(c)
	name, on := q.String("edition", 7), q.Date("date")
	if err := q.Err(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	day := vn.Today(h.now())
	if on != nil {
		day = *on
	}
	a, err := h.unit(ctx, name, code)
	if err != nil {
		return err
	}
	ds, err := h.store.DesignationsOn(ctx, a, day)
	if err != nil {
		return err
	}
	out := make([]DesignationDTO, len(ds))
	for i, d := range ds {
		out[i] = DesignationDTO{Kind: d.Kind, Label: d.Label(), Zone: d.Zone, Edition: d.Edition, Code: d.Code, Path: d.Path,
			Village: d.Village, ValidFrom: d.ValidFrom.Format(time.DateOnly), DecisionNumber: d.DecisionNumber,
			DecisionDate: d.DecisionDate.Format(time.DateOnly), Issuer: d.Issuer, Illustrative: d.Illustrative}
		if d.ValidTo != nil {
			to := d.ValidTo.Format(time.DateOnly)
			out[i].ValidTo = &to
		}
	}
	c.Header("Cache-Control", "private, max-age=300")
	c.JSON(http.StatusOK, map[string]any{"area": toDTO(a), "date": day.Format(time.DateOnly), "items": out})
	return nil
}

// DTO is an area as the API shows it.
type DTO struct {
	Edition    string `json:"edition"`
	Code       string `json:"code"`
	Level      string `json:"level"`
	ParentCode string `json:"parent_code,omitempty"`
	Name       string `json:"name"`
	FullName   string `json:"full_name"`
	NameEN     string `json:"name_en"`
	UnitType   string `json:"unit_type"`
	Path       string `json:"path"`
}

func toDTO(a Area) DTO {
	return DTO{Edition: a.Edition, Code: a.Code, Level: a.Level, ParentCode: a.ParentCode, Name: a.Name, FullName: a.FullName,
		NameEN: a.NameEN, UnitType: a.UnitType, Path: a.Path}
}

// LinkDTO is a predecessor or successor.
type LinkDTO struct {
	DTO
	Divided bool `json:"divided"`
}

// DetailDTO is one area with the units it came from and became.
type DetailDTO struct {
	DTO
	Predecessors []LinkDTO `json:"predecessors"`
	Successors   []LinkDTO `json:"successors"`
}

// EditionDTO is an edition of the list of units.
type EditionDTO struct {
	Edition   string  `json:"edition"`
	Units     int     `json:"units"`
	ValidFrom string  `json:"valid_from"`
	ValidTo   *string `json:"valid_to"`
	InForce   bool    `json:"in_force"`
	InUse     bool    `json:"in_use"`
	Source    string  `json:"source"`
}

// edition is the edition a request names, or by default the one in force
// today in Vietnam; an edition of another shape, or not loaded, is a 422 on
// the field.
func (h *Handler) edition(ctx context.Context, name string) (string, error) {
	if name != "" && !ValidEdition(name) {
		return "", apperr.Fields([]apperr.FieldError{{Field: "edition", Code: "invalid", Message: "must be an edition of the list of units, such as 2026-04"}})
	}
	editions, err := h.store.Editions(ctx)
	if err != nil {
		return "", err
	}
	if name == "" {
		return EditionOn(editions, vn.Today(h.now())), nil
	}
	for _, e := range editions {
		if e.Name == name {
			return name, nil
		}
	}
	return "", apperr.Fields([]apperr.FieldError{{Field: "edition", Code: "unknown", Message: "no edition " + name + " is loaded (see /area-editions)"}})
}

// unit is the area of a code in the edition a request names (or today's).
func (h *Handler) unit(ctx context.Context, edition, code string) (Area, error) {
	edition, err := h.edition(ctx, edition)
	if err != nil {
		return Area{}, err
	}
	return h.store.GetIn(ctx, edition, code)
}

func (h *Handler) list(c *gin.Context) error {
	q := web.NewQuery(c)
	edition, parent, level, text := q.String("edition", 7), q.String("parent", 6), q.String("level", 16), q.String("q", 100)
	limit := q.Limit(100, 500)
	var after string
	hasCursor := q.Cursor(&after)
	if err := q.Err(); err != nil {
		return err
	}
	f, err := NewFilter(edition, parent, level, text)
	if err != nil {
		return err
	}
	if f.Edition, err = h.edition(c.Request.Context(), f.Edition); err != nil {
		return err
	}
	if !hasCursor {
		after = ""
	}
	areas, err := h.store.List(c.Request.Context(), f, after, limit+1)
	if err != nil {
		return err
	}
	var position func(Area) any // ranked name matches have no next page
	if f.Query == "" {
		position = func(a Area) any { return a.Code }
	}
	page := web.PageOf(areas, limit, toDTO, position)
	c.Header("Cache-Control", "private, max-age=300")
	c.JSON(http.StatusOK, page)
	return nil
}

func (h *Handler) get(c *gin.Context) error {
	code := c.Param("code")
	if !ValidCode(code) {
		return errNotFound(code)
	}
	q := web.NewQuery(c)
	name := q.String("edition", 7)
	if err := q.Err(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	a, err := h.unit(ctx, name, code)
	if err != nil {
		return err
	}
	before, after, err := h.store.Links(ctx, a.Edition, a.Code)
	if err != nil {
		return err
	}
	links := func(ls []Link) []LinkDTO {
		out := make([]LinkDTO, len(ls))
		for i, l := range ls {
			out[i] = LinkDTO{DTO: toDTO(l.Area), Divided: l.Divided}
		}
		return out
	}
	c.Header("Cache-Control", "private, max-age=300")
	c.JSON(http.StatusOK, DetailDTO{DTO: toDTO(a), Predecessors: links(before), Successors: links(after)})
	return nil
}

func (h *Handler) editions(c *gin.Context) error {
	editions, err := h.store.Editions(c.Request.Context())
	if err != nil {
		return err
	}
	today := vn.Today(h.now())
	out := make([]EditionDTO, len(editions))
	for i, e := range editions {
		out[i] = EditionDTO{Edition: e.Name, Units: e.Units, ValidFrom: e.ValidFrom.Format(time.DateOnly),
			InForce: e.Covers(today), InUse: e.InUse, Source: e.Source}
		if e.ValidTo != nil {
			to := e.ValidTo.Format(time.DateOnly)
			out[i].ValidTo = &to
		}
	}
	c.Header("Cache-Control", "private, max-age=300")
	c.JSON(http.StatusOK, map[string]any{"items": out})
	return nil
}
