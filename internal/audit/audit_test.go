package audit_test

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
	"github.com/ansinh/ansinh/internal/platform/reqinfo"
)

var testKey = ed25519.NewKeyFromSeed([]byte("ansinh-audit-test-key-0123456789"))

type env struct {
	pool  *db.DB
	d     dbtest.Database
	owner *sql.DB
}

// newEnv gives a fresh database with a "thing" table standing in for a
// domain table (created by the owner role, written by the application role).
func newEnv(t testing.TB) env {
	t.Helper()
	d := dbtest.NewDatabase(t)
	owner, err := sql.Open("pgx", d.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Close() })
	if _, err := owner.Exec(`CREATE TABLE thing (id uuid PRIMARY KEY, name text NOT NULL, area_path ltree NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	pool, err := db.Open(db.Options{URL: d.AppURL, MaxOpenConns: 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	return env{pool: pool, d: d, owner: owner}
}

func (e env) super(t testing.TB) *sql.DB {
	t.Helper()
	if e.d.SuperURL == "" {
		t.Fatal("this test needs ANSINH_DATABASE_SUPERUSER_URL (scripts/db.sh writes it for the private cluster)")
	}
	s, err := sql.Open("pgx", e.d.SuperURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var worker = access.Actor{
	Kind: access.KindUser, UserID: uuid.MustParse("01900000-0000-7000-8000-000000000001"), Username: "demo-worker",
	Assignments: []access.Assignment{{Role: "commune_worker", AreaCode: "30791", AreaPath: "91.914.30791"}},
}

func actorCtx() context.Context {
	ctx := access.WithActor(context.Background(), worker)
	return reqinfo.With(ctx, reqinfo.Info{RequestID: "req-1", ClientIP: "10.1.2.3", UserAgent: "ansinh-mobile/1.0"})
}

// createThing is a domain write with its audit event, as services will do it.
func createThing(ctx context.Context, pool *db.DB, name string, fail bool) (uuid.UUID, error) {
	id := uuid.Must(uuid.NewV7())
	err := pool.WithTx(ctx, func(ctx context.Context) error {
		tx := pool.Conn(ctx)
		if err := tx.Exec(`INSERT INTO thing (id, name, area_path) VALUES (?, ?, '91.914.30791')`, id, name).Error; err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Event{
			Action: "thing.create", EntityType: "thing", EntityID: id.String(), AreaPath: "91.914.30791",
			After: map[string]any{"name": name},
		}); err != nil {
			return err
		}
		if fail {
			return errors.New("the change fails after its event was written")
		}
		return nil
	})
	return id, err
}

func countRows(t testing.TB, pool *db.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.Conn(context.Background()).Raw(q, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestChangeAndEventCommitOrRollBackTogether(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := actorCtx()
	id, err := createThing(ctx, e.pool, "Nguyễn Văn A", false)
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		ActorName, ActorKind, Action, EntityID, AreaPath, RequestID, ClientIP, UserAgent, After, ActorRoles string
	}
	err = e.pool.Conn(ctx).Raw(`SELECT doc->'actor'->>'name' AS actor_name, doc->'actor'->>'kind' AS actor_kind, action,
		entity_id, area_path::text AS area_path, doc->>'request_id' AS request_id, doc->>'client_ip' AS client_ip,
		doc->>'user_agent' AS user_agent, doc->>'after' AS after, doc->'actor'->>'roles' AS actor_roles,
		actor_id FROM audit_events`).Scan(&ev).Error
	if err != nil {
		t.Fatal(err)
	}
	if ev.ActorName != "demo-worker" || ev.Action != "thing.create" || ev.EntityID != id.String() ||
		ev.AreaPath != "91.914.30791" || ev.RequestID != "req-1" || ev.ClientIP != "10.1.2.3" ||
		ev.UserAgent != "ansinh-mobile/1.0" || !strings.Contains(ev.After, "Nguyễn Văn A") ||
		!strings.Contains(ev.ActorRoles, `"commune_worker"`) || ev.ActorKind != "user" {
		t.Fatalf("event not recorded as expected: %+v", ev)
	}
	if n := countRows(t, e.pool, `SELECT count(*) FROM audit_events WHERE actor_id = ?`, worker.UserID); n != 1 {
		t.Fatalf("the actor_id column: %d", n)
	}

	if _, err := createThing(ctx, e.pool, "rolled back", true); err == nil {
		t.Fatal("want the failure")
	}
	if n := countRows(t, e.pool, `SELECT count(*) FROM thing`); n != 1 {
		t.Fatalf("things: %d", n)
	}
	if n := countRows(t, e.pool, `SELECT count(*) FROM audit_events`); n != 1 {
		t.Fatalf("the rolled-back change left %d events", n)
	}
}

// RecordAlong writes the event and the caller's statement in one: both, or
// (when the statement fails) neither, and the event is the same as Record's.
func TestRecordAlongWritesBothOrNeither(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := actorCtx()
	id := uuid.Must(uuid.NewV7())
	along := func(name string) error {
		return e.pool.WithTx(ctx, func(ctx context.Context) error {
			return audit.RecordAlong(ctx, e.pool.Conn(ctx), audit.Event{Action: "thing.create", EntityType: "thing",
				EntityID: id.String(), AreaPath: "91.914.30791", After: map[string]any{"name": name}},
				`INSERT INTO thing (id, name, area_path) VALUES (?, ?, '91.914.30791')`, id, name)
		})
	}
	if err := along("Nguyễn Văn A"); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, e.pool, `SELECT count(*) FROM audit_events WHERE entity_id = ? AND doc->'after'->>'name' = 'Nguyễn Văn A'
		AND doc->>'request_id' = 'req-1' AND actor_id = ?`, id.String(), worker.UserID); n != 1 {
		t.Fatalf("events: %d", n)
	}
	// The same id again: the statement fails, and its event goes with it.
	if err := along("twice"); err == nil || !strings.Contains(err.Error(), "audit: record thing.create") {
		t.Fatalf("want the statement's failure, got %v", err)
	}
	if n := countRows(t, e.pool, `SELECT count(*) FROM audit_events`); n != 1 {
		t.Fatalf("the failed statement left %d events", n)
	}
	if n := countRows(t, e.pool, `SELECT count(*) FROM thing`); n != 1 {
		t.Fatalf("things: %d", n)
	}
}

func TestRecordRefusesMisuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := actorCtx()
	ok := audit.Event{Action: "thing.create", EntityType: "thing", EntityID: "x"}
	if err := audit.Record(ctx, e.pool.Conn(ctx), ok); !errors.Is(err, audit.ErrNotInTransaction) {
		t.Fatalf("outside a transaction: %v", err)
	}
	err := e.pool.WithTx(context.Background(), func(c context.Context) error {
		return audit.Record(c, e.pool.Conn(c), ok)
	})
	if !errors.Is(err, audit.ErrNoActor) {
		t.Fatalf("without an actor: %v", err)
	}
	for _, bad := range []audit.Event{
		{Action: "create", EntityType: "thing", EntityID: "x"},
		{Action: "Thing.Create", EntityType: "thing", EntityID: "x"},
		{Action: "thing.create", EntityType: "Thing", EntityID: "x"},
		{Action: "thing.create", EntityType: "thing", EntityID: ""},
		{Action: "thing.create", EntityType: "thing", EntityID: "x", AreaPath: "91/914"},
	} {
		err := e.pool.WithTx(ctx, func(c context.Context) error { return audit.Record(c, e.pool.Conn(c), bad) })
		if err == nil {
			t.Errorf("%+v must be refused", bad)
		}
	}
	if n := countRows(t, e.pool, `SELECT count(*) FROM audit_events`); n != 0 {
		t.Fatalf("refused events were written: %d", n)
	}
}

func TestApplicationRoleCannotChangeAuditRows(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := actorCtx()
	if _, err := createThing(ctx, e.pool, "a", false); err != nil {
		t.Fatal(err)
	}
	sealAll(t, audit.NewSealer(e.pool, audit.SealerOptions{Key: testKey}), e.pool)
	for _, q := range []string{
		`UPDATE audit_events SET doc = '{}'`,
		`DELETE FROM audit_events`,
		`TRUNCATE audit_events`,
		`UPDATE audit_events_default SET doc = '{}'`,
		// Backdating, or choosing the transaction id, is not the writer's to do.
		`INSERT INTO audit_events (id, occurred_at, action, entity_type, entity_id, doc)
		 VALUES (gen_random_uuid(), '2020-01-01', 'thing.create', 'thing', 'x', '{}')`,
		`INSERT INTO audit_events (id, txid, action, entity_type, entity_id, doc)
		 VALUES (gen_random_uuid(), '5', 'thing.create', 'thing', 'x', '{}')`,
		`UPDATE audit_blocks SET key_id = 'x'`,
		`DELETE FROM audit_blocks`,
		`TRUNCATE audit_blocks`,
		`DELETE FROM audit_access`,
	} {
		err := e.pool.Conn(ctx).Exec(q).Error
		if code := db.PgCode(err); code != "42501" {
			t.Errorf("%s as the application role: want insufficient_privilege (42501), got %v", q, err)
		}
	}
	// Triggers stop the owner too: append-only for everyone.
	for _, q := range []string{
		`UPDATE audit_events SET doc = '{}'`,
		`DELETE FROM audit_events`,
		`TRUNCATE audit_events`,
		`TRUNCATE audit_events_` + time.Now().UTC().Format("200601"),
		`DELETE FROM audit_blocks`,
		`TRUNCATE audit_blocks`,
	} {
		_, err := e.owner.Exec(q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s as the owner: want the append-only trigger to refuse, got %v", q, err)
		}
	}
}

func newSealer(pool *db.DB) *audit.Sealer {
	return audit.NewSealer(pool, audit.SealerOptions{Key: testKey, MaxEvents: 3})
}

// sealAll seals until no committed event is left unsealed. Transaction ids are
// cluster-wide, so another test's open transaction can hold the horizon back
// for a moment; production behaves the same (sealing waits, writing does not).
func sealAll(t testing.TB, s *audit.Sealer, pool *db.DB) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := s.SealPending(context.Background()); err != nil {
			t.Fatal(err)
		}
		if countRows(t, pool, `SELECT count(*) FROM audit_events WHERE txid >= coalesce((SELECT max(to_xid) FROM audit_blocks), '0')`) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("events remain unsealed after 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func verify(t testing.TB, pool *db.DB, cp *audit.Checkpoint, keys ...ed25519.PublicKey) audit.Report {
	t.Helper()
	if len(keys) == 0 {
		keys = []ed25519.PublicKey{testKey.Public().(ed25519.PublicKey)}
	}
	r, err := audit.NewVerifier(pool, keys...).Verify(context.Background(), cp)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func seedSealed(t *testing.T, e env, n int) []uuid.UUID {
	t.Helper()
	ctx := actorCtx()
	var ids []uuid.UUID
	for i := range n {
		if _, err := createThing(ctx, e.pool, "thing "+string(rune('a'+i)), false); err != nil {
			t.Fatal(err)
		}
	}
	sealAll(t, newSealer(e.pool), e.pool)
	ids, err := db.Collect(e.pool.Conn(ctx).Raw(`SELECT id FROM audit_events ORDER BY txid, id`),
		func(row db.Scanner) (uuid.UUID, error) {
			var id uuid.UUID
			return id, row.Scan(&id)
		})
	if err != nil {
		t.Fatal(err)
	}
	r := verify(t, e.pool, nil)
	if !r.OK || r.EventsVerified != int64(n) || r.EventsUnsealed != 0 {
		t.Fatalf("a clean log must verify: %+v", r)
	}
	return ids
}

func TestVerifyPassesAndCountsUnsealed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedSealed(t, e, 7)
	if n := countRows(t, e.pool, `SELECT count(*) FROM audit_blocks`); n != 3 {
		t.Fatalf("7 events in blocks of 3 make 3 blocks, got %d", n)
	}
	if _, err := createThing(actorCtx(), e.pool, "late", false); err != nil {
		t.Fatal(err)
	}
	r := verify(t, e.pool, nil)
	if !r.OK || r.EventsUnsealed != 1 || r.Blocks != 3 || r.Head == nil || r.Head.Seq != 3 {
		t.Fatalf("report: %+v", r)
	}
}

func TestVerifyDetectsAlteredEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := seedSealed(t, e, 5)
	s := e.super(t)
	if _, err := s.Exec(`SET session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	conn, _ := s.Conn(context.Background())
	defer conn.Close()
	conn.ExecContext(context.Background(), `SET session_replication_role = replica`)
	if _, err := conn.ExecContext(context.Background(), `UPDATE audit_events SET doc = replace(doc::text, '"name":"', '"name":"forged ')::json WHERE id = $1`, ids[3]); err != nil {
		t.Fatal(err)
	}
	r := verify(t, e.pool, nil)
	if r.OK || r.BadEvent != ids[3].String() || !strings.Contains(r.Problem, "altered") {
		t.Fatalf("an altered event must be named: %+v", r)
	}
}

func TestVerifyDetectsDeletedEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := seedSealed(t, e, 5)
	conn, _ := e.super(t).Conn(context.Background())
	defer conn.Close()
	conn.ExecContext(context.Background(), `SET session_replication_role = replica`)
	if _, err := conn.ExecContext(context.Background(), `DELETE FROM audit_events WHERE id = $1`, ids[1]); err != nil {
		t.Fatal(err)
	}
	r := verify(t, e.pool, nil)
	if r.OK || r.BadEvent != ids[1].String() || !strings.Contains(r.Problem, "deleted") {
		t.Fatalf("a deleted event must be named: %+v", r)
	}
}

func TestVerifyDetectsSwappedBlocks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedSealed(t, e, 7)
	conn, _ := e.super(t).Conn(context.Background())
	defer conn.Close()
	ctx := context.Background()
	conn.ExecContext(ctx, `SET session_replication_role = replica`)
	for _, q := range []string{
		`UPDATE audit_blocks SET seq = 1000 WHERE seq = 1`,
		`UPDATE audit_blocks SET seq = 1 WHERE seq = 2`,
		`UPDATE audit_blocks SET seq = 2 WHERE seq = 1000`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	r := verify(t, e.pool, nil)
	if r.OK || r.BadBlock != 1 || !strings.Contains(r.Problem, "reordered") {
		t.Fatalf("swapped blocks must be named: %+v", r)
	}
}

func TestVerifyRejectsAnotherKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedSealed(t, e, 2)
	other := ed25519.NewKeyFromSeed([]byte("another-key-another-key-another!"))
	r := verify(t, e.pool, nil, other.Public().(ed25519.PublicKey))
	if r.OK || r.BadBlock != 1 || !strings.Contains(r.Problem, "not trusted") {
		t.Fatalf("a block signed by an untrusted key must fail: %+v", r)
	}
	// A forger who re-signs with their own key under the trusted key's id fails too.
	conn, err := e.super(t).Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, `SET session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	var hash []byte
	if err := conn.QueryRowContext(ctx, `SELECT block_hash FROM audit_blocks WHERE seq = 1`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `UPDATE audit_blocks SET signature = $1 WHERE seq = 1`, ed25519.Sign(other, hash)); err != nil {
		t.Fatal(err)
	}
	r = verify(t, e.pool, nil)
	if r.OK || r.BadBlock != 1 || !strings.Contains(r.Problem, "signature") {
		t.Fatalf("a forged signature must fail: %+v", r)
	}
}

func TestVerifyDetectsInsertedEventAndBlock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedSealed(t, e, 3)
	ctx := context.Background()
	conn, _ := e.super(t).Conn(ctx)
	defer conn.Close()
	// An event slipped into a sealed range (its transaction id rewritten).
	conn.ExecContext(ctx, `SET session_replication_role = replica`)
	_, err := conn.ExecContext(ctx, `INSERT INTO audit_events (id, txid, occurred_at, action, entity_type, entity_id, doc)
		SELECT $1, txid, occurred_at, 'thing.create', 'thing', 'x',
		       '{"actor":{"kind":"system","name":"system:forger","roles":[]},"action":"thing.create","entity_type":"thing","entity_id":"x"}'
		FROM audit_events LIMIT 1`, uuid.Must(uuid.NewV7()))
	if err != nil {
		t.Fatal(err)
	}
	r := verify(t, e.pool, nil)
	if r.OK || !strings.Contains(r.Problem, "inserted") {
		t.Fatalf("an inserted event must be found: %+v", r)
	}
}

func TestCheckpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedSealed(t, e, 4)
	v := audit.NewVerifier(e.pool, testKey.Public().(ed25519.PublicKey))
	cp, err := v.Head(context.Background())
	if err != nil || cp == nil || cp.Seq != 2 {
		t.Fatalf("head: %+v %v", cp, err)
	}
	// The log grows: it still extends the checkpoint.
	if _, err := createThing(actorCtx(), e.pool, "more", false); err != nil {
		t.Fatal(err)
	}
	sealAll(t, newSealer(e.pool), e.pool)
	if r := verify(t, e.pool, cp); !r.OK || r.Head.Seq != 3 {
		t.Fatalf("a grown log extends its checkpoint: %+v", r)
	}
	// A checkpoint the log does not contain (rewritten or truncated history).
	forged := *cp
	forged.BlockHash = strings.Repeat("ab", 32)
	if r := verify(t, e.pool, &forged); r.OK || !strings.Contains(r.Problem, "checkpoint") {
		t.Fatalf("a different head must fail: %+v", r)
	}
	beyond := *cp
	beyond.Seq = 99
	if r := verify(t, e.pool, &beyond); r.OK || !strings.Contains(r.Problem, "missing") {
		t.Fatalf("a checkpoint beyond the log must fail: %+v", r)
	}
	if _, err := audit.ParseCheckpoint([]byte(`{"seq":0}`)); err == nil {
		t.Fatal("a malformed checkpoint must be refused")
	}
}

// Two writers whose commits land out of id order: the one with the smaller id
// commits last, after a sealing pass. Both are sealed, exactly once.
func TestOutOfOrderCommitsAreSealedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := actorCtx()
	sealer := newSealer(e.pool)

	slowWritten := make(chan struct{})
	releaseSlow := make(chan struct{})
	slowDone := make(chan error, 1)
	go func() {
		slowDone <- e.pool.WithTx(ctx, func(c context.Context) error {
			tx := e.pool.Conn(c)
			if err := audit.Record(c, tx, audit.Event{Action: "thing.create", EntityType: "thing", EntityID: "slow", AreaPath: "91"}); err != nil {
				return err
			}
			close(slowWritten)
			<-releaseSlow
			return nil
		})
	}()
	select {
	case <-slowWritten:
	case err := <-slowDone:
		t.Fatalf("the slow writer failed: %v", err)
	}
	// The fast writer starts later (larger id) and commits first.
	if _, err := createThing(ctx, e.pool, "fast", false); err != nil {
		t.Fatal(err)
	}
	if _, err := sealer.SealPending(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, e.pool, `SELECT coalesce(sum(event_count), 0) FROM audit_blocks`); n != 0 {
		t.Fatalf("nothing may be sealed while an older transaction is open; sealed %d", n)
	}
	close(releaseSlow)
	if err := <-slowDone; err != nil {
		t.Fatal(err)
	}
	sealAll(t, sealer, e.pool)
	assertEachEventSealedOnce(t, e.pool, 2)
	if r := verify(t, e.pool, nil); !r.OK || r.EventsUnsealed != 0 {
		t.Fatalf("%+v", r)
	}
}

func assertEachEventSealedOnce(t *testing.T, pool *db.DB, want int64) {
	t.Helper()
	if n := countRows(t, pool, `SELECT count(*) FROM audit_events`); n != want {
		t.Fatalf("events: %d, want %d", n, want)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM (SELECT unnest(event_ids) FROM audit_blocks) s`); n != want {
		t.Fatalf("sealed entries: %d, want %d", n, want)
	}
	if n := countRows(t, pool, `SELECT count(DISTINCT id) FROM (SELECT unnest(event_ids) AS id FROM audit_blocks) s`); n != want {
		t.Fatalf("distinct sealed events: %d, want %d", n, want)
	}
}

