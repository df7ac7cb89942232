package db_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// limited is the test pool reopened with bounds per kind of work.
func limited(t *testing.T, url string, limits map[db.Kind]db.Limits) *db.DB {
	t.Helper()
	pool, err := db.Open(db.Options{URL: url, MaxOpenConns: 5, Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	return pool
}

func isTimeout(err error) bool {
	e, ok := apperr.As(err)
	return ok && e.Kind == apperr.Unavailable && e.Code == "timeout"
}

// Each kind's transactions run with its bounds; a statement past the
// report's statement_timeout (57014) and a lock wait past the interactive
// lock_timeout (55P03) are Unavailable "timeout", rolled back.
func TestTransactionsTakeTheirKindsBounds(t *testing.T) {
	t.Parallel()
	_, d := setup(t)
	pool := limited(t, d.AppURL, map[db.Kind]db.Limits{
		db.Interactive: {Statement: 20 * time.Second, Lock: 200 * time.Millisecond},
		db.Report:      {Statement: 200 * time.Millisecond, Lock: time.Minute},
	})
	ctx := context.Background()
	show := func(ctx context.Context) (st, lock string) {
		err := pool.ReadTx(ctx, func(ctx context.Context, _ bool) error {
			return pool.Conn(ctx).Raw(`SELECT current_setting('statement_timeout'), current_setting('lock_timeout')`).Row().Scan(&st, &lock)
		})
		if err != nil {
			t.Fatal(err)
		}
		return st, lock
	}
	if st, lock := show(ctx); st != "20s" || lock != "200ms" {
		t.Errorf("interactive: statement_timeout %s, lock_timeout %s", st, lock)
	}
	if st, lock := show(db.WithKind(ctx, db.Report)); st != "200ms" || lock != "1min" {
		t.Errorf("report: statement_timeout %s, lock_timeout %s", st, lock)
	}
	if st, lock := show(db.WithKind(ctx, db.Job)); st != "0" || lock != "0" {
		t.Errorf("a kind without bounds: statement_timeout %s, lock_timeout %s", st, lock)
	}

	err := pool.WithTx(db.WithKind(ctx, db.Report), func(ctx context.Context) error {
		return pool.Conn(ctx).Exec(`SELECT pg_sleep(5)`).Error
	})
	if !isTimeout(err) || db.PgCode(err) != "57014" {
		t.Errorf("a report statement past its statement_timeout: %v (%s)", err, db.PgCode(err))
	}

	owner, err := sql.Open("pgx", d.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	tx, err := owner.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	if _, err := tx.Exec(`LOCK TABLE thing IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	err = pool.WithTx(ctx, func(ctx context.Context) error {
		return pool.Conn(ctx).Exec(`INSERT INTO thing (id, name) VALUES (1, 'blocked')`).Error
	})
	if !isTimeout(err) || db.PgCode(err) != "55P03" {
		t.Errorf("a write past the interactive lock_timeout: %v (%s)", err, db.PgCode(err))
	}
	// The deadline of the context bounds the wait too (Job has no bounds here).
	dctx, cancel := context.WithTimeout(db.WithKind(ctx, db.Job), 300*time.Millisecond)
	defer cancel()
	err = pool.WithTx(dctx, func(ctx context.Context) error {
		return pool.Conn(ctx).Exec(`INSERT INTO thing (id, name) VALUES (1, 'blocked')`).Error
	})
	if !isTimeout(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a write past the context's deadline: %v", err)
	}
	_ = tx.Rollback()
	if n := count(t, pool); n != 0 {
		t.Fatalf("a timed-out write committed: %d rows", n)
	}
}
