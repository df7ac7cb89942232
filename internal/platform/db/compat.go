package db

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/ansinh/ansinh/migrations"
)

// A migration says whether the previous release can still run on the schema
// it leaves, in a header comment among its first lines:
//
//	-- compat: previous   the previous release runs on it (additive change)
//	-- compat: breaking   it does not: a pod of the previous release refuses it
//
// `migrate up` records each applied version's answer in schema_compat, and
// CheckSchema lets a binary serve a newer schema only when every version
// above its own says previous: so a pod of the old release that restarts in
// the middle of a rolling deploy keeps serving instead of crash-looping.

// landedCompat answers for the migrations that landed before the header rule
// (landed files are never edited), judged from their statements: 1 has no
// predecessor; the others add tables, nullable or defaulted columns, columns
// filled by triggers, a widened check, grants and revokes on new tables.
var landedCompat = map[int64]bool{
	1: false, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true, 10: true, 11: true, 12: true,
	13: true, 14: true,
}

// compatHeaderLines is how far into a file the header is looked for.
const compatHeaderLines = 20

// MigrationCompat is each embedded migration's answer: true when the
// previous release can run on it. A migration that declares nothing is taken
// as breaking (and listed in undeclared: TestEveryMigrationDeclaresItsCompat
// fails on it, so that its author says).
func MigrationCompat() (compat map[int64]bool, undeclared []string, err error) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return nil, nil, err
	}
	out := map[int64]bool{}
	for _, n := range names {
		digits, _, _ := strings.Cut(n, "_")
		v, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("migration %s: name does not start with a version", n)
		}
		b, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			return nil, nil, err
		}
		compat, declared, err := compatHeader(b)
		if err != nil {
			return nil, nil, fmt.Errorf("migration %s: %w", n, err)
		}
		if landed, ok := landedCompat[v]; ok && !declared {
			compat, declared = landed, true
		}
		if !declared {
			undeclared = append(undeclared, n)
		}
		out[v] = compat
	}
	return out, undeclared, nil
}

// compatHeader reads the `-- compat:` line of a migration's first lines.
func compatHeader(b []byte) (compat, declared bool, err error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for i := 0; i < compatHeaderLines && sc.Scan(); i++ {
		rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "-- compat:")
		if !ok {
			continue
		}
		switch strings.TrimSpace(rest) {
		case "previous":
			return true, true, nil
		case "breaking":
			return false, true, nil
		}
		return false, false, fmt.Errorf("compat header %q: want previous or breaking", strings.TrimSpace(rest))
	}
	return false, false, sc.Err()
}

// recordCompat writes every applied migration's answer to schema_compat.
func (m *Migrator) recordCompat(ctx context.Context) error {
	compat, _, err := MigrationCompat()
	if err != nil {
		return err
	}
	st, err := m.Status(ctx)
	if err != nil {
		return err
	}
	var versions []int64
	var flags []bool
	for _, s := range st {
		if s.Applied {
			versions, flags = append(versions, s.Version), append(flags, compat[s.Version])
		}
	}
	_, err = m.sql.ExecContext(ctx, `INSERT INTO schema_compat (version, compatible)
		SELECT * FROM unnest($1::bigint[], $2::boolean[])
		ON CONFLICT (version) DO UPDATE SET compatible = EXCLUDED.compatible`, versions, flags)
	if err != nil {
		return fmt.Errorf("migrate: recording compatibility: %w", err)
	}
	return nil
}

// newerVersionsCompatible reports whether every applied version above want
// was recorded as compatible with its predecessor: the first that is not
// (0 when all are).
func (d *DB) newerVersionsCompatible(ctx context.Context, want int64) (int64, error) {
	var breaking int64
	err := d.sql.QueryRowContext(ctx, `SELECT coalesce(min(g.version_id), 0) FROM goose_db_version g
		LEFT JOIN schema_compat c ON c.version = g.version_id
		WHERE g.is_applied AND g.version_id > $1 AND NOT coalesce(c.compatible, false)`, want).Scan(&breaking)
	if PgCode(err) == "42P01" { // no schema_compat: written by a release before the rule
		return want + 1, nil
	}
	return breaking, err
}
