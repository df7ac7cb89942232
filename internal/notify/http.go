package notify

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// Handler serves a user's notification preferences.
type Handler struct{ svc *SettingsService }

// NewHandler makes the handler.
func NewHandler(svc *SettingsService) *Handler { return &Handler{svc: svc} }

// Register mounts the routes: every signed-in user has their own.
func (h *Handler) Register(r *access.Routes) {
	r.SignedIn(http.MethodGet, "/me/notifications", h.get)
	r.SignedIn(http.MethodPut, "/me/notifications", h.put)
}

func (h *Handler) get(c *gin.Context) error {
	st, err := h.svc.Get(c.Request.Context())
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, st)
	return nil
}

func (h *Handler) put(c *gin.Context) error {
	var p Preferences
	if err := web.BindJSON(c, &p); err != nil {
		return err
	}
	st, err := h.svc.Put(c.Request.Context(), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st)
	return nil
}
