package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/ansinh/ansinh/internal/access"
	adminarea "github.com/ansinh/ansinh/internal/area" // a parameter below is called area
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/auth"
	"github.com/ansinh/ansinh/internal/config"
	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/importer"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/reorganize"
)

// Version is set at build time (-ldflags "-X .../internal/app.Version=v1.2.3").
var Version = "dev"

// VersionString is the version with the commit it was built from.
func VersionString() string {
	rev, dirty := "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	switch {
	case rev == "":
		return Version
	case dirty:
		return fmt.Sprintf("%s (%s, modified)", Version, rev)
	}
	return fmt.Sprintf("%s (%s)", Version, rev)
}

// RunServe serves the API until ctx is cancelled (SIGINT/SIGTERM). It never
// migrates: it refuses to start on a schema older than its own, or newer by a
// migration the previous release cannot run on (db.CheckSchema).
func RunServe(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	writeProfiles, err := startProfiles(cfg)
	if err != nil {
		return err
	}
	defer writeProfiles()
	pool, err := OpenDB(cfg, log)
	if err != nil {
		return err
	}
	a, err := New(cfg, log, pool)
	if err != nil {
		pool.Close()
		return err
	}
	defer a.Close()
	if err := waitForDatabase(ctx, pool, cfg.Database.StartupWait, log); err != nil {
		return err
	}
	// Before answering: this process's instance lock, then the import jobs
	// of processes that are gone are failed (checked again every minute).
	if err := a.claimInstance(ctx); err != nil {
		return err
	}
	go a.failInterruptedEvery(ctx, time.Minute)
	// A reorganization a stopped server was moving goes on here.
	go a.reorganizations.Resume(a.jobsCtx, log)
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTP.Addr, err)
	}
	// The sealer runs in every replica; an advisory lock lets one work at a time.
	defer inBackground(ctx, func(ctx context.Context) { a.Sealer().Run(ctx, cfg.Audit.SealInterval) })()
	if cfg.Notify.Enabled {
		defer inBackground(ctx, a.runNotifier)()
	}
	defer inBackground(ctx, a.RunBackground)()
	log.Info("ansinh serving", "addr", ln.Addr().String(), "env", cfg.Env, "version", VersionString())
	return a.Serve(ctx, ln)
}

// inBackground runs fn in a goroutine; the returned stop cancels it and
// waits for it to return.
func inBackground(ctx context.Context, fn func(ctx context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); fn(ctx) }()
	return func() { cancel(); <-done }
}

// auditPartitionMonths is how far ahead `migrate up` creates audit partitions.
const auditPartitionMonths = 12

// RunMigrate applies (up), rolls back one (down) or lists (status) migrations,
// connecting as the owner role. Up also moves the audit partitions' window.
func RunMigrate(ctx context.Context, cfg *config.Config, log *slog.Logger, action string, out io.Writer) error {
	m, err := db.NewMigrator(cfg.Database.MigrationURL(), log)
	if err != nil {
		return err
	}
	defer m.Close()
	switch action {
	case "up":
		n, err := m.Up(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "migrations applied: %d\n", n)
		if err := ensurePartitions(ctx, cfg, auditPartitionMonths); err != nil {
			return err
		}
	case "down":
		v, err := m.Down(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "rolled back migration %d\n", v)
	case "status":
		st, err := m.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range st {
			state := "pending"
			if s.Applied {
				state = "applied"
			}
			fmt.Fprintf(out, "%-8s %05d %s\n", state, s.Version, s.Name)
		}
	default:
		return fmt.Errorf("unknown migrate action %q: want up, down or status", action)
	}
	return nil
}

// DemoPassword is the password of every demo account (development only).
const DemoPassword = "ansinh-demo"

// DemoUsers are the demo accounts: one of each role in Kiên Giang (91),
// created at units of the 2025-03 list (Area), where the demo's history was
// recorded, and at Today's units once the demo moved to the two-tier list
// (Kiên Giang is part of the new An Giang, 91; district 914 is gone, so its
// approver was re-bound to the province).
var DemoUsers = []struct{ Username, FullName, Role, Area, Today string }{
	{"demo-admin", "Quản trị Demo", "system_admin", "91", "91"},
	{"demo-worker", "Cán bộ xã Vĩnh Phú", "commune_worker", "30791", "30793"},
	{"demo-worker2", "Cán bộ xã Đông Hưng A", "commune_worker", "31036", "31036"},
	{"demo-approver", "Phê duyệt huyện Giang Thành", "district_approver", "914", "91"},
	{"demo-auditor", "Kiểm tra tỉnh Kiên Giang", "province_auditor", "91", "91"},
	{"demo-manager", "Quản lý chương trình tỉnh", "program_manager", "91", "91"},
}

