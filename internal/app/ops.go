package app

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	swaggerFiles "github.com/swaggo/files"
	ginSwagger "github.com/swaggo/gin-swagger"

	"github.com/ansinh/ansinh/docs"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// pinger is what readiness needs of the database.
type pinger interface {
	Ping(ctx context.Context) error
}

// registerOps adds the operations endpoints: liveness, readiness, metrics and
// the API contract with its browsable UI (served from the binary, no CDN).
func (a *App) registerOps(e *gin.Engine) {
	e.GET("/healthz", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	})
	e.GET("/readyz", readyz(a.db, a.cfg.Database.ReadyTimeout, a))
	e.GET("/metrics", gin.WrapH(a.metrics.Handler()))
	e.GET("/openapi.yaml", func(c *gin.Context) {
		c.Data(http.StatusOK, "application/yaml; charset=utf-8", docs.OpenAPI)
	})
	e.GET("/docs", func(c *gin.Context) {
		c.Redirect(http.StatusFound, "/docs/index.html")
	})
	e.GET("/docs/*any", ginSwagger.WrapHandler(swaggerFiles.Handler,
		ginSwagger.URL("/openapi.yaml"), ginSwagger.DocExpansion("none")))
}

// readyz answers 200 when the database answers within timeout, 503 otherwise.
func readyz(db pinger, timeout time.Duration, a *App) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), timeout)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			a.log.WarnContext(ctx, "not ready: database does not answer", "error", err.Error())
			web.WriteProblem(c, nil, apperr.Wrap(err, apperr.Unavailable, "not_ready", ""))
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	}
}
