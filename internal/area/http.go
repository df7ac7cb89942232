package area

import (
	"log/slog"
	"net/http"
	"regexp"

	"github.com/gin-gonic/gin"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// Handler serves the areas API. Areas are public reference data: every role
// may read every unit (scoping applies to what lies in them).
type Handler struct {
	store *Store
	log   *slog.Logger
}

// NewHandler makes the handlers.
func NewHandler(store *Store, log *slog.Logger) *Handler { return &Handler{store: store, log: log} }

// Register mounts the routes.
func (h *Handler) Register(r *access.Routes) {
	r.Handle(http.MethodGet, "/areas", "area", "read", web.Legacy(h.list))
	r.Handle(http.MethodGet, "/areas/:code", "area", "read", web.Legacy(h.get))
}

// DTO is an area as the API shows it.
type DTO struct {
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
	return DTO{Code: a.Code, Level: a.Level, ParentCode: a.ParentCode, Name: a.Name, FullName: a.FullName,
		NameEN: a.NameEN, UnitType: a.UnitType, Path: a.Path}
}

var codeRe = regexp.MustCompile(`^[0-9]{2,6}$`)

func (h *Handler) list(c *gin.Context) {
	q := web.NewQuery(c)
	f := Filter{Parent: q.String("parent", 6), Level: q.String("level", 16), Query: q.String("q", 100)}
	limit := q.Limit(100, 500)
	var after string
	hasCursor := q.Cursor(&after)
	var fe []apperr.FieldError
	if f.Parent != "" && !codeRe.MatchString(f.Parent) {
		fe = append(fe, apperr.FieldError{Field: "parent", Code: "invalid", Message: "must be an area code"})
	}
	switch f.Level {
	case "", "province", "district", "commune":
	default:
		fe = append(fe, apperr.FieldError{Field: "level", Code: "invalid", Message: "must be province, district or commune"})
	}
	if err := q.Err(); err != nil {
		web.WriteProblem(c, h.log, err)
		return
	}
	if err := apperr.Fields(fe); err != nil {
		web.WriteProblem(c, h.log, err)
		return
	}
	if !hasCursor {
		after = ""
	}
	areas, err := h.store.List(c.Request.Context(), f, after, limit+1)
	if err != nil {
		web.WriteProblem(c, h.log, err)
		return
	}
	var position func(Area) any // ranked name matches have no next page
	if f.Query == "" {
		position = func(a Area) any { return a.Code }
	}
	page := web.PageOf(areas, limit, toDTO, position)
	c.Header("Cache-Control", "private, max-age=300")
	c.JSON(http.StatusOK, page)
}

func (h *Handler) get(c *gin.Context) {
	code := c.Param("code")
	if !codeRe.MatchString(code) {
		web.WriteProblem(c, h.log, apperr.New(apperr.NotFound, "area_not_found", "no administrative area %s", code))
		return
	}
	a, err := h.store.Get(c.Request.Context(), code)
	if err != nil {
		web.WriteProblem(c, h.log, err)
		return
	}
	c.Header("Cache-Control", "private, max-age=300")
	c.JSON(http.StatusOK, toDTO(a))
}