// DemoEdition is the list of units the demo ends on: today's.
const DemoEdition = "2026-04"

// RunSeedDemo loads the demo province's data: the demo accounts (areas come
// with the migrations), about that many households across its communes, their
// recognized review and their support. It is idempotent and refused in
// production.
func RunSeedDemo(ctx context.Context, cfg *config.Config, log *slog.Logger, households int, out io.Writer) error {
	if cfg.IsProduction() {
		return fmt.Errorf("seed demo refuses to run with env: production")
	}
	if households < 1 || households > maxDemoHouseholds {
		return fmt.Errorf("seed demo: --households is %d; want 1 to %d", households, maxDemoHouseholds)
	}
	a, err := Open(cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	ctx = access.WithActor(ctx, access.System("seed-demo"))
	var moved bool
	if err := a.db.Conn(ctx).Raw(`SELECT EXISTS (SELECT 1 FROM reorganizations WHERE to_edition = ?)`, DemoEdition).Row().Scan(&moved); err != nil {
		return err
	}
	if moved {
		fmt.Fprintf(out, "demo seed: the demo is on today's units (%s) already\n", DemoEdition)
		return nil
	}
	created := 0
	for _, u := range DemoUsers {
		_, err := a.Auth().CreateUser(ctx, auth.NewUser{Username: u.Username, FullName: u.FullName, Password: DemoPassword,
			Email: u.Username + "@example.org", Assignments: []auth.Grant{{Role: u.Role, AreaCode: u.Area}}})
		switch {
		case err == nil:
			created++
		case apperr.Is(err, apperr.Conflict): // already there
		default:
			return fmt.Errorf("demo user %s: %w", u.Username, err)
		}
	}
	fmt.Fprintf(out, "demo seed: %d demo account(s) created, %d already present\n", created, len(DemoUsers)-created)
	if err := seedDemoHouseholds(ctx, a, households, out); err != nil {
		return err
	}
	if err := seedDemoHistory(ctx, a, out); err != nil {
		return err
	}
	if err := seedDemoReviews(ctx, a, out); err != nil {
		return err
	}
	start := time.Now()
	support, err := a.programs.SeedDemo(ctx, "91", demoReviewYear+1, 2026)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "demo seed: %d enrollments with %d delivery records in %d (%d Tết gift packages, %d VND) in %s\n",
		support.Enrollments, support.Deliveries, demoReviewYear+1, support.Packages, support.GiftAmount, time.Since(start).Round(time.Second))
	if err := seedDemoDesignations(ctx, a, "2025-03", out); err != nil {
		return err
	}
	if err := seedDemoReorganize(ctx, a, out); err != nil {
		return err
	}
	if err := seedDemoDesignations(ctx, a, DemoEdition, out); err != nil {
		return err
	}
	return seedDemoWork(ctx, a, out)
}

