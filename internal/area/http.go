package area

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// Handler serves the areas API. Areas are public reference data: every role
// may read every unit (scoping applies to what lies in them).
type Handler struct {
	store *Store
}

// NewHandler makes the handlers. The logger is no longer used (errors are
// written and logged by the route adapter); the parameter keeps the wiring.
func NewHandler(store *Store) *Handler { return &Handler{store: store} }

// Register mounts the routes.
func (h *Handler) Register(r *access.Routes) {
	r.Handle(http.MethodGet, "/areas", "area", "read", h.list)
	r.Handle(http.MethodGet, "/areas/:code", "area", "read", h.get)
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

func (h *Handler) list(c *gin.Context) error {
	q := web.NewQuery(c)
	parent, level, text := q.String("parent", 6), q.String("level", 16), q.String("q", 100)
	limit := q.Limit(100, 500)
	var after string
	hasCursor := q.Cursor(&after)
	if err := q.Err(); err != nil {
		return err
	}
	f, err := NewFilter(parent, level, text)
	if err != nil {
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
	a, err := h.store.Get(c.Request.Context(), code)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "private, max-age=300")
	c.JSON(http.StatusOK, toDTO(a))
	return nil
}
