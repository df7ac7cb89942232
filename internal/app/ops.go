package app

import (
	"context"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	swaggerui "github.com/swaggo/files/v2"

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
	e.GET("/docs/*any", docsUI())
}

// swaggerInitializer points Swagger UI at the served contract.
const swaggerInitializer = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.yaml",
    dom_id: "#swagger-ui",
    deepLinking: true,
    docExpansion: "none",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout"
  });
};
`

// docsUI serves Swagger UI from the files embedded in the binary: they are
// read from its read-only data when asked for, never unpacked into the heap
// (the webdav memory file system gin-swagger needs copied 7.8 MB there at
// start). Unknown names are 404.
func docsUI() gin.HandlerFunc {
	files := http.FileServerFS(swaggerui.FS)
	return func(c *gin.Context) {
		switch name := strings.TrimPrefix(c.Param("any"), "/"); name {
		case "swagger-initializer.js":
			c.Data(http.StatusOK, "text/javascript; charset=utf-8", []byte(swaggerInitializer))
		case "index.html", "":
			// FileServer would redirect index.html to the directory.
			b, err := fs.ReadFile(swaggerui.FS, "index.html")
			if err != nil {
				c.Status(http.StatusNotFound)
				return
			}
			c.Data(http.StatusOK, "text/html; charset=utf-8", b)
		default:
			c.Request.URL.Path = "/" + name
			files.ServeHTTP(c.Writer, c.Request)
		}
	}
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
