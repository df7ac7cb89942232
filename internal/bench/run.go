package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/auth"
	"github.com/ansinh/ansinh/internal/config"
	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// Options bound a bench run.
type Options struct {
	Concurrency int
	Duration    time.Duration // per scenario
	MaxRequests int           // per scenario; 0: no bound
	Fixture     int           // households per user registered before the run
	Report      string        // a markdown file to write ("" for none)
	Baseline    bool          // also run pgbench with the SQL of the scenarios that have one
	Only        string        // comma-separated words: run only the scenarios whose names hold one
	Proposals   int           // enrollments proposed per bench user for the approval scenario
	ScriptDir   string        // write the baseline's pgbench scripts here ("" for none)
	CPUProfile  string        // write a CPU profile of the run here
	MemProfile  string        // write an allocation profile here
	// BaselineSeconds is how long each pgbench baseline runs (0: Duration);
	// BaselineTransactions, when set, bounds it by transactions per client
	// instead (the smoke test's: a second of pgbench per scenario was most
	// of its CPU).
	BaselineSeconds      int
	BaselineTransactions int
	// RateLimit is what the server's rate limiter does in the run: "charge"
	// (every request charged, quotas too large to refuse any: the
	// limiter's cost is in the figures), "off", or "config" (as configured).
	RateLimit string
	// Server, when set, is the ansinh binary: the API is served by `Server
	// serve` as a process of its own (its memory measured apart from the
	// generator's, its profiles written by it) instead of in this process.
	Server string
	// ServerEnv is added to the server's environment (this process's).
	ServerEnv []string
	// Memory receives the run's memory figures when Server is set.
	Memory *Memory
	// Duplicates, when set, receives how long the server's duplicate scan
	// took to drain its queue once the load stopped.
	Duplicates *DuplicateFigures
	// RecallSample is how many people the duplicate scan's recall is
	// measured on after a run with registrations (0: not measured; the old
	// synchronous check takes 40 ms a person at 500k households and grows
	// with a commune's size).
	RecallSample int
}

