package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

// `ansinh areas reorganize` as a province runs it: a corrected mapping that
// leaves a commune out is refused with the list; the dry run names what must
// be decided (a district's approver and budget); the run with the village
// table and the bindings file re-binds them (never widening silently), moves
// everything and leaves an audit trail that verifies.
func TestReorganizeCommand(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	cfg := apptest.Config(t, d.AppURL, "ANSINH_DATABASE_MIGRATE_URL", d.OwnerURL)
	a := apptest.NewOn(t, cfg)
	h := a.Handler()
	for _, c := range []string{"30791", "30358"} {
		tok := apptest.Token(t, a, "w"+c, "commune_worker", c)
		if w := apptest.Send(t, h, "POST", "/api/v1/households", tok, apptest.HouseholdBody("R-"+c, c, "")); w.Code != 201 {
			t.Fatalf("register: %d %s", w.Code, w.Body)
		}
	}
	apptest.CreateUser(t, a, "approver-914", "district_approver", "914", false)
	year := time.Now().Year()
	apptest.Exec(t, a.DB(), `INSERT INTO program_budgets (program_code, area_edition, area_code, area_path, year, amount)
		VALUES ('legal_aid', '2025-03', '914', '91.914', ?, 50000000)`, year)

	ctx, log := context.Background(), slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var out, errOut bytes.Buffer
	run := func(o app.ReorganizeOptions) error {
		out.Reset()
		errOut.Reset()
		o.To, o.BatchSize = "2026-04", 50
		return app.RunReorganize(ctx, cfg, log, o, &out, &errOut)
	}

	// A mapping with Vĩnh Phú's row left out.
	shipped, err := os.ReadFile("../area/data/vn-commune-mapping-2025.csv")
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, l := range strings.Split(string(shipped), "\n") {
		if !strings.HasPrefix(l, "30791,") {
			kept = append(kept, l)
		}
	}
	err = run(app.ReorganizeOptions{Mapping: write("mapping.csv", strings.Join(kept, "\n")), DryRun: true})
	if err == nil || !strings.Contains(err.Error(), "old commune 30791 Vĩnh Phú is not mapped") {
		t.Fatalf("a mapping without Vĩnh Phú: %v", err)
	}

	if err := run(app.ReorganizeOptions{DryRun: true}); err != nil {
		t.Fatal(err)
	}
	plan := out.String()
	budget := "legal_aid/914/" + strconv.Itoa(year)
	for _, want := range []string{"2 households", "budget " + budget, "district_approver approver-914", "UNDECIDED",
		"blocked: budget " + budget, "1 to be decided"} {
		if !strings.Contains(plan, want) {
			t.Errorf("the plan lacks %q:\n%s", want, plan)
		}
	}
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM reorganizations`); n != 0 {
		t.Fatalf("a dry run wrote %d runs", n)
	}
	// Refused while undecided.
	if err := run(app.ReorganizeOptions{}); err == nil || !strings.Contains(err.Error(), budget) {
		t.Fatalf("an undecided run: %v", err)
	}

	approver := apptest.Scalar[string](t, a.DB(), `SELECT r.id::text FROM role_assignments r JOIN users u ON u.id = r.user_id
		WHERE u.username = 'approver-914'`)
	worker := apptest.Scalar[string](t, a.DB(), `SELECT r.id::text FROM role_assignments r JOIN users u ON u.id = r.user_id
		WHERE u.username = 'w30358'`)
	bindings := write("bindings.csv", "kind,ref,action,to_code\n"+
		"assignment,"+approver+",rebind,91\n"+
		"assignment,"+worker+",revoke,\n"+
		"budget,"+budget+",rebind,91\n")
	villages := write("villages.csv", "old_commune_code,village,new_commune_code\n30358,ấp tà teng,30346\n")
	if err := run(app.ReorganizeOptions{Bindings: bindings, Villages: villages}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "applied; 2 households, 2 moved, 0 awaiting a decision") {
		t.Fatalf("run: %s", out.String())
	}
	for q, want := range map[string]string{
		`SELECT area_edition || '/' || area_code || '/' || area_path::text FROM program_budgets WHERE program_code = 'legal_aid'`: "2026-04/91/91",
		`SELECT area_edition || '/' || area_code FROM role_assignments r JOIN users u ON u.id = r.user_id
			WHERE u.username = 'approver-914'`: "2026-04/91",
		`SELECT (revoked_at IS NOT NULL)::text FROM role_assignments r JOIN users u ON u.id = r.user_id WHERE u.username = 'w30358'`: "true",
		`SELECT commune_code FROM households WHERE code = 'R-30358'`:                                                                 "30346",
		`SELECT area_edition_in_use()`: "2026-04",
	} {
		if got := apptest.Scalar[string](t, a.DB(), q); got != want {
			t.Errorf("%s: %q, want %q", q, got, want)
		}
	}

	// A list of designations under today's units, from a file.
	good := write("designations.csv", "kind,zone,area_edition,area_code,village,valid_from,valid_to,decision_number,decision_date,issuer\n"+
		"coastal_extremely_difficult,,2026-04,31108,,2025-07-01,,1/QĐ-TTg,2025-06-30,Thủ tướng Chính phủ\n")
	out.Reset()
	if err := app.RunLoadDesignations(ctx, cfg, log, good, false, &out); err != nil || !strings.Contains(out.String(), "1 loaded") {
		t.Fatalf("designations: %v %s", err, out.String())
	}
	bad := write("bad.csv", "kind,zone,area_edition,area_code,village,valid_from,valid_to,decision_number,decision_date,issuer\n"+
		"coastal_extremely_difficult,,2026-04,31111,,2025-07-01,,1/QĐ-TTg,2025-06-30,Thủ tướng Chính phủ\n")
	if err := app.RunLoadDesignations(ctx, cfg, log, bad, false, &out); err == nil || !strings.Contains(err.Error(), "no unit 31111 in edition \"2026-04\"") {
		t.Fatalf("a commune of the old units under the new: %v", err)
	}

	// The trail verifies.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out.Reset()
		if err := app.RunAuditSeal(ctx, cfg, log, &out); err != nil {
			t.Fatal(err)
		}
		out.Reset()
		if err := app.RunAuditVerify(ctx, cfg, log, "", false, &out); err != nil {
			t.Fatalf("the trail after a reorganization: %v\n%s", err, out.String())
		}
		if strings.Contains(out.String(), `"events_unsealed": 0`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not sealed: %s", out.String())
		}
	}
}
