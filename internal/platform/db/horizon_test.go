package db_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

// openTx begins a transaction on a connection of its own to url, rolled back
// when the test ends, after running stmts in it.
func openTx(t *testing.T, url string, stmts ...string) *sql.Tx {
	t.Helper()
	pool, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	tx, err := pool.Begin()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	for _, s := range stmts {
		if _, err := tx.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return tx
}

// feed reads the whole sync feed from the start: the household ids it serves.
func feed(t *testing.T, h http.Handler, token string) []string {
	t.Helper()
	ids, _ := feedFrom(t, h, token, "")
	return ids
}

// feedFrom reads the sync feed after cursor: the household ids it serves and
// the cursor it ends at.
func feedFrom(t *testing.T, h http.Handler, token, cursor string) ([]string, string) {
	t.Helper()
	var ids []string
	for range 50 {
		path := "/api/v1/sync/changes?limit=100"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		w := apptest.Send(t, h, "GET", path, token, nil)
		var p struct {
			Changes []struct {
				ID string `json:"id"`
			} `json:"changes"`
			NextCursor string `json:"next_cursor"`
			HasMore    bool   `json:"has_more"`
		}
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &p) != nil {
			t.Fatalf("sync: %d %s", w.Code, w.Body.String())
		}
		for _, c := range p.Changes {
			ids = append(ids, c.ID)
		}
		if cursor = p.NextCursor; !p.HasMore {
			return ids, cursor
		}
	}
	t.Fatal("the feed does not end")
	return nil, ""
}

// unsealed counts the audit events about entity that no block holds.
func unsealed(t *testing.T, a *app.App, entity string) int {
	t.Helper()
	if _, err := a.Sealer().SealPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	return apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM audit_events e
		WHERE e.entity_id = ? AND NOT EXISTS (SELECT 1 FROM audit_blocks b WHERE e.id = ANY (b.event_ids))`, entity)
}

func register(t *testing.T, h http.Handler, token, code string) string {
	t.Helper()
	w := apptest.Send(t, h, "POST", "/api/v1/households", token, apptest.HouseholdBody(code, "30791", ""))
	if w.Code != 201 {
		t.Fatalf("register %s: %d %s", code, w.Code, w.Body.String())
	}
	return apptest.DecodeHousehold(t, w).ID
}

// Transactions held open elsewhere, each with a transaction id (idle in
// transaction after writing something unrelated, or holding a snapshot), in
// another database of the cluster and in this one as other roles, do not
// stop the sync feed or audit sealing: a household registered after they
// began is served, and its events are sealed, while they stay open.
func TestUnrelatedOpenTransactionsDoNotHoldSyncOrSealing(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	if d.SuperURL == "" {
		t.Fatal("no superuser URL (ANSINH_DATABASE_SUPERUSER_URL)")
	}
	a := apptest.NewOn(t, apptest.Config(t, d.AppURL))
	h := a.Handler()
	token := apptest.Token(t, a, "hz-worker", "commune_worker", "30791")
	before := register(t, h, token, "HZ-0001")

	openTx(t, dbtest.WithDatabase(d.OwnerURL, "postgres"), `SELECT pg_current_xact_id()`)
	owner := openTx(t, d.OwnerURL, `CREATE TEMP TABLE scratch (n int)`, `INSERT INTO scratch VALUES (1)`)
	openTx(t, d.SuperURL, `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`, `SELECT count(*) FROM households`,
		`SELECT pg_current_xact_id()`)
	openTx(t, d.AppURL, `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`, `SELECT count(*) FROM households`) // a snapshot

	after := register(t, h, token, "HZ-0002")
	// The app's own background transactions in this database (the access
	// log's flush, the sealer) may hold the horizon for a moment; the open
	// unrelated ones, held for the whole test, must not.
	var got []string
	var cursor string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if got, cursor = feedFrom(t, h, token, ""); slices.Contains(got, after) || time.Now().After(deadline) {
			break
		}
	}
	if !slices.Equal(got, []string{before, after}) {
		t.Fatalf("the feed while unrelated transactions are open: %v, want [%s %s]", got, before, after)
	}
	n := unsealed(t, a, after)
	for deadline := time.Now().Add(10 * time.Second); n != 0 && time.Now().Before(deadline); n = unsealed(t, a, after) {
		time.Sleep(50 * time.Millisecond) // as for the feed: a moment's background transaction, never the open ones
	}
	if n != 0 {
		t.Fatalf("%d events of the household registered after the open transactions began are not sealed", n)
	}
	m := apptest.Get(t, h, "/metrics").Body.String()
	for _, want := range []string{`ansinh_horizon_lag_transactions{table="registry_changes"}`, `ansinh_horizon_lag_transactions{table="audit_events"}`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The owner's transaction, older than the cursor, now locks the feed: the
	// horizon moves back below the cursor, which is still a valid position
	// with nothing new after it (not 410 sync_cursor_expired).
	if _, err := owner.Exec(`LOCK TABLE registry_changes IN ROW EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	if got, _ := feedFrom(t, h, token, cursor); len(got) != 0 {
		t.Fatalf("after the cursor while an older transaction locks the feed: %v", got)
	}
	// The application's own forgotten transactions are ended instead.
	if v := apptest.Scalar[string](t, a.DB(), `SHOW idle_in_transaction_session_timeout`); v != "1min" {
		t.Errorf("idle_in_transaction_session_timeout of the application's sessions: %s, want the configured 1min", v)
	}
}

