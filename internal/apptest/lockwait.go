package apptest

import (
	"database/sql"
	"net/http/httptest"
	"testing"
	"time"
)

// WaitForLockWait waits until a session of admin's database waits for a lock
// (nil), or until the request under test answered (its answer: it never
// waited, or its wait ended). pg_locks, unlike pg_stat_activity, shows the
// waits of every role.
func WaitForLockWait(t testing.TB, admin *sql.DB, answered <-chan *httptest.ResponseRecorder) *httptest.ResponseRecorder {
	t.Helper()
	for {
		var n int
		if err := admin.QueryRow(`SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
			WHERE d.datname = current_database() AND NOT l.granted`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return nil
		}
		select {
		case w := <-answered:
			return w
		case <-time.After(20 * time.Millisecond):
		}
	}
}
