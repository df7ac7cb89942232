package bench_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"

	"github.com/ansinh/ansinh/internal/bench"
)

// hasPgBench: the baseline needs PostgreSQL's pgbench, which the server
// packages (that make test brings up) install.
func hasPgBench() bool {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	return len(bins) > 0
}

// The load generator's smoke run: every scenario sends requests through the
// real server on a loopback port and none fails (so the harness cannot rot).
func TestBenchSmoke(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t, dbtest.NewDatabase(t).AppURL)
	if err := bench.SetLimits(cfg, "charge"); err != nil {
		t.Fatal(err)
	}
	a := apptest.NewOn(t, cfg)
	h := a.Handler()
	// Poor households in a bench commune, for the approval scenario's proposals.
	apptest.CreateUser(t, a, "smoke-worker", "commune_worker", "30791", false)
	worker := apptest.Login(t, h, "smoke-worker", apptest.Password).AccessToken
	for _, code := range []string{"SMOKE-1", "SMOKE-2", "SMOKE-3"} {
		if w := apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody(code, "30791", "")); w.Code != 201 {
			t.Fatalf("seed: %d %s", w.Code, w.Body.String())
		}
	}
	if err := a.DB().Conn(context.Background()).Exec(`UPDATE households SET classification = 'poor' WHERE code LIKE 'SMOKE-%'`).Error; err != nil {
		t.Fatal(err)
	}
	var dupes bench.DuplicateFigures
	results, err := bench.Drive(context.Background(), a, bench.Options{Concurrency: 2,
		// Scenarios end on their request count, not on time: a loaded machine
		// finished too few in a 400 ms window (Duration only bounds a stuck run).
		Duration: time.Minute, MaxRequests: 12, BaselineTransactions: 5,
		Fixture: 2, Proposals: 10, Baseline: hasPgBench(), Duplicates: &dupes})
	if err != nil {
		t.Fatal(err)
	}
	// The server's scanner drained what the registrations queued (the
	// baseline's replays, after it, queue more); the deferred scan finds
	// every pair the synchronous check found.
	if dupes.DrainedIn <= 0 || apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM duplicate_candidates`) == 0 {
		t.Errorf("after the run: drained in %s, %+v", dupes.DrainedIn, dupes)
	}
	// The baseline's replays (the same four people thousands of times) are
	// withdrawn after it: nothing of theirs is left queued or present.
	if hasPgBench() {
		if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM duplicate_scans`); n != 0 {
			t.Errorf("%d people left queued after the baseline", n)
		}
		if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM members m JOIN households h ON h.id = m.household_id
			WHERE h.code LIKE 'pgb%' AND m.status = 'present'`); n != 0 {
			t.Errorf("%d of the baseline's replayed people left present", n)
		}
	}
	recall, err := bench.MeasureRecall(context.Background(), a, 200)
	if err != nil {
		t.Fatal(err)
	}
	if recall.Sampled == 0 || recall.Synchronous == 0 || recall.Found != recall.Synchronous {
		t.Errorf("recall: %s", recall)
	}
	if len(results) != 11 {
		t.Fatalf("%d scenarios", len(results))
	}
	baselines := 0
	for _, r := range results {
		if r.Requests == 0 || r.Errors > 0 || r.P50 <= 0 || r.P99 < r.P50 {
			t.Errorf("%s: %d requests, %d errors (%s), p50 %s p99 %s", r.Name, r.Requests, r.Errors, r.FirstError, r.P50, r.P99)
		}
		if r.Name == "approve an enrollment" && r.Requests != 3 {
			t.Errorf("approvals: %d, want the 3 proposals", r.Requests)
		}
		if r.Baseline != nil && hasPgBench() {
			if r.BaselineTPS <= 0 || r.Statements == 0 {
				t.Errorf("%s: no baseline (%f tx/s, %d statements)", r.Name, r.BaselineTPS, r.Statements)
			}
			// A read by id is the rate limiter's charge, the household and
			// its members: three statements, with the caller's session cached.
			if r.Name == "read a household by id" && r.Statements != 3 {
				t.Errorf("read by id issued %d statements, want 3", r.Statements)
			}
			if (r.MinimalTPS > 0) != (r.Name == "register a household of 4") {
				t.Errorf("%s: minimal baseline %f tx/s; registration alone has one", r.Name, r.MinimalTPS)
			}
			baselines++
		}
	}
	if hasPgBench() && baselines != 5 {
		t.Errorf("%d baselines, want 5 (register, read, search, list, sync)", baselines)
	}
	// Only picks scenarios by name.
	if got := bench.Names(bench.Only(bench.Scenarios(nil, bench.Fixture{Users: []bench.User{{}}, Households: [][]string{{"x"}}}, "x"),
		"search, report")); got != "name search, poverty report (province), trend report (province, 10 years)" {
		t.Errorf("only: %q", got)
	}
}

// The reorganization bench's smoke run: through the real server, the run
// moves every household while the clients' registrations and edits succeed.
func TestReorganizeBenchSmoke(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t, dbtest.NewDatabase(t).AppURL)
	if err := bench.SetLimits(cfg, "off"); err != nil {
		t.Fatal(err)
	}
	a := apptest.NewOn(t, cfg)
	h := a.Handler()
	// Households in Vĩnh Phú and Vĩnh Điều (which become Vĩnh Điều), and a
	// district's approver (re-bound to the province by the run's decisions).
	for _, c := range []string{"30791", "30793"} {
		tok := apptest.Token(t, a, "smoke-"+c, "commune_worker", c)
		for i := range 3 {
			if w := apptest.Send(t, h, "POST", "/api/v1/households", tok, apptest.HouseholdBody(c+"-"+string(rune('A'+i)), c, "")); w.Code != 201 {
				t.Fatalf("seed: %d %s", w.Code, w.Body.String())
			}
		}
	}
	apptest.CreateUser(t, a, "smoke-approver", "district_approver", "914", false)
	r, err := bench.DriveReorganize(context.Background(), a, bench.ReorgOptions{Concurrency: 2, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if r.State != "applied" || r.Households != 6 || r.Moved != 6 || r.Decisions != 1 || r.Total <= 0 {
		t.Fatalf("%+v", r)
	}
	if md := r.Markdown(); !strings.Contains(md, "| start to the end (state: applied) |") || strings.Contains(md, "errors (first") {
		t.Fatalf("report:\n%s", md)
	}
}

// The harness with the server as a process of its own (`ansinh serve`,
// built here): the scenarios run against it and its memory is measured
// apart from the generator's, idle and under load.
func TestBenchSeparateServer(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "ansinh")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/ansinh/ansinh/cmd/ansinh").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	d := dbtest.NewDatabase(t)
	cfg := apptest.Config(t, d.AppURL)
	a := apptest.NewOn(t, cfg)
	var mem bench.Memory
	results, err := bench.Drive(context.Background(), a, bench.Options{Concurrency: 2, Duration: time.Minute, MaxRequests: 6,
		Fixture: 2, Only: "read,worker", Server: bin, Memory: &mem, ServerEnv: []string{"DATABASE_URL=" + d.AppURL, "ANSINH_ENV=test",
			"ANSINH_AUDIT_WITNESS_DIR=" + t.TempDir(), "ANSINH_ATTACHMENTS_DIR=" + t.TempDir(), "ANSINH_DATABASE_MIGRATE_URL="}})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("%d scenarios; want the read and the worker's inbox", len(results))
	}
	for _, r := range results {
		if r.Requests == 0 || r.Errors > 0 {
			t.Errorf("%s: %d requests, %d errors (%s)", r.Name, r.Requests, r.Errors, r.FirstError)
		}
	}
	if mem.ServerIdleKB < 10_000 || mem.ServerPeakKB < mem.ServerIdleKB || mem.ServerPeakKB > 1_000_000 {
		t.Fatalf("server memory: %+v", mem)
	}
	if !strings.Contains(mem.String(), "MB idle") {
		t.Fatalf("report: %s", mem)
	}
}
