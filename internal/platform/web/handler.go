package web

import (
	"log/slog"

	"github.com/gin-gonic/gin"

	"github.com/ansinh/ansinh/internal/platform/db"
)

// HandlerFunc is a handler that returns its error instead of writing it: the
// adapter maps it to problem+json and logs it once, so no handler does.
type HandlerFunc func(c *gin.Context) error

// Adapt turns h into a Gin handler; an error h returns is written with
// WriteProblem (server errors logged there, once).
func Adapt(log *slog.Logger, h HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			WriteProblem(c, log, err)
		}
	}
}

// BindChange reads what every update of a versioned object starts from: the
// version in If-Match (428 without it, 412 when it is not an ETag this server
// issued) and the JSON body, in that order, so a stale client learns that
// first.
func BindChange(c *gin.Context, dst any) (version int, err error) {
	if version, err = IfMatchVersion(c); err != nil {
		return 0, err
	}
	if err := BindJSON(c, dst); err != nil {
		return 0, err
	}
	return version, nil
}

// AsKind marks h's requests as kind of work k (reports, for instance): the
// transactions they begin take that kind's statement and lock bounds.
func AsKind(k db.Kind, h HandlerFunc) HandlerFunc {
	return func(c *gin.Context) error {
		c.Request = c.Request.WithContext(db.WithKind(c.Request.Context(), k))
		return h(c)
	}
}
