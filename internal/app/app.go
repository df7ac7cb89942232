// Package app wires ansinh together: configuration, database, domain services
// and the HTTP router; it starts and stops the server gracefully. Wiring is
// explicit here: no globals, no init() registration.
package app

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ansinh/ansinh/configs"
	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/approval"
	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/assessment"
	"github.com/ansinh/ansinh/internal/attachment"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/auth"
	"github.com/ansinh/ansinh/internal/complaint"
	"github.com/ansinh/ansinh/internal/config"
	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/importer"
	"github.com/ansinh/ansinh/internal/inbox"
	"github.com/ansinh/ansinh/internal/notify"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/s3store"
	"github.com/ansinh/ansinh/internal/platform/web"
	"github.com/ansinh/ansinh/internal/program"
	"github.com/ansinh/ansinh/internal/reorganize"
	"github.com/ansinh/ansinh/internal/report"
)

// App is a configured server: its database pool, metrics and router.
type App struct {
	cfg      *config.Config
	log      *slog.Logger
	db       *db.DB
	own      *db.Own // the process's connection outside the pool: readiness, the instance lock
	ready    readiness
	registry *prometheus.Registry
	metrics  *web.Metrics
	engine   *gin.Engine

	reads    *audit.AccessLogger
	verifier *audit.Verifier
	sealer   *audit.Sealer
	authz    *access.Authorizer
	auth     *auth.Service
	routes   *access.Routes
	protect  *household.IDProtector

	households  *household.Service
	reports     *report.Service
	approvals   *approval.Flow
	assessments *assessment.Service
	programs    *program.Service
	attachments *attachment.Service
	uploads     *attachment.Uploads
	imports     *importer.Importer
	jobs        *importer.Jobs
	stopJobs    context.CancelFunc
	// reorganizations move the registry between editions of the units; their
	// batches run under jobsCtx.
	reorganizations *reorganize.Service
	jobsCtx         context.Context
	notifier        *notify.Dispatcher
	inbox           *inbox.Service

	extraRoutes []func(*gin.Engine)
}

// Option adjusts an App before its routes are built (tests use them).
type Option func(*App)

// WithRoutes lets a caller register extra routes on the real router.
func WithRoutes(register func(e *gin.Engine)) Option {
	return func(a *App) { a.extraRoutes = append(a.extraRoutes, register) }
}

// New builds the application on an open database pool, which it takes
// ownership of (Close closes it). The configuration has been validated, so
// its keys decode.
func New(cfg *config.Config, log *slog.Logger, pool *db.DB, opts ...Option) (*App, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(pool.SQL(), "ansinh"),
		pool.HorizonLag(), // how far the sync feed and sealing wait (issue 18 item 16)
	)
	verifier, err := newVerifier(cfg, pool)
	if err != nil {
		return nil, err
	}
	key, err := cfg.Audit.SealPrivateKey()
	if err != nil {
		return nil, err
	}
	witness, err := newWitness(context.Background(), cfg.Audit, log)
	if err != nil {
		return nil, err
	}
	signing, err := cfg.Auth.SigningPrivateKeys()
	if err != nil {
		return nil, err
	}
	authSvc, err := auth.NewService(pool, auth.NewTokens(signing, cfg.Auth.Issuer, cfg.Auth.Audience, cfg.Auth.AccessTTL),
		area.NewStore(pool), auth.Options{RefreshTTL: cfg.Auth.RefreshTTL, SessionCacheTTL: cfg.Auth.SessionCacheTTL, Logger: log,
			PasswordCost:        auth.PasswordCost{MemoryKiB: cfg.Auth.PasswordMemoryKiB, Passes: cfg.Auth.PasswordPasses},
			PasswordConcurrency: cfg.Auth.PasswordConcurrency})
	if err != nil {
		return nil, err
	}
	authz, err := access.NewAuthorizer(configs.CasbinModel, configs.CasbinPolicy)
	if err != nil {
		return nil, err
	}
	idKey, err := cfg.Registry.IDKeyBytes()
	if err != nil {
		return nil, err
	}
	protect, err := household.NewIDProtector(idKey)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, db: pool, own: db.NewOwn(cfg.Database.URL), registry: reg, metrics: web.NewMetrics(reg), protect: protect,
		reads:    audit.NewAccessLogger(pool, cfg.Audit.AccessFlushInterval, log),
		verifier: verifier,
		sealer: audit.NewSealer(pool, audit.SealerOptions{
			Key: key, MaxEvents: cfg.Audit.SealMaxEvents, Logger: log, Metrics: reg, Witness: witness,
		}),
		authz: authz,
		auth:  authSvc,
	}
	a.households = household.NewService(pool, protect, a.reads)
	a.reports = report.NewService(pool, a.reads, area.NewStore(pool))
	reg.MustRegister(newQueueCollector(a)) // the duplicate scan's and the rollup's backlogs
	a.approvals = approval.New(pool)
	a.auth.UseApprovals(a.approvals)
	a.approvals.On(auth.GrantSubjectType, a.auth.GrantDecided)
	a.assessments = assessment.NewService(pool, area.NewStore(pool), a.households, a.approvals, a.reads)
	a.approvals.On(assessment.SubjectType, a.assessments.Decided)
	a.programs = program.NewService(pool, a.households, a.approvals, area.NewStore(pool))
	a.approvals.On(program.SubjectType, a.programs.Decided)
	a.assessments.OnReclassified(a.programs.Reclassified)
	a.imports = importer.New(pool, a.households)
	importDir := cfg.Registry.ImportDir
	if importDir == "" {
		importDir = filepath.Join(os.TempDir(), "ansinh-imports")
	}
	storage, err := newStorage(cfg.Attachments)
	if err != nil {
		return nil, err
	}
	a.attachments = attachment.NewService(pool, storage, a.reads, attachment.Options{MaxBytes: cfg.Attachments.MaxBytesOf,
		TempDir: cfg.Attachments.UploadPath(), Logger: log})
	if a.uploads, err = attachment.NewUploads(a.attachments, cfg.Attachments.UploadPath(), attachment.UploadsPath+"/",
		cfg.Attachments.Largest(), cfg.Attachments.UploadReadTimeout); err != nil {
		return nil, err
	}
	a.uploads.LimitPerUser(cfg.RateLimit.UploadsPerUser)
	reg.MustRegister(a.uploads.Collector())
	jobsCtx, stopJobs := context.WithCancel(db.WithKind(context.Background(), db.Job))
	a.jobsCtx, a.reorganizations = jobsCtx, reorganize.NewService(pool)
	a.jobs, a.stopJobs = importer.NewJobs(jobsCtx, a.imports, importDir, log, a.own.Instance()), stopJobs
	a.jobs.LimitPerUser(cfg.RateLimit.JobsPerUser)
	go a.tidyAttachments(jobsCtx)
	a.inbox = inbox.NewService(pool, authz)
	a.notifier = a.newNotifier(cfg.Notify)
	for _, o := range opts {
		o(a)
	}
	a.mount(jobsCtx)
	return a, nil
}

