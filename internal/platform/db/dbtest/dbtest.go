// Package dbtest gives each test its own real PostgreSQL database, cloned from
// a template that is migrated once per migration set. Clones are cheap
// (CREATE DATABASE ... TEMPLATE), so tests run in parallel, across packages
// too, without seeing each other's rows.
//
// The URLs come from the environment (DATABASE_URL for the application role,
// ANSINH_DATABASE_MIGRATE_URL for the owner role that may create databases,
// ANSINH_DATABASE_SUPERUSER_URL when a test must act as a superuser), or from
// .data/database.env, which scripts/db.sh writes (make test runs it).
package dbtest

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/migrations"
)

// Database is one test's database.
type Database struct {
	Name     string
	AppURL   string // as the application role, like serve
	OwnerURL string // as the owner role, like migrations
	SuperURL string // as a superuser; empty when none is configured
}

// URLs are the configured connection URLs, and the tablespace test databases
// are made in ("" for the default; scripts/db.sh makes one in memory).
type URLs struct{ App, Owner, Super, Tablespace string }

// LoadURLs reads the URLs from the environment, else from .data/database.env
// at the repository root.
func LoadURLs() (URLs, error) {
	u := URLs{
		App:   os.Getenv("DATABASE_URL"),
		Owner: os.Getenv("ANSINH_DATABASE_MIGRATE_URL"),
		Super: os.Getenv("ANSINH_DATABASE_SUPERUSER_URL"),

		Tablespace: os.Getenv("ANSINH_TEST_TABLESPACE"),
	}
	if u.App == "" {
		file, err := envFile()
		if err != nil {
			return u, err
		}
		vals, err := readEnvFile(file)
		if err != nil {
			return u, err
		}
		u = URLs{App: vals["DATABASE_URL"], Owner: vals["ANSINH_DATABASE_MIGRATE_URL"], Super: vals["ANSINH_DATABASE_SUPERUSER_URL"],
			Tablespace: vals["ANSINH_TEST_TABLESPACE"]}
	}
	if u.App == "" {
		return u, fmt.Errorf("no DATABASE_URL: run the tests with `make test`, or `scripts/db.sh up` first")
	}
	if u.Owner == "" {
		u.Owner = u.App
	}
	return u, nil
}

func envFile() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, ".data", "database.env"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: run the tests with `make test`, or `scripts/db.sh up` first", err)
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			vals[k] = v
		}
	}
	return vals, sc.Err()
}

// WithDatabase returns rawURL pointing at database name.
func WithDatabase(rawURL, name string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	u.Path = "/" + name
	return u.String()
}

// The template is per process: built (or found) once, then cloned per test.
var template struct {
	once sync.Once
	name string
	urls URLs
	err  error
}

// migrationsHash names the template after the migration files, so that a
// changed migration set gets a new template and never reuses a stale one.
func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16], err
}

// templateLockKey serialises template builds across test processes.
const templateLockKey = 7_260_115_301

func ensureTemplate() (string, URLs, error) {
	template.once.Do(func() {
		template.urls, template.err = LoadURLs()
		if template.err != nil {
			return
		}
		template.name, template.err = buildTemplate(template.urls)
	})
	return template.name, template.urls, template.err
}

func buildTemplate(urls URLs) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	hash, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "ansinh_tmpl_" + hash
	admin, err := sql.Open("pgx", urls.Owner)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("dbtest: connect as owner: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, templateLockKey); err != nil {
		return "", fmt.Errorf("dbtest: lock: %w", err)
	}
	defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, templateLockKey) //nolint:errcheck

	var exists bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	// Build under a temporary name and rename when complete, so that a build
	// that dies half-way is never mistaken for a template.
	building := name + "_build"
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, building)); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %q`, building)+urls.tablespaceClause()); err != nil {
		return "", fmt.Errorf("dbtest: create template (the owner role needs CREATEDB): %w", err)
	}
	m, err := db.NewMigrator(WithDatabase(urls.Owner, building), nil)
	if err != nil {
		return "", err
	}
	_, err = m.Up(ctx)
	m.Close()
	if err != nil {
		return "", fmt.Errorf("dbtest: migrate template: %w", err)
	}
	for _, stmt := range []string{
		fmt.Sprintf(`ALTER DATABASE %q RENAME TO %q`, building, name),
		// Nobody may connect to a template while it is being cloned.
		fmt.Sprintf(`ALTER DATABASE %q WITH ALLOW_CONNECTIONS false`, name),
	} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return "", fmt.Errorf("dbtest: %s: %w", stmt, err)
		}
	}
	return name, nil
}

func (u URLs) tablespaceClause() string {
	if u.Tablespace == "" {
		return ""
	}
	return fmt.Sprintf(` TABLESPACE %q`, u.Tablespace)
}

// NewDatabase creates a migrated database for this test and drops it when the
// test ends. It fails the test (never skips it) when PostgreSQL is missing.
func NewDatabase(t testing.TB) Database {
	t.Helper()
	tmpl, urls, err := ensureTemplate()
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	name := "ansinh_t_" + hex.EncodeToString(rnd[:])
	admin, err := sql.Open("pgx", urls.Owner)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	ctx := context.Background()
	// FILE_COPY copies the template's files instead of writing every block
	// through shared buffers and the WAL (PostgreSQL 15's default): a third
	// of the CPU per clone, which is most of what a test database costs.
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %q TEMPLATE %q STRATEGY FILE_COPY`, name, tmpl)+urls.tablespaceClause()); err != nil {
		admin.Close()
		t.Fatalf("dbtest: clone template: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if err := dropDatabase(admin, name); err != nil {
			t.Errorf("dbtest: drop %s: %v", name, err)
		}
	})
	d := Database{Name: name, AppURL: WithDatabase(urls.App, name), OwnerURL: WithDatabase(urls.Owner, name)}
	if urls.Super != "" {
		d.SuperURL = WithDatabase(urls.Super, name)
	}
	return d
}

// dropDatabase drops a test database. A closed pool's server sessions may
// linger for a moment; FORCE ends them when the owner may signal the
// application role's backends, else the drop is retried until they are gone.
func dropDatabase(admin *sql.DB, name string) error {
	ctx := context.Background()
	_, err := admin.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, name))
	if db.PgCode(err) != "42501" { // insufficient_privilege to terminate
		return err
	}
	for range 100 {
		_, err = admin.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %q`, name))
		if db.PgCode(err) != "55006" { // object_in_use
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

// New returns a pool connected as the application role to a fresh database,
// closed when the test ends.
func New(t testing.TB) *db.DB {
	t.Helper()
	d := NewDatabase(t)
	pool, err := db.Open(db.Options{URL: d.AppURL, MaxOpenConns: 10, MaxIdleConns: 2})
	if err != nil {
		t.Fatalf("dbtest: open: %v", err)
	}
	// Registered after NewDatabase's cleanup, so it runs first: close, then drop.
	t.Cleanup(func() { pool.Close() })
	return pool
}

// WaitNoOtherTransaction waits (up to 30 s) until no other session on the
// pool's database is inside a transaction: the backend of a client killed
// with SIGKILL holds its locks until the server notices the connection is
// gone, and a test that goes on at once would see them held.
func WaitNoOtherTransaction(t testing.TB, pool *db.DB) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		var n int
		if err := pool.SQL().QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND pid <> pg_backend_pid() AND xact_start IS NOT NULL`).Scan(&n); err != nil {
			t.Fatalf("dbtest: sessions: %v", err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("dbtest: %d other sessions still in a transaction after 30 s", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