// demoDesignations are illustrative designations of Kiên Giang's communes
// and hamlets (not the real lists: a deployment loads those with `ansinh
// areas designations`): the 2021-2025 list under the 2025-03 units, and a
// shorter one under today's units from the reform.
var demoDesignations = map[string]string{
	"2025-03": `kind,zone,area_edition,area_code,village,valid_from,valid_to,decision_number,decision_date,issuer
coastal_extremely_difficult,,2025-03,31108,,2021-06-04,2025-06-30,353/QĐ-TTg (minh họa),2021-03-15,Thủ tướng Chính phủ
coastal_extremely_difficult,,2025-03,31111,,2021-06-04,2025-06-30,353/QĐ-TTg (minh họa),2021-03-15,Thủ tướng Chính phủ
coastal_extremely_difficult,,2025-03,31114,,2021-06-04,2025-06-30,353/QĐ-TTg (minh họa),2021-03-15,Thủ tướng Chính phủ
coastal_extremely_difficult,,2025-03,31115,,2021-06-04,2025-06-30,353/QĐ-TTg (minh họa),2021-03-15,Thủ tướng Chính phủ
coastal_extremely_difficult,,2025-03,31033,,2021-06-04,2025-06-30,353/QĐ-TTg (minh họa),2021-03-15,Thủ tướng Chính phủ
coastal_extremely_difficult,,2025-03,31039,,2021-06-04,2025-06-30,353/QĐ-TTg (minh họa),2021-03-15,Thủ tướng Chính phủ
coastal_extremely_difficult,,2025-03,31042,,2021-06-04,2025-06-30,353/QĐ-TTg (minh họa),2021-03-15,Thủ tướng Chính phủ
coastal_extremely_difficult,,2025-03,31045,,2021-06-04,2025-06-30,353/QĐ-TTg (minh họa),2021-03-15,Thủ tướng Chính phủ
extremely_difficult_hamlet,,2025-03,31036,Ấp 3,2021-06-04,2025-06-30,612/QĐ-UBDT (minh họa),2021-09-16,Ủy ban Dân tộc
extremely_difficult_hamlet,,2025-03,31036,Ấp 7,2021-06-04,2025-06-30,612/QĐ-UBDT (minh họa),2021-09-16,Ủy ban Dân tộc
extremely_difficult_hamlet,,2025-03,31048,Ấp 2,2021-06-04,2025-06-30,612/QĐ-UBDT (minh họa),2021-09-16,Ủy ban Dân tộc
extremely_difficult_hamlet,,2025-03,30791,Ấp 5,2021-06-04,2025-06-30,612/QĐ-UBDT (minh họa),2021-09-16,Ủy ban Dân tộc
`,
	DemoEdition: `kind,zone,area_edition,area_code,village,valid_from,valid_to,decision_number,decision_date,issuer
coastal_extremely_difficult,,2026-04,31108,,2025-07-01,,1/QĐ-TTg (minh họa),2025-06-30,Thủ tướng Chính phủ
coastal_extremely_difficult,,2026-04,31018,,2025-07-01,,1/QĐ-TTg (minh họa),2025-06-30,Thủ tướng Chính phủ
extremely_difficult_hamlet,,2026-04,31036,Ấp 3,2025-07-01,,2/QĐ-UBDT (minh họa),2025-06-30,Ủy ban Dân tộc
extremely_difficult_hamlet,,2026-04,30793,Ấp 5,2025-07-01,,2/QĐ-UBDT (minh họa),2025-06-30,Ủy ban Dân tộc
`,
}

// seedDemoDesignations loads the demo's illustrative designations of an
// edition.
func seedDemoDesignations(ctx context.Context, a *App, edition string, out io.Writer) error {
	list, err := adminarea.ReadDesignations(strings.NewReader(demoDesignations[edition]))
	if err != nil {
		return err
	}
	n, err := adminarea.NewStore(a.db).LoadDesignations(ctx, list, true, "demo:"+edition)
	if err != nil {
		return fmt.Errorf("demo designations: %w", err)
	}
	fmt.Fprintf(out, "demo seed: %d illustrative designations of communes and hamlets under the %s units\n", n, edition)
	return nil
}

// seedDemoReorganize moves the demo to today's units, as a province that
// recorded its past under the 2025-03 list does: what the mapping cannot
// settle (the district approver) is re-bound to the province.
func seedDemoReorganize(ctx context.Context, a *App, out io.Writer) error {
	start := time.Now()
	plan, err := a.reorganizations.DryRun(ctx, reorganize.Options{To: DemoEdition})
	if err != nil {
		return err
	}
	var decisions []reorganize.Decision
	for _, b := range plan.Bindings {
		if b.Action == "" {
			decisions = append(decisions, reorganize.Decision{Kind: b.Kind, Ref: b.Ref, Action: reorganize.Rebind, ToCode: "91"})
		}
	}
	st, err := a.reorganizations.Apply(ctx, reorganize.Options{To: DemoEdition, Decisions: decisions})
	if err != nil {
		return fmt.Errorf("demo seed: reorganize: %w", err)
	}
	fmt.Fprintf(out, "demo seed: moved to today's units (%s): %d households of Kiên Giang's %d communes into the new An Giang (91); "+
		"%d binding(s) at districts re-bound to the province; in %s\n", DemoEdition, st.Moved, len(plan.Communes), len(decisions),
		time.Since(start).Round(time.Millisecond))
	return nil
}