// mount builds the HTTP engine: operations, the JWKS, and under /api/v1 the
// signed-in routes behind the rate limiter and the idempotency of writes.
func (a *App) mount(jobsCtx context.Context) {
	a.engine = web.NewEngine(web.Options{Logger: a.log, MaxBodyBytes: a.cfg.HTTP.MaxBodyBytes, Metrics: a.metrics,
		LargeBodies: map[string]int64{importer.UploadPath: importer.MaxFileBytes,
			// A direct attachment is its file and a few form fields.
			attachment.AttachPath:  a.cfg.Attachments.DirectMaxBytes + 64<<10,
			attachment.UploadsPath: a.cfg.Attachments.Largest(),
			attachment.UploadPath:  a.cfg.Attachments.Largest()},
		NoCompress: attachment.NoCompress, RequestTimeout: a.cfg.HTTP.RequestTimeout})
	a.registerOps(a.engine)
	authHandler := auth.NewHandler(a.auth, a.authz, a.log)
	authHandler.RegisterJWKS(a.engine)
	api := a.engine.Group("/api/v1", authHandler.Middleware())
	a.routes = access.NewRoutes(api, a.authz, a.log)
	a.limitRequests(jobsCtx, a.routes, a.cfg.RateLimit)
	a.routes.OnWrites(web.Idempotency(a.db, access.Owner, a.log))
	authHandler.Register(a.routes)
	authHandler.RegisterAdmin(a.routes)
	a.registerAPI(a.routes)
	for _, r := range a.extraRoutes {
		r(a.engine)
	}
}

// registerAPI mounts the domain routes under /api/v1. Each domain issue adds
// its handlers here.
func (a *App) registerAPI(r *access.Routes) {
	area.NewHandler(area.NewStore(a.db)).Register(r)
	auditSvc := audit.NewService(a.db, a.verifier, a.reads)
	a.households.Views(a.authz, auditSvc)
	householdHandler := household.NewHandler(a.households)
	assessmentHandler := assessment.NewHandler(a.assessments)
	a.households.Feed("assessment", a.assessments.FeedLoader)
	householdHandler.FeedView("assessment", assessmentHandler.FeedView)
	householdHandler.Register(r)
	assessmentHandler.Register(r)
	program.NewHandler(a.programs).Register(r)
	report.NewHandler(a.reports).WithBacklog(a.inbox).Register(r)
	importer.NewHandler(a.jobs).Register(r)
	attachment.NewHandler(a.attachments, a.uploads, a.cfg.Attachments.DirectMaxBytes, a.cfg.Attachments.UploadPath(), a.log).Register(r)
	audit.NewHandler(auditSvc, a.log).Register(r)
	reorganize.NewHandler(a.reorganizations, a.jobsCtx, a.log).Register(r)
	inbox.NewHandler(a.inbox).Register(r)
	complaint.NewHandler(complaint.NewService(a.db, a.reads)).Register(r)
	notify.NewHandler(notify.NewSettings(a.db, a.notifier.Channels())).Register(r)
}

