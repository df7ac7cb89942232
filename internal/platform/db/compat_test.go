package db_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/ansinh/ansinh/internal/platform/db"
)

// Every migration after the landed ones says in its header whether the
// previous release can still run on it (one that does not counts as breaking).
func TestEveryMigrationDeclaresItsCompat(t *testing.T) {
	t.Parallel()
	_, undeclared, err := db.MigrationCompat()
	if err != nil || len(undeclared) > 0 {
		t.Fatalf("migrations without a `-- compat: previous` or `-- compat: breaking` header: %v (%v)", undeclared, err)
	}
}

// `migrate up` recorded each migration's answer (the test database was
// migrated so).
func TestMigrationCompatIsRecorded(t *testing.T) {
	t.Parallel()
	compat, _, err := db.MigrationCompat()
	if err != nil || len(compat) == 0 {
		t.Fatalf("%v, %v", compat, err)
	}
	pool, _ := setup(t)
	for v, c := range compat {
		var got bool
		if err := pool.SQL().QueryRow(`SELECT compatible FROM schema_compat WHERE version = $1`, v).Scan(&got); err != nil || got != c {
			t.Errorf("version %d: recorded %v (%v), declared %v", v, got, err, c)
		}
	}
}

// A database one version past the binary, by a migration that declares the
// previous release compatible, passes the check (a pod of the old release
// restarting during a rolling deploy keeps serving); past it by a breaking
// one, or by one that declares nothing, it is refused with the reason.
func TestSchemaCheckAcceptsACompatibleNewerSchema(t *testing.T) {
	t.Parallel()
	want, err := db.EmbeddedVersion()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		rows   map[int64]string // version past the binary: its compat row ("" none)
		passes bool
	}{
		{"compatible", map[int64]string{want + 1: "true"}, true},
		{"two compatible", map[int64]string{want + 1: "true", want + 2: "true"}, true},
		{"breaking", map[int64]string{want + 1: "false"}, false},
		{"compatible then breaking", map[int64]string{want + 1: "true", want + 2: "false"}, false},
		{"undeclared", map[int64]string{want + 1: ""}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pool, d := setup(t)
			MigratePast(t, d.OwnerURL, c.rows)
			err := pool.CheckSchema(context.Background())
			if c.passes && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !c.passes && (err == nil || !strings.Contains(err.Error(), "not compatible with the previous release")) {
				t.Fatalf("want a refusal naming the incompatible migration, got %v", err)
			}
		})
	}
}

// MigratePast records versions past the binary as applied, each with its
// compatibility row ("true", "false", or "" for none), as the owner.
func MigratePast(t *testing.T, ownerURL string, rows map[int64]string) {
	t.Helper()
	owner, err := sql.Open("pgx", ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	for v, compat := range rows {
		if _, err := owner.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, v); err != nil {
			t.Fatal(err)
		}
		if compat == "" {
			continue
		}
		if _, err := owner.Exec(`INSERT INTO schema_compat (version, compatible) VALUES ($1, $2)`, v, compat == "true"); err != nil {
			t.Fatal(err)
		}
	}
}
