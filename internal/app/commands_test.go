package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/apptest"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/config"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

func TestMigrateDownStatusUp(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	cfg, err := config.Load(config.Source{Environ: map[string]string{
		"DATABASE_URL": d.AppURL, "ANSINH_DATABASE_MIGRATE_URL": d.OwnerURL,
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, log := context.Background(), slog.New(slog.DiscardHandler)
	run := func(action string) string {
		t.Helper()
		var out bytes.Buffer
		if err := app.RunMigrate(ctx, cfg, log, action, &out); err != nil {
			t.Fatalf("migrate %s: %v", action, err)
		}
		return out.String()
	}
	if s := run("status"); strings.Contains(s, "pending") || !strings.Contains(s, "applied  00001") {
		t.Fatalf("a cloned database is fully migrated:\n%s", s)
	}
	// Every migration's Down must work: roll all back, then forward again.
	for strings.Contains(run("status"), "applied") {
		run("down")
	}
	if s := run("up"); !strings.Contains(s, "migrations applied: ") || strings.Contains(s, "applied: 0") {
		t.Fatalf("up after down: %s", s)
	}
	if s := run("up"); !strings.Contains(s, "applied: 0") {
		t.Fatalf("a second up is a no-op: %s", s)
	}
	if err := app.RunMigrate(ctx, cfg, log, "sideways", &bytes.Buffer{}); err == nil {
		t.Fatal("an unknown action must fail")
	}
}

func TestSeedDemoRefusesProduction(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(config.Source{Environ: map[string]string{
		"ANSINH_ENV": "production", "DATABASE_URL": "postgres://a:own-secret@db/ansinh",
		"ANSINH_AUDIT_SEAL_KEY":    "q2Jm7c3cJm1b0ZbW3JtJZr4o9T4bXq0vZ3cJm1b0ZbU=",
		"ANSINH_AUTH_SIGNING_KEYS": "q2Jm7c3cJm1b0ZbW3JtJZr4o9T4bXq0vZ3cJm1b0ZbU=",
		"ANSINH_REGISTRY_ID_KEY":   "q2Jm7c3cJm1b0ZbW3JtJZr4o9T4bXq0vZ3cJm1b0ZbU=",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.RunSeedDemo(context.Background(), cfg, slog.New(slog.DiscardHandler), app.DemoHouseholds, &bytes.Buffer{}); err == nil {
		t.Fatal("seed demo must refuse production")
	}
}

func TestAuditCommands(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	if d.SuperURL == "" {
		t.Fatal("needs ANSINH_DATABASE_SUPERUSER_URL")
	}
	cfg, err := config.Load(config.Source{Environ: map[string]string{
		"DATABASE_URL": d.AppURL, "ANSINH_DATABASE_MIGRATE_URL": d.OwnerURL,
		"ANSINH_AUDIT_WITNESS_DIR": t.TempDir(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, log := context.Background(), slog.New(slog.DiscardHandler)
	var out bytes.Buffer
	if err := app.RunAuditCheckpoint(ctx, cfg, log, &out); err == nil {
		t.Fatal("no checkpoint before anything is sealed")
	}
	if err := app.RunAuditPartitions(ctx, cfg, 24, &out); err != nil {
		t.Fatal(err)
	}

	// Write events through the application role, as serve would.
	pool, err := app.OpenDB(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	actx := access.WithActor(ctx, access.System("test"))
	for i := range 4 {
		err := pool.WithTx(actx, func(c context.Context) error {
			return audit.Record(c, pool.Conn(c), audit.Event{Action: "thing.create", EntityType: "thing", EntityID: fmt.Sprint(i)})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		out.Reset()
		if err := app.RunAuditSeal(ctx, cfg, log, &out); err != nil {
			t.Fatal(err)
		}
		out.Reset()
		if err := app.RunAuditVerify(ctx, cfg, log, "", false, &out); err != nil {
			t.Fatalf("a clean trail verifies: %v\n%s", err, out.String())
		}
		if strings.Contains(out.String(), `"events_unsealed": 0`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not sealed: %s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	out.Reset()
	if err := app.RunAuditCheckpoint(ctx, cfg, log, &out); err != nil {
		t.Fatal(err)
	}
	cpFile := filepath.Join(t.TempDir(), "checkpoint.json")
	if err := os.WriteFile(cpFile, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := app.RunAuditVerify(ctx, cfg, log, cpFile, false, &bytes.Buffer{}); err != nil {
		t.Fatalf("the log extends its own checkpoint: %v", err)
	}

	// A superuser alters an event behind the triggers' back.
	super, err := sql.Open("pgx", d.SuperURL)
	if err != nil {
		t.Fatal(err)
	}
	defer super.Close()
	conn, err := super.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SET session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	var victim string
	if err := conn.QueryRowContext(ctx, `SELECT id::text FROM audit_events WHERE entity_id = '2'`).Scan(&victim); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `UPDATE audit_events SET doc = replace(doc::text, '"entity_id":"2"', '"entity_id":"20"')::json WHERE id = $1`, victim); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = app.RunAuditVerify(ctx, cfg, log, cpFile, false, &out)
	if !errors.Is(err, app.ErrVerifyFailed) || !strings.Contains(err.Error(), victim) {
		t.Fatalf("verify must fail naming event %s: %v", victim, err)
	}

	out.Reset()
	if err := app.RunAuditKeygen(&out); err != nil || !strings.HasPrefix(out.String(), "ANSINH_AUDIT_SEAL_KEY=") {
		t.Fatalf("keygen: %v %s", err, out.String())
	}
}

// seedDemoTestHouseholds: the demo seed at a third of its size runs every
// step of the full one (the test's CPU is most of the suite's longest test).
const seedDemoTestHouseholds = 1000

func TestSeedDemoAndUserCreate(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	cfg, err := config.Load(config.Source{Environ: map[string]string{"DATABASE_URL": d.AppURL,
		"ANSINH_AUTH_PASSWORD_MEMORY_KIB": "64", "ANSINH_AUTH_PASSWORD_PASSES": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, log := context.Background(), slog.New(slog.DiscardHandler)
	var out bytes.Buffer
	if err := app.RunSeedDemo(ctx, cfg, log, 0, &out); err == nil || !strings.Contains(err.Error(), "--households is 0") {
		t.Fatalf("a demo of no households must be refused: %v", err)
	}
	if err := app.RunSeedDemo(ctx, cfg, log, seedDemoTestHouseholds, &out); err != nil || !strings.Contains(out.String(), "6 demo account(s) created") ||
		!strings.Contains(out.String(), "households registered across 143 communes") ||
		!strings.Contains(out.String(), "of Kiên Giang's 143 communes into the new An Giang (91); 1 binding(s) at districts re-bound") ||
		!strings.Contains(out.String(), "12 illustrative designations of communes and hamlets under the 2025-03 units") ||
		!strings.Contains(out.String(), "4 illustrative designations of communes and hamlets under the 2026-04 units") {
		t.Fatalf("seed: %v %s", err, out.String())
	}
	pool, err := app.OpenDB(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	checkDemoData(t, pool)
	out.Reset()
	if err := app.RunSeedDemo(ctx, cfg, log, seedDemoTestHouseholds, &out); err != nil ||
		!strings.Contains(out.String(), "the demo is on today's units (2026-04) already") {
		t.Fatalf("a second seed changes nothing: %v %s", err, out.String())
	}
	out.Reset()
	if err := app.RunUserCreate(ctx, cfg, log, "first-admin", "", "system_admin", "91", "", &out); err != nil ||
		!strings.Contains(out.String(), "one-time password: ") {
		t.Fatalf("user create: %v %s", err, out.String())
	}
	if err := app.RunUserCreate(ctx, cfg, log, "bad", "", "emperor", "91", "", &bytes.Buffer{}); err == nil {
		t.Fatal("an unknown role must be refused")
	}
	if err := app.RunUserCreate(ctx, cfg, log, "nowhere", "", "system_admin", "99999", "", &bytes.Buffer{}); err == nil {
		t.Fatal("an unknown area must be refused")
	}

	// The demo logins work, each with its role and area.
	a, err := app.New(cfg, log, pool)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, u := range app.DemoUsers {
		p := apptest.Login(t, a.Handler(), u.Username, app.DemoPassword)
		w := apptest.Send(t, a.Handler(), "GET", "/api/v1/me", p.AccessToken, nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"role":"`+u.Role+`","area_edition":"2026-04","area_code":"`+u.Today+`"`) {
			t.Errorf("%s: %d %s", u.Username, w.Code, w.Body.String())
		}
	}
	checkDemoTrend(t, a.Handler(), apptest.Login(t, a.Handler(), "demo-auditor", app.DemoPassword).AccessToken)
	// A new user's inbox has work in it: an overdue regular review for the
	// worker, proposals for the approver.
	type inbox struct {
		Counts []struct {
			Kind    string `json:"kind"`
			Items   int    `json:"items"`
			Overdue int    `json:"overdue"`
		} `json:"counts"`
	}
	has := func(user, kind string, overdue bool) {
		t.Helper()
		token := apptest.Login(t, a.Handler(), user, app.DemoPassword).AccessToken
		in := apptest.Decode[inbox](t, apptest.Send(t, a.Handler(), "GET", "/api/v1/inbox", token, nil), 200)
		for _, c := range in.Counts {
			if c.Kind == kind && c.Items > 0 && (!overdue || c.Overdue > 0) {
				return
			}
		}
		t.Errorf("%s's inbox has no %s (overdue: %v): %+v", user, kind, overdue, in.Counts)
	}
	has("demo-worker", "regular_review_due", true)
	has("demo-worker", "complaint_to_accept", true)
	has("demo-approver", "enrollment_proposed", false)
}

// checkDemoTrend: the demo's history tells the seed article's story through
// the trend report (../shared/domain): Kiên Giang's poverty rate falls 7.09
// points over 2016-2020 (1.77 a year) to 1.69%, with Giang Thành at 7.96%,
// U Minh Thượng 6.32%, An Minh 5.04%, Phú Quốc, Kiên Hải and Rạch Giá under
// 1%; the 2022 standard re-baselines it (not comparable), and 2022-2025
// falls about 0.2 points a year.
func checkDemoTrend(t *testing.T, h http.Handler, token string) {
	t.Helper()
	type figures struct {
		AreaName string   `json:"area_name"`
		PoorRate float64  `json:"poor_rate"`
		Change   *float64 `json:"change"`
	}
	type trend struct {
		Area struct {
			Edition string `json:"edition"`
		} `json:"area"`
		Years []struct {
			figures
			Year       int       `json:"year"`
			Standard   string    `json:"standard"`
			Comparable bool      `json:"comparable"`
			Children   []figures `json:"children"`
		} `json:"years"`
		Periods []struct {
			AreaCode string   `json:"area_code"`
			From     int      `json:"from"`
			To       int      `json:"to"`
			Change   float64  `json:"change"`
			Average  *float64 `json:"average_yearly_change"`
		} `json:"periods"`
	}
	tr := apptest.Decode[trend](t, apptest.Send(t, h, "GET", "/api/v1/reports/trend?area=91&from=2016&to=2020", token, nil), 200)
	if len(tr.Years) != 5 || tr.Area.Edition != "2025-03" || tr.Years[0].PoorRate != 8.78 || tr.Years[4].PoorRate != 1.69 ||
		len(tr.Periods) == 0 || tr.Periods[0].AreaCode != "91" || tr.Periods[0].Change != -7.09 || *tr.Periods[0].Average != -1.77 {
		t.Fatalf("Kiên Giang 2016-2020: %+v", tr)
	}
	want := map[string]float64{"Giang Thành": 7.96, "U Minh Thượng": 6.32, "An Minh": 5.04}
	for _, c := range tr.Years[4].Children {
		name := c.AreaName[strings.LastIndex(c.AreaName, " ")+1:]
		for district, rate := range want {
			if strings.HasSuffix(c.AreaName, district) && c.PoorRate != rate {
				t.Errorf("%s in 2020: %.2f, want %.2f", c.AreaName, c.PoorRate, rate)
			}
		}
		for _, district := range []string{"Phú Quốc", "Kiên Hải", "Rạch Giá"} {
			if strings.HasSuffix(c.AreaName, district) && c.PoorRate >= 1 {
				t.Errorf("%s (%s) in 2020: %.2f, want under 1", c.AreaName, name, c.PoorRate)
			}
		}
	}
	tr = apptest.Decode[trend](t, apptest.Send(t, h, "GET", "/api/v1/reports/trend?area=91&from=2021&to=2025&edition=2025-03", token, nil), 200)
	if len(tr.Years) != 5 || tr.Years[0].Standard != "QD59-2015" || tr.Years[1].Standard != "ND07-2021" || tr.Years[1].Comparable ||
		tr.Years[1].Change != nil || len(tr.Periods) < 2 || tr.Periods[1].From != 2022 || tr.Periods[1].To != 2025 ||
		*tr.Periods[1].Average > -0.05 || *tr.Periods[1].Average < -0.4 {
		t.Fatalf("Kiên Giang 2021-2025: %+v", tr)
	}
}

// checkDemoData: the demo households are realistic enough to pass the
// registry's own rules (their ID numbers agree with their holders, checked on
// registration), every commune that had households has a recognized 2025
// review whose district poverty rates follow the reported ones (under the
// units they had then), and every household is under today's units.
func checkDemoData(t *testing.T, pool *db.DB) {
	t.Helper()
	ctx := context.Background()
	var members, withID, heads, khmer int
	households := apptest.Scalar[int](t, pool, `SELECT count(*) FROM households`)
	if err := pool.Conn(ctx).Raw(`SELECT count(*), count(id_sealed), count(*) FILTER (WHERE relationship = 'head'),
		count(*) FILTER (WHERE ethnicity_code = 5) FROM members`).Row().Scan(&members, &withID, &heads, &khmer); err != nil {
		t.Fatal(err)
	}
	if households < seedDemoTestHouseholds*95/100 || heads != households || members < 2*households || withID == 0 || khmer == 0 {
		t.Fatalf("households %d, members %d, with ID %d, heads %d, Khmer %d", households, members, withID, heads, khmer)
	}
	var communes, recognized, unassessed int
	if moved := apptest.Scalar[int](t, pool, `SELECT count(*) FROM households WHERE commune_edition = '2026-04' AND area_path ~ '91.*{1}'`); moved != households {
		t.Fatalf("%d of %d households under today's communes of An Giang", moved, households)
	}
	if err := pool.Conn(ctx).Raw(`SELECT (SELECT count(DISTINCT from_code) FROM reorganization_moves),
		(SELECT count(*) FROM reviews WHERE year = 2025 AND state = 'recognized'),
		(SELECT count(*) FROM households h WHERE NOT EXISTS (SELECT 1 FROM assessments a WHERE a.household_id = h.id AND a.state = 'recognized'))`).
		Row().Scan(&communes, &recognized, &unassessed); err != nil {
		t.Fatal(err)
	}
	if communes != recognized || unassessed != 0 {
		t.Fatalf("%d communes with households, %d recognized reviews, %d households without a recognized assessment", communes, recognized, unassessed)
	}
	// Poverty rates by district: the three reported above 5% (Giang Thành
	// 914, U Minh Thượng 913, An Minh 909) together well above the province,
	// the three under 1% (Phú Quốc 911, Kiên Hải 912, Rạch Giá 899) below it.
	rate := func(paths ...string) float64 {
		return apptest.Scalar[float64](t, pool, `SELECT avg((h.classification = 'poor')::int) FROM households h
			JOIN reorganization_moves m ON m.household_id = h.id JOIN areas o ON o.edition = '2025-03' AND o.code = m.from_code
			WHERE o.path <@ ?::ltree[]`, "{"+strings.Join(paths, ",")+"}")
	}
	province, high, low := rate("91"), rate("91.914", "91.913", "91.909"), rate("91.911", "91.912", "91.899")
	if province <= 0 || high <= 2*province || low >= province {
		t.Fatalf("poverty rates: province %.4f, districts reported above 5%% %.4f, under 1%% %.4f", province, high, low)
	}
	changes := apptest.Scalar[int](t, pool, `SELECT count(*) FROM classification_changes WHERE 'newly_poor' = ANY (lists)`)
	if changes == 0 {
		t.Fatal("the demo review put nobody on the newly-poor list")
	}
	// Support: every member of a poor household has a card, delivered; the
	// gift campaign reached every poor, near-poor and ethnic-minority household.
	var uncovered, cards, packages, giftHouseholds, programs int
	if err := pool.Conn(ctx).Raw(`SELECT
		(SELECT count(*) FROM members m JOIN households h ON h.id = m.household_id WHERE h.classification = 'poor' AND m.status = 'present'
		 AND NOT EXISTS (SELECT 1 FROM enrollments e WHERE e.member_id = m.id AND e.program_code = 'bhyt_poor' AND e.state = 'approved')),
		(SELECT count(*) FROM deliveries WHERE kind = 'health_insurance'),
		(SELECT count(*) FROM deliveries WHERE campaign_id IS NOT NULL),
		(SELECT count(*) FROM households WHERE classification IN ('poor', 'near_poor') OR ethnic_minority),
		(SELECT count(DISTINCT program_code) FROM enrollments WHERE state = 'approved')`).
		Row().Scan(&uncovered, &cards, &packages, &giftHouseholds, &programs); err != nil {
		t.Fatal(err)
	}
	if uncovered != 0 || cards == 0 || packages != giftHouseholds || programs < 7 {
		t.Fatalf("demo support: %d poor members without a card, %d cards, %d packages for %d households, %d programs",
			uncovered, cards, packages, giftHouseholds, programs)
	}
}

// `ansinh audit verify` checks against the witness the sealer publishes to:
// deleting the newest block and letting the sealer re-seal altered events is
// caught, naming the witness; --no-witness (the old behaviour) does not see it.
func TestAuditVerifyChecksTheWitness(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	if d.SuperURL == "" {
		t.Fatal("needs ANSINH_DATABASE_SUPERUSER_URL")
	}
	witnessDir := t.TempDir()
	cfg, err := config.Load(config.Source{Environ: map[string]string{
		"DATABASE_URL": d.AppURL, "ANSINH_AUDIT_WITNESS_DIR": witnessDir, "ANSINH_AUDIT_SEAL_MAX_EVENTS": "2",
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, log := context.Background(), slog.New(slog.DiscardHandler)
	pool, err := app.OpenDB(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	record := func(n int) {
		for i := range n {
			err := pool.WithTx(access.WithActor(ctx, access.System("test")), func(c context.Context) error {
				return audit.Record(c, pool.Conn(c), audit.Event{Action: "thing.create", EntityType: "thing", EntityID: fmt.Sprint(i)})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	sealed := func(tampered bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			// Once the chain was rewritten, the seal command seals but refuses to publish.
			if err := app.RunAuditSeal(ctx, cfg, log, &bytes.Buffer{}); err != nil && (!tampered || !errors.Is(err, audit.ErrWitnessAhead)) {
				t.Fatal(err)
			}
			var out bytes.Buffer
			_ = app.RunAuditVerify(ctx, cfg, log, "", true, &out)
			if strings.Contains(out.String(), `"events_unsealed": 0`) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("not sealed: %s", out.String())
			}
		}
	}
	record(4)
	sealed(false) // the newest block is published
	var out bytes.Buffer
	err = app.RunAuditVerify(ctx, cfg, log, "", false, &out)
	var report struct {
		Head struct {
			Seq int `json:"seq"`
		} `json:"head"`
	}
	if jerr := json.Unmarshal(out.Bytes(), &report); jerr != nil || report.Head.Seq < 2 {
		t.Fatalf("verify report: %v\n%s", jerr, out.String())
	}
	// How the sealer cut the events into blocks depends on timing: the
	// attack below rewrites whichever block is the newest.
	head := report.Head.Seq
	if err != nil || !strings.Contains(out.String(), fmt.Sprintf(`"witness": "dir %s: block %d"`, witnessDir, head)) {
		t.Fatalf("an honest chain verifies against its witness: %v\n%s", err, out.String())
	}

	super, err := sql.Open("pgx", d.SuperURL)
	if err != nil {
		t.Fatal(err)
	}
	defer super.Close()
	conn, err := super.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{`SET session_replication_role = replica`,
		fmt.Sprintf(`UPDATE audit_events SET doc = replace(doc::text, '"entity_id":"', '"entity_id":"0')::json
			WHERE id = (SELECT event_ids[1] FROM audit_blocks WHERE seq = %d)`, head),
		fmt.Sprintf(`DELETE FROM audit_blocks WHERE seq = %d`, head)} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	sealed(true) // the sealer re-seals the altered event into a new newest block
	if err := app.RunAuditVerify(ctx, cfg, log, "", true, &bytes.Buffer{}); err != nil {
		t.Fatalf("without the witness the re-sealed chain verifies: %v", err)
	}
	out.Reset()
	err = app.RunAuditVerify(ctx, cfg, log, "", false, &out)
	if !errors.Is(err, app.ErrVerifyFailed) || !strings.Contains(err.Error(), fmt.Sprintf("witness mismatch: block %d", head)) {
		t.Fatalf("verify must fail naming the witness mismatch: %v\n%s", err, out.String())
	}

	none := *cfg
	none.Audit.Witness = "none"
	if err := app.RunAuditVerify(ctx, &none, log, "", false, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "--no-witness") {
		t.Fatalf("with no witness configured, verify asks for --no-witness: %v", err)
	}
}