// A transaction of another role that registered as a writer before its
// first write, wrote elsewhere and then adds feed rows and audit events,
// commits after a later household was registered: until it ends the feed
// serves nothing past it and the sealer seals nothing past it; then both are
// served and sealed in transaction order. Without registering, its late
// insert is refused.
func TestLateCommittingWriterIsNeverSkipped(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	a := apptest.NewOn(t, apptest.Config(t, d.AppURL))
	h := a.Handler()
	token := apptest.Token(t, a, "hz-late", "commune_worker", "30791")
	first := register(t, h, token, "HZ-0101")

	late := openTx(t, d.OwnerURL, `SELECT ansinh_register_writer()`, `CREATE TEMP TABLE scratch (n int)`)
	second := register(t, h, token, "HZ-0102")
	// As above, the app's own background transactions may hold the horizon
	// below first for a moment; the open writer must hold it below second.
	got := feed(t, h, token)
	for deadline := time.Now().Add(10 * time.Second); len(got) == 0 && time.Now().Before(deadline); got = feed(t, h, token) {
		time.Sleep(50 * time.Millisecond)
	}
	if !slices.Equal(got, []string{first}) {
		t.Fatalf("the feed past an open registered writer: %v, want [%s]", got, first)
	}
	if n := unsealed(t, a, second); n == 0 {
		t.Fatal("events past an open registered writer were sealed")
	}
	if _, err := late.Exec(`INSERT INTO registry_changes (household_id, area_path, op)
		SELECT id, area_path, 'upsert' FROM households WHERE id = $1`, first); err != nil {
		t.Fatal(err)
	}
	if _, err := late.Exec(`INSERT INTO audit_events (id, action, entity_type, entity_id, doc)
		VALUES (gen_random_uuid(), 'household.touch', 'household', $1, '{}')`, first); err != nil {
		t.Fatal(err)
	}
	if err := late.Commit(); err != nil {
		t.Fatal(err)
	}
	got = feed(t, h, token)
	for deadline := time.Now().Add(10 * time.Second); len(got) < 2 && time.Now().Before(deadline); got = feed(t, h, token) {
		time.Sleep(50 * time.Millisecond)
	}
	if !slices.Equal(got, []string{first, second}) { // first again: its late change
		t.Fatalf("the feed once the late writer committed: %v, want [%s %s]", got, first, second)
	}
	if n := unsealed(t, a, first) + unsealed(t, a, second); n != 0 {
		t.Fatalf("%d events unsealed once the late writer committed", n)
	}

	unregistered := openTx(t, d.OwnerURL, `CREATE TEMP TABLE scratch2 (n int)`)
	_, err := unregistered.Exec(`INSERT INTO registry_changes (household_id, area_path, op)
		SELECT id, area_path, 'upsert' FROM households WHERE id = $1`, first)
	if err == nil {
		t.Fatal("an unregistered late insert into registry_changes was accepted")
	}
}

// The application's role is ansinh_app or a member of it (README): a member
// is exempt from the writer guard as ansinh_app is, while a superuser, a
// member of every role to pg_has_role, is not the application.
func TestApplicationRoleIncludesItsMembers(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	if d.SuperURL == "" {
		t.Fatal("no superuser URL (ANSINH_DATABASE_SUPERUSER_URL)")
	}
	super, err := sql.Open("pgx", d.SuperURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { super.Close() })
	member := "hz_member_" + strings.ReplaceAll(strings.ToLower(t.Name()), "/", "_")[:20]
	_, _ = super.Exec(`DROP ROLE IF EXISTS ` + member)
	if _, err := super.Exec(`CREATE ROLE ` + member + ` NOLOGIN IN ROLE ansinh_app`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = super.Exec(`DROP ROLE IF EXISTS ` + member) })
	for role, want := range map[string]bool{"ansinh_app": true, member: true} {
		var got bool
		if err := super.QueryRow(`SELECT ansinh_app_role(oid) FROM pg_roles WHERE rolname = $1`, role).Scan(&got); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
		if got != want {
			t.Errorf("ansinh_app_role(%s) = %v, want %v", role, got, want)
		}
	}
	var got bool
	if err := super.QueryRow(`SELECT ansinh_app_role(oid) FROM pg_roles WHERE rolname = current_user`).Scan(&got); err != nil || got {
		t.Errorf("ansinh_app_role(a superuser) = %v, %v; want false", got, err)
	}
}
