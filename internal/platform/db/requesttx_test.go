package db_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// In a request's transaction each WithTx (WithTxOnce, WithTxOptions) joins it
// in a savepoint: a failed one undoes its own work only, even one that left
// the transaction aborted by a failed statement, and the rest commits
// together; hooks run after the commit or the rollback, the failed
// savepoint's rollback hooks at once.
func TestRequestTxJoinsInSavepoints(t *testing.T) {
	t.Parallel()
	pool, _ := setup(t)
	ctx := context.Background()
	var events []string
	err := pool.WithRequestTx(ctx, func(ctx context.Context) error {
		if err := pool.WithTx(ctx, func(ctx context.Context) error {
			db.AfterCommit(ctx, func() { events = append(events, "commit 1") })
			db.OnRollback(ctx, func() { events = append(events, "rollback 1") })
			return pool.Conn(ctx).Exec(`INSERT INTO thing (id, name) VALUES (1, 'kept')`).Error
		}); err != nil {
			return err
		}
		err := pool.WithTxOnce(ctx, func(ctx context.Context) error {
			db.AfterCommit(ctx, func() { events = append(events, "commit 2") })
			db.OnRollback(ctx, func() { events = append(events, "rollback 2") })
			if err := pool.Conn(ctx).Exec(`INSERT INTO thing (id, name) VALUES (2, 'undone')`).Error; err != nil {
				return err
			}
			return pool.Conn(ctx).Exec(`INSERT INTO thing (id, name) VALUES (1, 'duplicate')`).Error // aborts
		})
		if !apperr.Is(err, apperr.Conflict) {
			t.Errorf("the failed savepoint: %v", err)
		}
		events = append(events, "after savepoint")
		return pool.WithTxOptions(ctx, nil, func(ctx context.Context) error {
			return pool.Conn(ctx).Exec(`INSERT INTO thing (id, name) VALUES (3, 'kept')`).Error
		})
	})
	if err != nil || count(t, pool) != 2 {
		t.Fatalf("request tx: %v, rows %d", err, count(t, pool))
	}
	if want := "[rollback 2 after savepoint commit 1]"; fmtList(events) != want {
		t.Fatalf("hooks ran %s, want %s", fmtList(events), want)
	}

	events = nil
	boom := errors.New("boom")
	err = pool.WithRequestTx(ctx, func(ctx context.Context) error {
		if err := pool.WithTx(ctx, func(ctx context.Context) error {
			db.AfterCommit(ctx, func() { events = append(events, "commit") })
			db.OnRollback(ctx, func() { events = append(events, "rollback") })
			return pool.Conn(ctx).Exec(`INSERT INTO thing (id, name) VALUES (4, 'undone')`).Error
		}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || count(t, pool) != 2 || fmtList(events) != "[rollback]" {
		t.Fatalf("a failed request undoes its savepoints: %v, rows %d, hooks %s", err, count(t, pool), fmtList(events))
	}

	events = nil
	db.AfterCommit(ctx, func() { events = append(events, "no tx") })
	db.OnRollback(ctx, func() { events = append(events, "never") })
	if fmtList(events) != "[no tx]" {
		t.Fatalf("hooks without a transaction: %s", fmtList(events))
	}
}

func fmtList(xs []string) string {
	out := "["
	for i, x := range xs {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out + "]"
}
