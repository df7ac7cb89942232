package app

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	swaggerui "github.com/swaggo/files/v2"

	"github.com/ansinh/ansinh/docs"
	"github.com/ansinh/ansinh/internal/importer"
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
	// Readiness pings on the process's own connection, never the pool's:
	// it must not queue behind business requests holding every connection.
	e.GET("/readyz", readyz(a.own, a.cfg.Database.ReadyTimeout, a.cfg.Database.ReadyGrace, &a.ready, a))
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

// readiness remembers since when the database has not answered (zero while
// it answers): the pings of /readyz and of the own connection's keep-alive.
type readiness struct {
	mu           sync.Mutex
	failingSince time.Time
}

// observe records a ping's outcome: how long the database has been
// unavailable (0 when it answered).
func (r *readiness) observe(err error) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	switch {
	case err == nil:
		r.failingSince = time.Time{}
		return 0
	case r.failingSince.IsZero():
		r.failingSince = now
	}
	return now.Sub(r.failingSince)
}

// readyz reports the process ready once it has started (serve listens only
// after the schema check): it pings the database on db (the own connection,
// never the pool) within timeout and says in its body whether it answered.
// A database that does not answer keeps it ready for grace (a failover: the
// server answers 503 with Retry-After itself meanwhile, and taking every pod
// out of the Service would only turn those into the ingress's bare 503s);
// past grace (an outage, or this pod cut off from the database) it answers
// 503 not_ready.
func readyz(db pinger, timeout, grace time.Duration, state *readiness, a *App) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), timeout)
		defer cancel()
		err := db.Ping(ctx)
		down := state.observe(err)
		if err == nil {
			c.JSON(http.StatusOK, gin.H{"status": "ready", "database": "up"})
			return
		}
		if down > grace {
			a.log.WarnContext(ctx, "not ready: database unavailable past the grace period", "for", down.String(), "error", err.Error())
			web.WriteProblem(c, nil, apperr.Wrap(err, apperr.Unavailable, "not_ready", ""))
			return
		}
		a.log.WarnContext(ctx, "ready, but the database does not answer", "for", down.String(), "error", err.Error())
		c.JSON(http.StatusOK, gin.H{"status": "ready", "database": "unavailable", "unavailable_seconds": int(down.Seconds()),
			"grace_seconds": int(grace.Seconds())})
	}
}

// claimInstance takes this process's instance lock on its own connection (its
// import jobs carry the instance key), then fails the jobs of processes that
// are gone: a restart fails its predecessor's jobs at once, and never those
// of a live replica, whose lock is held.
func (a *App) claimInstance(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.own.Ping(pctx); err != nil {
		return fmt.Errorf("taking the instance lock: %w", err)
	}
	a.failInterrupted(ctx)
	return nil
}

// failInterrupted fails the import jobs no live process runs.
func (a *App) failInterrupted(ctx context.Context) {
	if n, err := importer.FailInterrupted(ctx, a.db, 2*time.Minute); err != nil {
		a.log.Warn("checking for interrupted import jobs", "error", err.Error())
	} else if n > 0 {
		a.log.Warn("import jobs of a stopped process marked failed", "jobs", n)
	}
}

// failInterruptedEvery keeps the own connection (and so the instance lock,
// taken again after a reconnect) alive and fails interrupted jobs every
// period, until ctx ends.
func (a *App) failInterruptedEvery(ctx context.Context, period time.Duration) {
	last := time.Now()
	every(ctx, ownKeepAlive, func() {
		pctx, cancel := context.WithTimeout(ctx, ownKeepAlive)
		err := a.own.Ping(pctx)
		cancel()
		if a.ready.observe(err); err != nil {
			a.log.Warn("own database connection", "error", err.Error())
		}
		if time.Since(last) >= period {
			a.failInterrupted(ctx)
			last = time.Now()
		}
	})
}

// ownKeepAlive is how often the own connection is checked.
const ownKeepAlive = 5 * time.Second