// Two sealers (as in two replicas, each with its own pool) run at once while
// writers keep writing: every event ends up in exactly one block.
func TestConcurrentSealersSealEachEventOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other, err := db.Open(db.Options{URL: e.d.AppURL, MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := actorCtx()
	sealers := []*audit.Sealer{newSealer(e.pool), newSealer(other)}

	const writers, perWriter = 4, 15
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, s := range sealers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.SealPending(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var ww sync.WaitGroup
	for range writers {
		ww.Add(1)
		go func() {
			defer ww.Done()
			for range perWriter {
				if _, err := createThing(ctx, e.pool, "w", false); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	ww.Wait()
	close(stop)
	wg.Wait()
	sealAll(t, sealers[1], e.pool)
	assertEachEventSealedOnce(t, e.pool, writers*perWriter)
	if r := verify(t, e.pool, nil); !r.OK || r.EventsUnsealed != 0 {
		t.Fatalf("%+v", r)
	}
}

// A transaction with more events than a block holds stays in one block.
func TestLargeTransactionIsNotSplit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := actorCtx()
	err := e.pool.WithTx(ctx, func(c context.Context) error {
		for i := range 7 {
			if err := audit.Record(c, e.pool.Conn(c), audit.Event{Action: "thing.import", EntityType: "thing", EntityID: string(rune('a' + i))}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	createThing(ctx, e.pool, "after", false)
	sealAll(t, newSealer(e.pool), e.pool)
	if n := countRows(t, e.pool, `SELECT max(event_count) FROM audit_blocks`); n != 7 {
		t.Fatalf("the 7-event transaction must be one block, max block %d", n)
	}
	assertEachEventSealedOnce(t, e.pool, 8)
	if r := verify(t, e.pool, nil); !r.OK {
		t.Fatalf("%+v", r)
	}
}

// The filter columns are sealed too: moving an event to another area (to hide
// it from that area's auditors) is caught.
func TestVerifyDetectsAlteredColumn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := seedSealed(t, e, 3)
	conn, _ := e.super(t).Conn(context.Background())
	defer conn.Close()
	ctx := context.Background()
	conn.ExecContext(ctx, `SET session_replication_role = replica`)
	if _, err := conn.ExecContext(ctx, `UPDATE audit_events SET area_path = '79' WHERE id = $1`, ids[0]); err != nil {
		t.Fatal(err)
	}
	r := verify(t, e.pool, nil)
	if r.OK || r.BadEvent != ids[0].String() || !strings.Contains(r.Problem, "altered") {
		t.Fatalf("a moved event must be named: %+v", r)
	}
}
