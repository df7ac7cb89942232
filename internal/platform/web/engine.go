// Package web is the HTTP plumbing shared by every domain: the Gin engine and
// its middleware, problem+json errors, request binding, and the helpers that
// handlers use. It knows no domain.
package web

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-contrib/gzip"
	"github.com/gin-gonic/gin"
)

// Options configure the engine.
type Options struct {
	Logger       *slog.Logger
	MaxBodyBytes int64
	// LargeBodies lift the body limit for routes (by template) that take
	// files, such as bulk imports.
	LargeBodies map[string]int64
	Metrics     *Metrics // nil: no request metrics
	// NoCompress are path patterns (regular expressions) answered without
	// gzip: files that are compressed already, byte ranges, streamed protocols.
	NoCompress []string
	// RequestTimeout is every request's deadline (Deadline); zero: none.
	RequestTimeout time.Duration
}

// NewEngine builds a Gin engine in release mode with ansinh's middleware and
// problem+json answers for unknown routes and wrong methods. Routes are added
// by the caller.
func NewEngine(opts Options) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.RedirectTrailingSlash = false // a client bug should answer 404, not a redirect that drops the body
	e.RedirectFixedPath = false
	e.ContextWithFallback = true // c.Request.Context() values reach handlers that take gin.Context as a context
	// Addresses come from the socket; a deployment behind a proxy sets trusted
	// proxies explicitly (deployment issue).
	_ = e.SetTrustedProxies(nil)

	e.Use(
		Deadline(opts.RequestTimeout),
		RequestID(),
		AccessLog(opts.Logger),
		opts.Metrics.Middleware(),
		Recovery(opts.Logger),
		BodyLimit(opts.MaxBodyBytes, opts.LargeBodies, opts.Logger),
		// BestSpeed: JSON compresses nearly as well, for much less CPU (profiled under load).
		gzip.Gzip(gzip.BestSpeed, gzip.WithExcludedPaths([]string{"/metrics"}), gzip.WithExcludedPathsRegexs(opts.NoCompress)),
	)
	e.NoRoute(func(c *gin.Context) {
		WriteProblem(c, opts.Logger, errNoRoute)
	})
	e.NoMethod(func(c *gin.Context) {
		if allow := allowedMethods(e, c.Request.URL.Path); allow != "" {
			c.Header("Allow", allow)
		}
		WriteProblem(c, opts.Logger, errNoMethod)
	})
	return e
}

// allowedMethods lists the methods registered for a path, for the Allow
// header of a 405 (RFC 9110 requires it).
func allowedMethods(e *gin.Engine, path string) string {
	var methods []string
	for _, r := range e.Routes() {
		if routeMatches(r.Path, path) && !strings.Contains(strings.Join(methods, ","), r.Method) {
			methods = append(methods, r.Method)
		}
	}
	return strings.Join(methods, ", ")
}

// routeMatches matches a Gin route template (:param, *catchall) against a path.
func routeMatches(template, path string) bool {
	ts := strings.Split(strings.Trim(template, "/"), "/")
	ps := strings.Split(strings.Trim(path, "/"), "/")
	for i, t := range ts {
		if strings.HasPrefix(t, "*") {
			return true
		}
		if i >= len(ps) {
			return false
		}
		if !strings.HasPrefix(t, ":") && t != ps[i] {
			return false
		}
	}
	return len(ts) == len(ps)
}

var (
	errNoRoute  = newPlumbingError(http.StatusNotFound, codeNotFound)
	errNoMethod = newPlumbingError(http.StatusMethodNotAllowed, codeMethodNotAllowed)
)
