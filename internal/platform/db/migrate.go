package db

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for goose
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/ansinh/ansinh/migrations"
)

// Migrator runs the embedded goose migrations, as the owner role. A session
// advisory lock lets several migrators (replicas, parallel test packages) race
// safely: one migrates, the others wait and find nothing to do.
type Migrator struct {
	sql      *sql.DB
	provider *goose.Provider
}

// NewMigrator connects to url for migrations.
func NewMigrator(url string, log *slog.Logger) (*Migrator, error) {
	s, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("migrate: open: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate: locker: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithSessionLocker(locker)}
	if log != nil {
		opts = append(opts, goose.WithSlog(log))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, s, migrations.FS, opts...)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return &Migrator{sql: s, provider: p}, nil
}

// Close releases the connection.
func (m *Migrator) Close() error { return m.provider.Close() }

// Up applies every pending migration and returns how many it applied, then
// records whether the previous release can run on each (schema_compat; a
// migration without its compatibility header counts as breaking).
func (m *Migrator) Up(ctx context.Context) (int, error) {
	if _, _, err := MigrationCompat(); err != nil {
		return 0, fmt.Errorf("migrate up: %w", err)
	}
	res, err := m.provider.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate up: %w", err)
	}
	return len(res), m.recordCompat(ctx)
}

// Down rolls back the newest applied migration.
func (m *Migrator) Down(ctx context.Context) (int64, error) {
	res, err := m.provider.Down(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate down: %w", err)
	}
	return res.Source.Version, nil
}

// MigrationState is one migration and whether it is applied.
type MigrationState struct {
	Version int64
	Name    string
	Applied bool
}

// Status lists every known migration, oldest first.
func (m *Migrator) Status(ctx context.Context) ([]MigrationState, error) {
	st, err := m.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate status: %w", err)
	}
	out := make([]MigrationState, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationState{Version: s.Source.Version, Name: s.Source.Path, Applied: s.State == goose.StateApplied})
	}
	return out, nil
}

// EmbeddedVersion is the newest migration embedded in this binary.
func EmbeddedVersion() (int64, error) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, n := range names {
		digits, _, ok := strings.Cut(n, "_")
		v, err := strconv.ParseInt(digits, 10, 64)
		if !ok || err != nil {
			return 0, fmt.Errorf("migration %s: name does not start with a version", n)
		}
		latest = max(latest, v)
	}
	return latest, nil
}

// CheckSchema fails when the database is behind this binary, or ahead of it
// by a migration the previous release cannot run on (see compat.go), so that
// serve never runs against a schema it was not built for; a newer schema
// whose every later version is compatible passes (a rolling deploy). It reads
// the goose table and schema_compat, which the application role may SELECT.
func (d *DB) CheckSchema(ctx context.Context) error {
	want, err := EmbeddedVersion()
	if err != nil {
		return err
	}
	var have sql.NullInt64
	err = d.sql.QueryRowContext(ctx,
		`SELECT max(version_id) FROM goose_db_version WHERE is_applied AND version_id > 0`).Scan(&have)
	if err != nil {
		if PgCode(err) == "42P01" { // undefined_table
			return fmt.Errorf("the database has no schema yet: run `ansinh migrate up`")
		}
		return fmt.Errorf("schema check: %w", MapError(err))
	}
	switch {
	case have.Int64 < want:
		return fmt.Errorf("the database schema is at version %d but this binary needs %d: run `ansinh migrate up`", have.Int64, want)
	case have.Int64 > want:
		breaking, err := d.newerVersionsCompatible(ctx, want)
		if err != nil {
			return fmt.Errorf("schema check: %w", MapError(err))
		}
		if breaking != 0 {
			return fmt.Errorf("the database schema is at version %d, newer than this binary's %d, and migration %d is not "+
				"compatible with the previous release (no `-- compat: previous`): deploy the newer binary", have.Int64, want, breaking)
		}
	}
	return nil
}