// demoReviewYear is the year of the demo province's recognized review.
const demoReviewYear = 2025

// demoPovertyRates are Kiên Giang's district poverty rates at the start of
// 2021 as reported (../shared/domain: 1.69% for the province; Giang Thành
// 7.96%, U Minh Thượng 6.32%, An Minh 5.04%; Phú Quốc, Kiên Hải and Rạch Giá
// under 1%), which the demo review aims for.
var demoPovertyRates = map[string]float64{"Giang Thành": 0.0796, "U Minh Thượng": 0.0632, "An Minh": 0.0504,
	"Phú Quốc": 0.008, "Kiên Hải": 0.008, "Rạch Giá": 0.008}

// DemoPovertyRate is the demo province's poverty rate in a district named
// so (the province's 1.69% for the others).
func DemoPovertyRate(districtName string) float64 {
	for district, rate := range demoPovertyRates {
		if strings.HasSuffix(districtName, district) {
			return rate
		}
	}
	return 0.0169
}

// seedDemoReviews runs the demo province's periodic review of demoReviewYear
// to recognition in every commune that has households, once.
func seedDemoReviews(ctx context.Context, a *App, out io.Writer) error {
	rates := map[string]float64{}
	err := db.Each(a.db.Conn(ctx).Raw(`SELECT path::text, name FROM areas
		WHERE edition = area_edition_in_use() AND level = 'district' AND path <@ '91'`),
		func(r db.Scanner) error {
			var path, name string
			if err := r.Scan(&path, &name); err != nil {
				return err
			}
			rates[path] = DemoPovertyRate(name)
			return nil
		})
	if err != nil {
		return err
	}
	rateOf := func(path string) float64 {
		parts := strings.SplitN(path, ".", 3)
		if len(parts) < 2 {
			return 0.0169
		}
		return rates[parts[0]+"."+parts[1]]
	}
	start := time.Now()
	n, err := a.assessments.SeedDemoReviews(ctx, "91", demoReviewYear, rateOf, 2025)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "demo seed: %d communes' %d reviews recognized in %s\n", n, demoReviewYear, time.Since(start).Round(time.Second))
	return nil
}

// DemoHouseholds is how many synthetic households the demo province gets
// unless told otherwise; the load harness builds larger provinces.
const (
	DemoHouseholds    = 3000
	maxDemoHouseholds = 100_000
)

// seedDemoHouseholds registers synthetic households across Kiên Giang's
// communes, once (a province that has households is left alone).
func seedDemoHouseholds(ctx context.Context, a *App, households int, out io.Writer) error {
	var existing int64
	if err := a.db.Conn(ctx).Raw(`SELECT count(*) FROM households WHERE area_path <@ '91'`).Scan(&existing).Error; err != nil {
		return err
	}
	if existing > 0 {
		fmt.Fprintf(out, "demo seed: %d households already in province 91\n", existing)
		return nil
	}
	communes, err := db.Collect(a.db.Conn(ctx).Raw(`SELECT code, unit_type = 'ward' OR unit_type = 'commune_level_town' FROM areas
		WHERE edition = area_edition_in_use() AND level = 'commune' AND path <@ '91' ORDER BY code`), func(r db.Scanner) (household.Commune, error) {
		var c household.Commune
		err := r.Scan(&c.Code, &c.Urban)
		return c, err
	})
	if err != nil {
		return err
	}
	start := time.Now()
	n, err := a.households.SeedDemo(ctx, communes, households, 91)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "demo seed: %d households registered across %d communes in %s\n", n, len(communes), time.Since(start).Round(time.Second))
	return nil
}

