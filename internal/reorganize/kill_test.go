package reorganize

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
	"github.com/ansinh/ansinh/internal/platform/proctest"
)

// The helper process of TestKilledRunResumesToTheSameEnd: it applies in
// batches of 7 and, inside the fourth batch's transaction, says so and
// waits to be killed.
func init() {
	url := os.Getenv("ANSINH_REORG_HELPER_DB")
	if url == "" {
		return
	}
	pool, err := db.Open(db.Options{URL: url, MaxOpenConns: 2})
	if err != nil {
		os.Exit(2)
	}
	o := Options{To: "2026-04", BatchSize: 7, onBatch: func(n int) {
		if n == 4 {
			fmt.Println("in batch 4")
			select {} // until killed
		}
	}}
	_, err = NewService(pool).Apply(access.WithActor(context.Background(), access.System("helper")), o)
	fmt.Println("helper:", err)
	os.Exit(1) // not reached: killed in batch 4
}

// A run killed with SIGKILL in the middle of a batch, then run again,
// reaches the end state: every household moved once, with its members; the
// codes that collided in the merged commune made unique the documented way;
// the sync feed and the audit trail naming each household once.
func TestKilledRunResumesToTheSameEnd(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	pool, err := db.Open(db.Options{URL: d.AppURL, MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	ctx := access.WithActor(context.Background(), access.System("test"))
	exec1 := func(q string, args ...any) {
		t.Helper()
		if err := pool.Conn(ctx).Exec(q, args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	// 30 households in Vĩnh Phú and 30 in Vĩnh Điều, coded alike; a member each.
	for _, c := range []struct{ code, path string }{{"30791", "91.914.30791"}, {"30793", "91.914.30793"}} {
		exec1(`INSERT INTO households (id, code, commune_edition, commune_code, area_path, village, area_type)
			SELECT gen_random_uuid(), 'K-' || n, '2025-03', ?, ?::ltree, 'Ấp 1', 'rural' FROM generate_series(1, 30) n`, c.code, c.path)
	}
	exec1(`INSERT INTO members (id, household_id, full_name, birth_year, sex, relationship, area_path)
		SELECT gen_random_uuid(), h.id, 'Nguyễn Văn ' || h.code, 1970, 'male', 'head', h.area_path FROM households h`)

	if line := proctest.KillAtFirstLine(t, 60*time.Second, "ANSINH_REORG_HELPER_DB="+d.AppURL); line != "in batch 4" {
		t.Fatalf("helper: %q", line)
	}
	// Resumed once the killed run's transaction is gone, as after a restart.
	dbtest.WaitNoOtherTransaction(t, pool)

	svc := NewService(pool)
	id, _, err := svc.store.existing(ctx, "2026-04")
	if err != nil {
		t.Fatal(err)
	}
	st, err := svc.Status(ctx, id)
	if err != nil || st.State != "applying" || st.Moved != 21 || st.Pending != 39 {
		t.Fatalf("after the kill: %+v %v", st, err)
	}
	st, err = svc.Apply(ctx, Options{To: "2026-04", BatchSize: 7})
	if err != nil || st.State != "applied" || st.Moved != 60 || st.Pending != 0 || st.Queued != 0 {
		t.Fatalf("resumed: %+v %v", st, err)
	}

	one := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := pool.Conn(ctx).Raw(q, args...).Row().Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	for q, want := range map[string]int{
		`SELECT count(*) FROM households WHERE commune_edition = '2026-04' AND commune_code = '30793' AND area_path = '91.30793'`: 60,
		`SELECT count(*) FROM members WHERE area_path = '91.30793'`:                                                               60,
		// Vĩnh Điều's own households keep their codes (the new commune kept its code); Vĩnh Phú's get theirs suffixed.
		`SELECT count(*) FROM households h JOIN reorganization_moves m ON m.household_id = h.id
			WHERE m.from_code = '30793' AND h.code = m.old_household_code`: 30,
		`SELECT count(*) FROM households h JOIN reorganization_moves m ON m.household_id = h.id
			WHERE m.from_code = '30791' AND h.code = m.old_household_code || '-30791'`: 30,
		`SELECT count(*) FROM (SELECT household_id FROM registry_changes GROUP BY 1 HAVING count(*) = 2
			AND bool_or(area_path = '91.30793') AND bool_or(area_path <> '91.30793')) x`: 60,
		`SELECT count(DISTINCT x->>'id') FROM audit_events e, json_array_elements(e.doc->'after'->'households') x
			WHERE e.action = 'area.reorganize_move'`: 60,
		`SELECT count(*) FROM audit_events e, json_array_elements(e.doc->'after'->'households') x
			WHERE e.action = 'area.reorganize_move'`: 60,
		`SELECT count(*) FROM area_editions WHERE in_use AND edition = '2026-04'`: 1,
	} {
		if got := one(q); got != want {
			t.Errorf("%s: %d, want %d", q, got, want)
		}
	}
	// Run again: nothing more happens.
	st, err = svc.Apply(ctx, Options{To: "2026-04", BatchSize: 7})
	if err != nil || st.State != "applied" || st.Moved != 60 {
		t.Fatalf("a third run: %+v %v", st, err)
	}
	if n := one(`SELECT count(*) FROM registry_changes`); n != 120 {
		t.Errorf("feed entries after a third run: %d", n)
	}
}
