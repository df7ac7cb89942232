package household_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
	"github.com/ansinh/ansinh/internal/platform/proctest"
)

// Registrations queue their people in their own transactions; a scanner
// killed with SIGKILL after writing the candidates and before committing
// leaves no candidate and the whole queue behind; the next scan records
// them, empties the queue, and a scan again adds nothing.
func TestDuplicateScanKilledLosesNothing(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "scan-worker", "commune_worker", "30791", false)
	worker := apptest.Login(t, h, "scan-worker", apptest.Password).AccessToken
	for _, code := range []string{"SC-1", "SC-2"} { // the same family twice: four pairs, and the heads' phone
		if w := apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody(code, "30791", "")); w.Code != 201 {
			t.Fatalf("register %s: %d %s", code, w.Code, w.Body.String())
		}
	}
	count := func(q string) int { return apptest.Scalar[int](t, a.DB(), q) }
	if n := count(`SELECT count(*) FROM duplicate_scans`); n != 8 {
		t.Fatalf("queued: %d, want the 8 people", n)
	}
	if n := count(`SELECT count(*) FROM duplicate_candidates`); n != 0 {
		t.Fatalf("candidates found on the write path: %d", n)
	}
	// The backlog the metrics report: the 8 people, the first queued a moment ago.
	if queued, waited, err := a.Households().ScanBacklog(context.Background()); err != nil || queued != 8 || waited < 0 || waited > 60 {
		t.Fatalf("backlog: %d queued, oldest %.1f s (%v)", queued, waited, err)
	}

	line := proctest.KillAtFirstLine(t, 30*time.Second, "ANSINH_DUPSCAN_HELPER_DB="+a.Config().Database.URL)
	if !strings.HasPrefix(line, "recorded ") || line == "recorded 0" {
		t.Fatalf("the helper said %q", line)
	}
	dbtest.WaitNoOtherTransaction(t, a.DB())
	if q, c := count(`SELECT count(*) FROM duplicate_scans`), count(`SELECT count(*) FROM duplicate_candidates`); q != 8 || c != 0 {
		t.Fatalf("after the kill: %d queued, %d candidates; want 8 and 0", q, c)
	}

	if err := a.Households().DrainDuplicates(context.Background()); err != nil {
		t.Fatal(err)
	}
	found := count(`SELECT count(*) FROM duplicate_candidates`)
	// The spouse and the elder child match by name and birth date; the
	// heads (born "1978", no day) share the phone; the younger child (born
	// "2014") has a close name, born the same year in the commune.
	reasons := apptest.Scalar[string](t, a.DB(), `SELECT string_agg(reason, ',' ORDER BY reason) FROM duplicate_candidates`)
	if reasons != "same_name_and_birth_date,same_name_and_birth_date,same_phone,similar_name_same_year_and_commune" {
		t.Fatalf("the pairs' reasons: %s", reasons)
	}
	if n := count(`SELECT count(*) FROM duplicate_scans`); n != 0 {
		t.Fatalf("left queued after a scan: %d", n)
	}
	if queued, waited, err := a.Households().ScanBacklog(context.Background()); err != nil || queued != 0 || waited != 0 {
		t.Fatalf("backlog after the scan: %d queued, oldest %.1f s (%v)", queued, waited, err)
	}
	if err := a.Households().DrainDuplicates(context.Background()); err != nil {
		t.Fatal(err)
	}
	if again := count(`SELECT count(*) FROM duplicate_candidates`); again != found || found != 4 {
		t.Fatalf("candidates: %d, then %d after scanning again; want 4", found, again)
	}
}