// RunUserCreate creates a user with one role at one area, e.g. the first
// system_admin. With no password given, one is generated and printed, and
// the user must change it at first sign-in.
func RunUserCreate(ctx context.Context, cfg *config.Config, log *slog.Logger, username, fullName, role, area, password string, out io.Writer) error {
	a, err := Open(cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	generated := password == ""
	if generated {
		password = auth.OneTimePassword()
	}
	if fullName == "" {
		fullName = username
	}
	id, err := a.Auth().CreateUser(access.WithActor(ctx, access.System("user-create")), auth.NewUser{
		Username: username, FullName: fullName, Password: password, MustChangePassword: generated,
		Assignments: []auth.Grant{{Role: role, AreaCode: area}}})
	if err != nil {
		if e, ok := apperr.As(err); ok && len(e.Fields) > 0 {
			return fmt.Errorf("%s: %s %s", e.Message, e.Fields[0].Field, e.Fields[0].Message)
		}
		return err
	}
	fmt.Fprintf(out, "user %s created (id %s) as %s at area %s\n", username, id, role, area)
	if generated {
		fmt.Fprintf(out, "one-time password: %s (to be changed at first sign-in)\n", password)
	}
	return nil
}

// Open opens the database pool and builds the App on it (commands and the
// load harness; serve waits for the database first).
func Open(cfg *config.Config, log *slog.Logger) (*App, error) {
	pool, err := OpenDB(cfg, log)
	if err != nil {
		return nil, err
	}
	a, err := New(cfg, log, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return a, nil
}

// ensurePartitions creates the audit tables' monthly partitions ahead, as the owner.
func ensurePartitions(ctx context.Context, cfg *config.Config, months int) error {
	owner, err := db.Open(db.Options{URL: cfg.Database.MigrationURL(), MaxOpenConns: 1})
	if err != nil {
		return err
	}
	defer owner.Close()
	return audit.EnsurePartitions(ctx, owner, months)
}

// RunImport imports households, or the recognized lists of past years
// (what: importer.Households or importer.History), from a file, showing
// progress on errOut and listing the problems on out. Within an area (its
// GSO code) when one is given; as the system actor "import-cli".
func RunImport(ctx context.Context, cfg *config.Config, log *slog.Logger, what, path, mode, area string, out, errOut io.Writer) error {
	a, err := Open(cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	kind := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if kind != "csv" && kind != "xlsx" {
		return fmt.Errorf("import: %s: the file must end in .csv or .xlsx", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	scope := access.Everywhere()
	if area != "" {
		ar, err := adminarea.NewStore(a.db).Get(ctx, area)
		if err != nil {
			return fmt.Errorf("import: area %q: %w", area, err)
		}
		scope = access.Within(ar.Path)
	}
	ctx = access.WithActor(db.WithKind(ctx, db.Job), access.System("import-cli"))
	// A soft memory limit: the collector works harder rather than let a
	// large file's bookkeeping grow the process past it.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(192 << 20))
	start := time.Now()
	res, err := a.imports.RunOf(ctx, what, scope, mode, kind, "file:"+filepath.Base(path), f, st.Size(), func(p importer.Progress) {
		secs := time.Since(start).Seconds()
		fmt.Fprintf(errOut, "\r%d rows, %d households written, %d skipped (already there), %d invalid, %.0f rows/s   ",
			p.RowsRead, p.HouseholdsCreated, p.HouseholdsExisting, p.HouseholdsInvalid, float64(p.RowsRead)/max(secs, 0.001))
	})
	fmt.Fprintln(errOut)
	for _, p := range res.Problems {
		fmt.Fprintf(out, "row %d, %s: %s (%s) — %s\n", p.Row, p.Column, p.EN, p.Code, p.VI)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "import (%s): %d rows, %d households valid, %d invalid, %d written with %d members, %d already there, %d problems, in %s\n",
		mode, res.RowsRead, res.HouseholdsValid, res.HouseholdsInvalid, res.HouseholdsCreated, res.MembersCreated, res.HouseholdsExisting,
		res.Progress.Problems, time.Since(start).Round(time.Millisecond))
	if what == importer.History {
		fmt.Fprintf(out, "history: %d years recorded, %d already recorded\n", res.YearsRecorded, res.YearsExisting)
	}
	if res.HouseholdsInvalid > 0 && mode == importer.AllOrNothing {
		return fmt.Errorf("import: %d invalid households: nothing was written", res.HouseholdsInvalid)
	}
	return nil
}

// RunHealthcheck asks the server on this machine for /healthz, within 3 s:
// the container image's health check (distroless has no shell or curl).
func RunHealthcheck(ctx context.Context, cfg *config.Config) error {
	host, port, err := net.SplitHostPort(cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("healthcheck: http.addr %q: %w", cfg.HTTP.Addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /healthz answered %d", res.StatusCode)
	}
	return nil
}