// s3Options is where configured S3-compatible storage is.
func s3Options(c config.S3) s3store.Options {
	return s3store.Options{Endpoint: c.Endpoint, UseSSL: c.UseSSL, Bucket: c.Bucket, Region: c.Region,
		AccessKey: c.AccessKey, SecretKey: c.SecretKey, PathStyle: c.PathStyle}
}

// newStorage opens the configured attachment storage.
func newStorage(c config.Attachments) (attachment.Storage, error) {
	if c.Storage == "s3" {
		return attachment.NewS3Storage(s3Options(c.S3))
	}
	return attachment.NewFSStorage(c.ObjectDir())
}

// tidyAttachments removes abandoned resumable uploads every hour, and stored
// files a crash left without their attachment at the first hour and then
// daily (the sweep lists the whole store: an S3 bucket a page of 1,000 keys
// at a time).
func (a *App) tidyAttachments(ctx context.Context) {
	sweep := access.WithActor(ctx, access.System("attachment-sweeper"))
	var swept time.Time
	every(ctx, time.Hour, func() {
		if n, err := a.uploads.Expire(a.cfg.Attachments.UploadTTL); err != nil {
			a.log.Warn("expiring abandoned uploads", "error", err.Error())
		} else if n > 0 {
			a.log.Info("expired abandoned uploads", "count", n)
		}
		if time.Since(swept) < 24*time.Hour {
			return
		}
		swept = time.Now()
		if n, err := a.attachments.SweepOrphans(sweep, attachment.OrphanAge); err != nil {
			a.log.Warn("removing orphaned attachment files", "error", err.Error(), "removed", n)
		} else if n > 0 {
			a.log.Info("removed orphaned attachment files", "count", n)
		}
	})
}

// every runs work each period until ctx ends (first after one period).
func every(ctx context.Context, period time.Duration, work func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			work()
		}
	}
}

// APIRoutes lists the /api/v1 routes with the permission each requires.
func (a *App) APIRoutes() []access.RouteInfo { return a.routes.List() }

// Auth is the identity service (CLI commands and tests create users with it).
func (a *App) Auth() *auth.Service { return a.auth }

// newVerifier trusts the current seal key and the configured earlier ones.
func newVerifier(cfg *config.Config, pool *db.DB) (*audit.Verifier, error) {
	key, err := cfg.Audit.SealPrivateKey()
	if err != nil {
		return nil, err
	}
	earlier, err := cfg.Audit.VerifyPublicKeys()
	if err != nil {
		return nil, err
	}
	return audit.NewVerifier(pool, append(earlier, key.Public().(ed25519.PublicKey))...), nil
}

// Handler is the HTTP handler with every route and middleware.
func (a *App) Handler() http.Handler { return a.engine }

// Routes lists the registered routes (method and template), for the contract test.
func (a *App) Routes() gin.RoutesInfo { return a.engine.Routes() }

// Close stops running import jobs (each at a batch boundary), writes the
// queued read-access entries and releases the pool.
func (a *App) Close() error {
	a.stopJobs()
	a.jobs.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer a.own.Close()
	return errors.Join(a.reads.Close(ctx), a.db.Close())
}

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
		ReplicaURLs:     cfg.Database.ReplicaURLs,
		Limits: map[db.Kind]db.Limits{
			db.Interactive: {Statement: cfg.Database.StatementTimeout, Lock: cfg.Database.LockTimeout},
			db.Report:      {Statement: cfg.Database.ReportStatementTimeout, Lock: cfg.Database.ReportLockTimeout},
			db.Job:         {Statement: cfg.Database.JobStatementTimeout, Lock: cfg.Database.JobLockTimeout},
		},
		IdleInTransaction: cfg.Database.IdleInTransactionTimeout,
		Actor: func(ctx context.Context) string {
			if id := access.ActorID(ctx); id != nil {
				return id.String()
			}
			return ""
		},
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

// Sealer is the audit sealer of this process (its metrics are registered).
func (a *App) Sealer() *audit.Sealer { return a.sealer }

// Households is the registry service (tests drain its duplicate scan).
func (a *App) Households() *household.Service { return a.households }

// Reports is the reports service (tests refresh its rollup).
func (a *App) Reports() *report.Service { return a.reports }

// backgroundInterval is how often a server's background work looks for
// work when it found none: duplicate candidates and the poverty rollup
// catch up with the changes within it.
const backgroundInterval = time.Second

// RunBackground runs, until ctx ends, the work every server does after the
// changes commit: the duplicate scan and the poverty rollup (each shared
// among servers by skipping rows another holds).
func (a *App) RunBackground(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.households.RunDuplicateScans(access.WithActor(ctx, access.System("duplicates")), backgroundInterval, a.log)
	}()
	a.reports.RunRollup(access.WithActor(ctx, access.System("rollup")), backgroundInterval, a.log)
	<-done
}

// DB is the application's pool (tests inspect the database through it).
func (a *App) DB() *db.DB { return a.db }

// Config is the configuration the App was built with.
func (a *App) Config() *config.Config { return a.cfg }
