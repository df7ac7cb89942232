package db_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

// setup creates a table as the owner role (as a migration would) and returns
// the application role's pool.
func setup(t *testing.T) (*db.DB, dbtest.Database) {
	t.Helper()
	d := dbtest.NewDatabase(t)
	owner, err := sql.Open("pgx", d.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	_, err = owner.Exec(`
		CREATE TABLE thing (id int PRIMARY KEY, name text NOT NULL CHECK (name <> ''), parent int REFERENCES thing(id));
		CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL);
		INSERT INTO counter VALUES (1, 0);`)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := db.Open(db.Options{URL: d.AppURL, MaxOpenConns: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	return pool, d
}

func count(t *testing.T, pool *db.DB) int64 {
	t.Helper()
	var n int64
	if err := pool.Conn(context.Background()).Raw(`SELECT count(*) FROM thing`).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWithTxCommitsAndRollsBack(t *testing.T) {
	t.Parallel()
	pool, _ := setup(t)
	ctx := context.Background()
	err := pool.WithTx(ctx, func(ctx context.Context) error {
		return pool.Conn(ctx).Exec(`INSERT INTO thing (id, name) VALUES (1, 'a')`).Error
	})
	if err != nil || count(t, pool) != 1 {
		t.Fatalf("commit: %v, rows %d", err, count(t, pool))
	}
	boom := errors.New("boom")
	err = pool.WithTx(ctx, func(ctx context.Context) error {
		if err := pool.Conn(ctx).Exec(`INSERT INTO thing (id, name) VALUES (2, 'b')`).Error; err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || count(t, pool) != 1 {
		t.Fatalf("rollback: %v, rows %d", err, count(t, pool))
	}
}

func TestNestedWithTxJoinsTheOuter(t *testing.T) {
	t.Parallel()
	pool, _ := setup(t)
	ctx := context.Background()
	err := pool.WithTx(ctx, func(ctx context.Context) error {
		if !db.InTx(ctx) {
			t.Error("no transaction in ctx")
		}
		if err := pool.WithTx(ctx, func(ctx context.Context) error {
			return pool.Conn(ctx).Exec(`INSERT INTO thing (id, name) VALUES (1, 'inner')`).Error
		}); err != nil {
			return err
		}
		// The outer sees the inner's row before commit: same transaction.
		var n int64
		if err := pool.Conn(ctx).Raw(`SELECT count(*) FROM thing`).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("outer sees %d rows", n)
		}
		return errors.New("outer fails")
	})
	if err == nil || count(t, pool) != 0 {
		t.Fatalf("the inner write must roll back with the outer: %v, rows %d", err, count(t, pool))
	}
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	pool, _ := setup(t)
	ctx := context.Background()
	exec := func(q string) error { return db.MapError(pool.Conn(ctx).Exec(q).Error) }
	if err := exec(`INSERT INTO thing (id, name) VALUES (1, 'a')`); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		q    string
		kind apperr.Kind
		code string
	}{
		{`INSERT INTO thing (id, name) VALUES (1, 'again')`, apperr.Conflict, "duplicate"},
		{`INSERT INTO thing (id, name, parent) VALUES (2, 'b', 99)`, apperr.Invalid, "reference_not_found"},
		{`INSERT INTO thing (id, name) VALUES (3, '')`, apperr.Invalid, "constraint_violated"},
		{`INSERT INTO thing (id) VALUES (4)`, apperr.Invalid, "constraint_violated"},
		{`INSERT INTO thing (id, name) VALUES (99999999999, 'x')`, apperr.Invalid, "invalid_value"},
	}
	for _, tc := range cases {
		err := exec(tc.q)
		e, ok := apperr.As(err)
		if !ok || e.Kind != tc.kind || e.Code != tc.code {
			t.Errorf("%s: got %v, want %v/%s", tc.q, err, tc.kind, tc.code)
		}
	}
	var out struct{ ID int }
	err := db.MapError(pool.Conn(ctx).Table("thing").Where("id = ?", 42).First(&out).Error)
	if !apperr.Is(err, apperr.NotFound) {
		t.Errorf("missing row: got %v", err)
	}
}

// Two transactions that each read then write the same row at SERIALIZABLE:
// one fails with a serialization error and WithTx re-runs it, so both
// increments land.
func TestSerializationFailureIsRetried(t *testing.T) {
	t.Parallel()
	pool, _ := setup(t)
	ctx := context.Background()
	var attempts atomic.Int32
	ready := make(chan struct{})
	var wg sync.WaitGroup
	var once sync.Once
	var barrier sync.WaitGroup
	barrier.Add(2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = pool.WithTxOptions(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable}, func(ctx context.Context) error {
				n := attempts.Add(1)
				var cur int
				if err := pool.Conn(ctx).Raw(`SELECT n FROM counter WHERE id = 1`).Scan(&cur).Error; err != nil {
					return err
				}
				if n <= 2 { // both first attempts read before either writes
					barrier.Done()
					once.Do(func() { go func() { barrier.Wait(); close(ready) }() })
					<-ready
				}
				return pool.Conn(ctx).Exec(`UPDATE counter SET n = ? WHERE id = 1`, cur+1).Error
			})
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("both must succeed after a retry: %v / %v", errs[0], errs[1])
	}
	var n int
	if err := pool.Conn(ctx).Raw(`SELECT n FROM counter WHERE id = 1`).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n != 2 || attempts.Load() < 3 {
		t.Fatalf("counter %d after %d attempts; want 2 after at least 3", n, attempts.Load())
	}
}

func TestApplicationRoleCannotChangeSchemaOrDelete(t *testing.T) {
	t.Parallel()
	pool, _ := setup(t)
	ctx := context.Background()
	if err := pool.Conn(ctx).Exec(`INSERT INTO thing (id, name) VALUES (1, 'a')`).Error; err != nil {
		t.Fatalf("the app role may insert: %v", err)
	}
	if err := pool.Conn(ctx).Exec(`UPDATE thing SET name = 'b' WHERE id = 1`).Error; err != nil {
		t.Fatalf("the app role may update: %v", err)
	}
	for _, q := range []string{
		`DELETE FROM thing WHERE id = 1`,
		`TRUNCATE thing`,
		`CREATE TABLE sneaky (id int)`,
		`DROP TABLE thing`,
	} {
		err := pool.Conn(ctx).Exec(q).Error
		if code := db.PgCode(err); code != "42501" { // insufficient_privilege (or must be owner)
			t.Errorf("%s: want insufficient privilege, got %v", q, err)
		}
	}
}

func TestAccentFoldingFunctions(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	cases := map[string]string{
		"Đông Hưng A":    "Dong Hung A",
		"Vĩnh Phú":       "Vinh Phu",
		"Nguyễn Thị Ánh": "Nguyen Thi Anh",
		"đường Trần Phú": "duong Tran Phu",
	}
	for in, want := range cases {
		var got, key string
		if err := pool.Conn(ctx).Raw(`SELECT f_unaccent(?), f_search_key(?)`, in, in).Row().Scan(&got, &key); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("f_unaccent(%q) = %q, want %q", in, got, want)
		}
		if key != toLower(want) {
			t.Errorf("f_search_key(%q) = %q", in, key)
		}
	}
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func TestFoldingIsIndexable(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	owner, err := sql.Open("pgx", d.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	// Expression indexes require IMMUTABLE functions: this fails otherwise.
	if _, err := owner.Exec(`
		CREATE TABLE person (name text);
		CREATE INDEX person_name_trgm ON person USING gin (f_search_key(name) gin_trgm_ops);
		INSERT INTO person VALUES ('Lê Văn Đạt'), ('Trần Thị Bích');`); err != nil {
		t.Fatalf("index on f_search_key: %v", err)
	}
	var n int
	if err := owner.QueryRow(`SELECT count(*) FROM person WHERE f_search_key(name) % f_search_key('le van dat')`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("trigram search without diacritics: n=%d err=%v", n, err)
	}
}

func TestExtensionsInstalled(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	var names []string
	if err := pool.Conn(context.Background()).Raw(`SELECT extname FROM pg_extension ORDER BY extname`).Scan(&names).Error; err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"ltree": true, "unaccent": true, "pg_trgm": true, "pgcrypto": true, "btree_gist": true}
	for _, n := range names {
		delete(want, n)
	}
	if len(want) > 0 {
		t.Fatalf("missing extensions: %v (have %v)", want, names)
	}
}

func TestSchemaCheck(t *testing.T) {
	t.Parallel()
	pool, d := setup(t)
	ctx := context.Background()
	if err := pool.CheckSchema(ctx); err != nil {
		t.Fatalf("a migrated database passes: %v", err)
	}
	owner, _ := sql.Open("pgx", d.OwnerURL)
	defer owner.Close()
	if _, err := owner.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)`); err != nil {
		t.Fatal(err)
	}
	if err := pool.CheckSchema(ctx); err == nil {
		t.Fatal("a schema newer than the binary must fail the check")
	}
}

// Two parallel tests each get their own database: rows written in one are
// invisible to the other.
func TestTemplateIsolation(t *testing.T) {
	for _, id := range []int{1, 2} {
		t.Run("writer", func(t *testing.T) {
			t.Parallel()
			pool, d := setup(t)
			ctx := context.Background()
			if err := pool.Conn(ctx).Exec(`INSERT INTO thing (id, name) VALUES (?, 'mine')`, id).Error; err != nil {
				t.Fatal(err)
			}
			var ids []int
			if err := pool.Conn(ctx).Raw(`SELECT id FROM thing`).Scan(&ids).Error; err != nil {
				t.Fatal(err)
			}
			if len(ids) != 1 || ids[0] != id {
				t.Fatalf("database %s sees rows %v; want only %d", d.Name, ids, id)
			}
		})
	}
}

// Slow statements are logged with their SQL but never their parameters
// (names and ID lookups are personal data); fast ones are not logged at all.
func TestSlowStatementLogHoldsNoParameters(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	for _, c := range []struct {
		slow   time.Duration
		logged bool
	}{{time.Nanosecond, true}, {time.Hour, false}} {
		var out bytes.Buffer
		pool, err := db.Open(db.Options{URL: d.AppURL, MaxOpenConns: 1, SlowQuery: c.slow, Logger: slog.New(slog.NewTextHandler(&out, nil))})
		if err != nil {
			t.Fatal(err)
		}
		var name string
		if err := pool.Conn(context.Background()).Raw(`SELECT ?::text || ''`, "Nguyễn Bí Mật").Scan(&name).Error; err != nil || name != "Nguyễn Bí Mật" {
			t.Fatalf("query: %q %v", name, err)
		}
		pool.Close()
		log := out.String()
		if strings.Contains(log, "Bí Mật") {
			t.Fatalf("a parameter in the log: %s", log)
		}
		if got := strings.Contains(log, "SELECT $1::text") && strings.Contains(log, "slow SQL statement"); got != c.logged {
			t.Fatalf("threshold %s: logged %v, want %v: %s", c.slow, got, c.logged, log)
		}
	}
	// A long statement is logged on one line, cut, with its length.
	var out bytes.Buffer
	pool, err := db.Open(db.Options{URL: d.AppURL, MaxOpenConns: 1, SlowQuery: time.Nanosecond, Logger: slog.New(slog.NewTextHandler(&out, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	long := "SELECT 1 AS first\n\t\t" + strings.Repeat(", 1 AS another_column_of_a_long_select\n\t\t", 40)
	if err := pool.Conn(context.Background()).Exec(long).Error; err != nil {
		t.Fatal(err)
	}
	if log := out.String(); !strings.Contains(log, "SELECT 1 AS first , 1 AS another_column") || strings.Contains(log, `\n\t`) ||
		!strings.Contains(log, "characters)") || len(log) > 600 {
		t.Fatalf("a long slow statement: %s", log)
	}
}

// uuid.UUID parameters (value, pointer, null, nil pointer) and the array
// literal reach PostgreSQL as the same ids, in uuid and text positions alike.
func TestUUIDParameters(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	pool, err := db.Open(db.Options{URL: d.AppURL, MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx := context.Background()
	a, b := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	var got struct {
		Plain, Ptr, AsText, Null string
		NilPtr                   bool
		InArray                  int
	}
	err = pool.Conn(ctx).Raw(`SELECT ?::uuid::text AS plain, ?::uuid::text AS ptr, ?::text AS as_text,
			coalesce(?::uuid::text, 'null') AS null, ?::uuid IS NULL AS nil_ptr,
			(SELECT count(*) FROM unnest(?::uuid[]) x WHERE x = ANY(ARRAY[?::uuid, ?::uuid])) AS in_array`,
		a, &b, a, uuid.NullUUID{}, (*uuid.UUID)(nil), db.UUIDArray([]uuid.UUID{a, b}), a, b).Scan(&got).Error
	if err != nil {
		t.Fatal(err)
	}
	if got.Plain != a.String() || got.Ptr != b.String() || got.AsText != a.String() || got.Null != "null" || !got.NilPtr || got.InArray != 2 {
		t.Fatalf("got %+v, want %s and %s", got, a, b)
	}
	var back struct{ ID uuid.UUID }
	if err := pool.Conn(ctx).Raw(`SELECT ?::uuid AS id`, a).Scan(&back).Error; err != nil || back.ID != a {
		t.Fatalf("round trip: %v %v", back.ID, err)
	}
	if db.UUIDArray(nil) != "{}" {
		t.Fatalf("empty array: %q", db.UUIDArray(nil))
	}
}