// RunServer serves the API on a loopback port of this process and drives it
// with the load generator as bench users in several communes of the demo
// province (created once, development only), then prints the figures.
func RunServer(ctx context.Context, cfg *config.Config, log *slog.Logger, o Options, out io.Writer) error {
	if cfg.IsProduction() {
		return fmt.Errorf("bench refuses to run with env: production")
	}
	if err := SetLimits(cfg, o.RateLimit); err != nil {
		return err
	}
	a, err := app.Open(cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if o.CPUProfile != "" && o.Server == "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var mem Memory
	var dups DuplicateFigures
	o.Memory, o.Duplicates = &mem, &dups
	results, err := Drive(ctx, a, o)
	if err != nil {
		return err
	}
	if o.RecallSample > 0 && registered(results) {
		drained, in := dups.QueuedAtEnd, dups.DrainedIn
		if dups, err = MeasureRecall(ctx, a, o.RecallSample); err != nil {
			return fmt.Errorf("bench: duplicate recall: %w", err)
		}
		dups.QueuedAtEnd, dups.DrainedIn = drained, in
	}
	if o.MemProfile != "" && o.Server == "" {
		f, err := os.Create(o.MemProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
	}
	var households int64
	if err := a.DB().Conn(ctx).Raw(`SELECT count(*) FROM households`).Row().Scan(&households); err != nil {
		return fmt.Errorf("bench: counting households: %w", err)
	}
	table := Markdown(results)
	if dups.Sampled > 0 {
		table += "\n" + dups.String() + "\n"
	}
	memory := fmt.Sprintf("server and load generator in one process: %.1f MB peak", float64(statusKB(0, "VmHWM:"))/1024)
	if o.Server != "" {
		mem.GeneratorPeakKB = statusKB(0, "VmHWM:")
		memory = mem.String()
	}
	fmt.Fprint(out, table)
	fmt.Fprintf(out, "\n%s; %d households in the database\n", memory, households)
	if o.Report != "" {
		host, _ := os.Hostname()
		doc := fmt.Sprintf("# ansinh bench\n\n- when: %s\n- machine: %s, %d CPUs, %s/%s\n- version: %s\n- data: %d households\n"+
			"- concurrency: %d, %s per scenario\n- memory: %s\n\n%s",
			time.Now().UTC().Format(time.RFC3339), host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, app.VersionString(), households,
			o.Concurrency, o.Duration, memory, table)
		if err := os.MkdirAll(filepath.Dir(o.Report), 0o755); err != nil {
			return err
		}
		return os.WriteFile(o.Report, []byte(doc), 0o644)
	}
	return nil
}

// registered is whether a run had the registration scenario (the only one
// that queues people for the duplicate scan).
func registered(results []Result) bool {
	return slices.ContainsFunc(results, func(r Result) bool { return strings.Contains(r.Name, "register") })
}

// SetLimits sets the rate limits of a run (Options.RateLimit): a few bench
// users send far more than any person would, so by default every request is
// charged (the limiter's statement is part of each scenario's figures, and of
// the SQL the pgbench baseline replays) under quotas no run reaches.
func SetLimits(cfg *config.Config, mode string) error {
	switch mode {
	case "", "charge":
		cfg.RateLimit.Enabled = true
		r := &cfg.RateLimit
		for _, q := range []*int{&r.ReadQuota, &r.SearchQuota, &r.WriteQuota, &r.ExportQuota, &r.UploadQuota, &r.ImportQuota} {
			*q = 1_000_000
		}
		for _, w := range []*time.Duration{&r.ReadWindow, &r.SearchWindow, &r.WriteWindow, &r.ExportWindow, &r.UploadWindow, &r.ImportWindow} {
			*w = time.Second
		}
	case "off":
		cfg.RateLimit.Enabled = false
	case "config":
	default:
		return fmt.Errorf("bench: --ratelimit %q: want charge, off or config", mode)
	}
	return nil
}

// benchCommunes are where the bench users work (the demo province).
var benchCommunes = []string{"30791", "31036", "30793", "30796"}

// Drive runs the load generator against a served on a loopback port of
// this process.
func Drive(ctx context.Context, a *app.App, o Options) ([]Result, error) {
	if o.Concurrency < 1 {
		o.Concurrency = 8
	}
	sys := access.WithActor(ctx, access.System("bench"))
	password := "bench-" + uuid.NewString()[:8] + "-password"
	runID := fmt.Sprintf("%x", time.Now().UnixNano()%0xffffff)
	var names []string
	for i, c := range benchCommunes {
		name := fmt.Sprintf("bench-%s-w%d", runID, i)
		if _, err := a.Auth().CreateUser(sys, auth.NewUser{Username: name, FullName: "Bench worker", Password: password,
			Assignments: []auth.Grant{{Role: "commune_worker", AreaCode: c}}}); err != nil {
			return nil, fmt.Errorf("bench user: %w", err)
		}
		names = append(names, name)
	}
	auditor := fmt.Sprintf("bench-%s-auditor", runID)
	if _, err := a.Auth().CreateUser(sys, auth.NewUser{Username: auditor, FullName: "Bench auditor", Password: password,
		Assignments: []auth.Grant{{Role: "province_auditor", AreaCode: "91"}}}); err != nil {
		return nil, fmt.Errorf("bench user: %w", err)
	}
	// An approver for each district of the bench communes.
	approverOf := map[string]string{} // district code -> username
	userDistrict := make([]string, len(benchCommunes))
	areas := area.NewStore(a.DB())
	for i, c := range benchCommunes {
		ar, err := areas.Get(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("bench commune %s: %w", c, err)
		}
		d := ar.ParentCode
		userDistrict[i] = d
		if _, ok := approverOf[d]; ok {
			continue
		}
		name := fmt.Sprintf("bench-%s-approver-%s", runID, d)
		if _, err := a.Auth().CreateUser(sys, auth.NewUser{Username: name, FullName: "Bench approver", Password: password,
			Assignments: []auth.Grant{{Role: "district_approver", AreaCode: d}}}); err != nil {
			return nil, fmt.Errorf("bench user: %w", err)
		}
		approverOf[d] = name
	}
	base, stop, err := serve(ctx, a, o)
	if err != nil {
		return nil, err
	}
	defer stop()
	c := NewClient(base, o.Concurrency)
	var users []User
	for i, n := range names {
		tok, err := c.Login(ctx, n, password)
		if err != nil {
			return nil, err
		}
		users = append(users, User{Token: tok, Commune: benchCommunes[i]})
	}
	auditorToken, err := c.Login(ctx, auditor, password)
	if err != nil {
		return nil, err
	}
	approvers := make([]string, len(users))
	for i, d := range userDistrict {
		if approvers[i], err = c.Login(ctx, approverOf[d], password); err != nil {
			return nil, err
		}
	}
	fixture, err := Prepare(ctx, c, users, auditorToken, "91", max(o.Fixture, 2), runID)
	if err != nil {
		return nil, err
	}
	scenarios := Only(Scenarios(c, fixture, runID), o.Only)
	if Names(Only(scenarios, "approve")) != "" {
		if err := Propose(ctx, c, &fixture, approvers, max(o.Proposals, 1)); err != nil {
			return nil, err
		}
		scenarios = Only(Scenarios(c, fixture, runID), o.Only)
	}
	results := Run(ctx, scenarios, o.Concurrency, o.Duration, o.MaxRequests)
	if o.Duplicates != nil && registered(results) {
		if o.Duplicates.QueuedAtEnd, o.Duplicates.DrainedIn, err = drainWait(ctx, a, 10*time.Minute); err != nil {
			return results, err
		}
	}
	stop() // the server's memory and profiles are its run's, not the baseline's
	if o.Baseline {
		var before int64
		if err := a.DB().Conn(ctx).Raw(`SELECT coalesce(max(id), 0) FROM duplicate_scans`).Row().Scan(&before); err != nil {
			return results, err
		}
		if err := baseline(ctx, a, results, o); err != nil {
			return results, err
		}
		if err := forgetReplays(ctx, a, before); err != nil {
			return results, err
		}
	}
	return results, nil
}

// serve serves the API for a run on a loopback port: in this process, or
// as `o.Server serve` (its idle memory taken once it is ready, its peak
// when stopped). stop may be called more than once.
func serve(ctx context.Context, a *app.App, o Options) (base string, stop func(), err error) {
	if o.Server == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0") // loopback only
		if err != nil {
			return "", nil, err
		}
		sctx, cancel := context.WithCancel(ctx)
		served, scanned := make(chan error, 1), make(chan struct{})
		go func() { served <- a.Serve(sctx, ln) }()
		// As `serve` does: the duplicate scan and the rollup run beside the API.
		go func() { defer close(scanned); a.RunBackground(sctx) }()
		return "http://" + ln.Addr().String(), sync.OnceFunc(func() { cancel(); <-served; <-scanned }), nil
	}
	env := append(limitEnv(o.RateLimit), o.ServerEnv...)
	if o.CPUProfile != "" {
		env = append(env, "ANSINH_DEBUG_CPUPROFILE="+o.CPUProfile)
	}
	if o.MemProfile != "" {
		env = append(env, "ANSINH_DEBUG_MEMPROFILE="+o.MemProfile)
	}
	s, err := startServer(ctx, o.Server, env)
	if err != nil {
		return "", nil, err
	}
	time.Sleep(2 * time.Second) // settled: its first seal and caches done
	idle, _ := s.memory()
	return s.base, sync.OnceFunc(func() {
		_, peak := s.memory()
		s.stop()
		if o.Memory != nil {
			o.Memory.ServerIdleKB, o.Memory.ServerPeakKB = idle, peak
		}
	}), nil
}

// baseline captures the SQL one request of each scenario that has a
// baseline issues (through the real handler, in this process) and runs it
// with pgbench at the same concurrency: the API's throughput against
// PostgreSQL's own with the same statements.
func baseline(ctx context.Context, a *app.App, results []Result, o Options) error {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	if len(bins) == 0 {
		return fmt.Errorf("bench: no pgbench for the baseline (install PostgreSQL's server binaries, or drop --baseline)")
	}
	// Reads first: a write's baseline adds thousands of rows (the minimal
	// one writes hundreds a second) to its user's commune, which a read's
	// baseline run after it would then search or list.
	order := make([]int, 0, len(results))
	for _, write := range []bool{false, true} {
		for i, r := range results {
			if r.Baseline != nil && (r.Baseline.Method != http.MethodGet) == write {
				order = append(order, i)
			}
		}
	}
	for _, i := range order {
		r := results[i]
		b := r.Baseline
		var body io.Reader
		if b.Body != nil {
			raw, err := json.Marshal(b.Body)
			if err != nil {
				return err
			}
			body = bytes.NewReader(raw)
		}
		// A steady request: the caller's session is cached (as it is for
		// every request of the run but one in a session-cache period), so the
		// capture holds the request's own statements.
		if _, _, err := a.Auth().Authenticate(ctx, b.User.Token); err != nil {
			return fmt.Errorf("bench: baseline of %s: %w", r.Name, err)
		}
		cctx, capture := db.WithCapture(ctx)
		req := httptest.NewRequestWithContext(cctx, b.Method, b.Path, body)
		req.Header.Set("Authorization", "Bearer "+b.User.Token)
		if b.Body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		a.Handler().ServeHTTP(w, req)
		if w.Code >= 300 {
			return fmt.Errorf("bench: capture %s %s: %d %s", b.Method, b.Path, w.Code, w.Body.String())
		}
		script := Script(capture.Statements(), b.Fresh)
		if o.ScriptDir != "" {
			if err := os.MkdirAll(o.ScriptDir, 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(o.ScriptDir, Slug(r.Name)+".sql"), []byte(script), 0o644); err != nil {
				return err
			}
		}
		seconds := o.BaselineSeconds
		if seconds == 0 {
			seconds = int(o.Duration.Seconds())
		}
		tps, err := PgBench(ctx, bins[len(bins)-1], a.Config().Database.URL, script, o.Concurrency,
			PgLength{Seconds: seconds, Transactions: o.BaselineTransactions})
		if err != nil {
			return fmt.Errorf("bench: baseline of %s: %w", r.Name, err)
		}
		results[i].BaselineTPS = tps
		results[i].Statements = len(capture.Statements())
		if len(b.Minimal) == 0 {
			continue
		}
		minimal := Script(Minimal(capture.Statements(), b.Minimal), b.Fresh)
		if o.ScriptDir != "" {
			if err := os.WriteFile(filepath.Join(o.ScriptDir, Slug(r.Name)+".minimal.sql"), []byte(minimal), 0o644); err != nil {
				return err
			}
		}
		if results[i].MinimalTPS, err = PgBench(ctx, bins[len(bins)-1], a.Config().Database.URL, minimal, o.Concurrency,
			PgLength{Seconds: seconds, Transactions: o.BaselineTransactions}); err != nil {
			return fmt.Errorf("bench: minimal baseline of %s: %w", r.Name, err)
		}
	}
	return nil
}

// RunLoad loads a synthetic province for the load harness by COPY:
// households (classified at the demo province's district poverty rates),
// members with sealed CCCDs, and their audit history. Development only.
func RunLoad(ctx context.Context, cfg *config.Config, households int, seed uint64, out io.Writer) error {
	if cfg.IsProduction() {
		return fmt.Errorf("bench load refuses to run with env: production")
	}
	key, err := cfg.Registry.IDKeyBytes()
	if err != nil {
		return err
	}
	protect, err := household.NewIDProtector(key)
	if err != nil {
		return err
	}
	// As the owner when configured: the generator then rebuilds the
	// secondary indexes once instead of keeping them up to date row by row.
	res, err := Generate(ctx, cfg.Database.MigrationURL(), protect, GenOptions{Households: households, Seed: seed, Province: "91",
		PoorRate: app.DemoPovertyRate, Tag: fmt.Sprintf("%d-%x", seed, time.Now().UnixNano()%0xffffff)})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "bench load: %d households, %d members, %d reviews, %d assessments, %d enrollments, %d deliveries, %d years on past lists, %d audit events in %s: %.0f rows/s\n",
		res.Households, res.Members, res.Reviews, res.Assessments, res.Enrollments, res.Deliveries, res.YearsOnLists, res.AuditEvents,
		res.Elapsed.Round(time.Millisecond), res.RowsPerSecond())
	for _, ph := range res.Phases {
		fmt.Fprintf(out, "- %s: %s\n", ph.Name, ph.Elapsed.Round(time.Millisecond))
	}
	return nil
}
