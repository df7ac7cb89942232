// Package app wires ansinh together: configuration, database, domain services
// and the HTTP router; it starts and stops the server gracefully. Wiring is
// explicit here: no globals, no init() registration.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ansinh/ansinh/internal/config"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// App is a configured server: its database pool, metrics and router.
type App struct {
	cfg     *config.Config
	log     *slog.Logger
	db      *db.DB
	metrics *web.Metrics
	engine  *gin.Engine
}

// Option adjusts an App as it is built (tests add routes with it).
type Option func(*App, *gin.Engine)

// WithRoutes lets a caller register extra routes on the real router.
func WithRoutes(register func(e *gin.Engine)) Option {
	return func(_ *App, e *gin.Engine) { register(e) }
}

// New builds the application on an open database pool, which it takes
// ownership of (Close closes it).
func New(cfg *config.Config, log *slog.Logger, pool *db.DB, opts ...Option) *App {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(pool.SQL(), "ansinh"),
	)
	a := &App{cfg: cfg, log: log, db: pool, metrics: web.NewMetrics(reg)}
	a.engine = web.NewEngine(web.Options{Logger: log, MaxBodyBytes: cfg.HTTP.MaxBodyBytes, Metrics: a.metrics})
	a.registerOps(a.engine)
	a.registerAPI(a.engine.Group("/api/v1"))
	for _, o := range opts {
		o(a, a.engine)
	}
	return a
}

// registerAPI mounts the domain routes under /api/v1. Each domain issue adds
// its handlers here.
func (a *App) registerAPI(_ *gin.RouterGroup) {}

// Handler is the HTTP handler with every route and middleware.
func (a *App) Handler() http.Handler { return a.engine }

// Routes lists the registered routes (method and template), for the contract test.
func (a *App) Routes() gin.RoutesInfo { return a.engine.Routes() }

// Close releases the database pool.
func (a *App) Close() error { return a.db.Close() }

// Serve answers HTTP on ln until ctx is cancelled, then stops accepting
// connections and lets in-flight requests finish for up to the configured
// shutdown timeout.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	h := a.cfg.HTTP
	srv := &http.Server{
		Handler:           a.engine,
		ReadHeaderTimeout: h.ReadHeaderTimeout,
		ReadTimeout:       h.ReadTimeout,
		WriteTimeout:      h.WriteTimeout,
		IdleTimeout:       h.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down: draining in-flight requests", "timeout", h.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), h.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: in-flight requests did not finish in %s: %w", h.ShutdownTimeout, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	a.log.Info("shut down cleanly")
	return nil
}

// NewLogger builds the process logger: JSON in production, text otherwise.
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat() == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// OpenDB opens the application's pool from configuration.
func OpenDB(cfg *config.Config, log *slog.Logger) (*db.DB, error) {
	return db.Open(db.Options{
		URL:             cfg.Database.URL,
		MaxOpenConns:    cfg.Database.MaxOpenConns,
		MaxIdleConns:    cfg.Database.MaxIdleConns,
		ConnMaxLifetime: cfg.Database.ConnMaxLifetime,
		Logger:          log,
	})
}

// waitForDatabase pings until the database answers and its schema matches
// this binary, or until wait has passed.
func waitForDatabase(ctx context.Context, pool *db.DB, wait time.Duration, log *slog.Logger) error {
	deadline := time.Now().Add(wait)
	for {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := pool.Ping(pctx)
		cancel()
		if err == nil {
			return pool.CheckSchema(ctx)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the database does not answer after %s: %w", wait, err)
		}
		log.Warn("waiting for the database", "error", err.Error())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
