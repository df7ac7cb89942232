package web_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// holdLock takes lock in a transaction of another session (the owner role, as
// a migration or a maintenance job would) and returns what releases it. A
// safety release after a while lets a test fail instead of hanging when a
// request waits for the lock unbounded.
func holdLock(t *testing.T, ownerURL, lock string) (release func(), admin *sql.DB) {
	t.Helper()
	admin, err := sql.Open("pgx", ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	tx, err := admin.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(lock); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	release = func() {
		select {
		case <-done:
		default:
			close(done)
			_ = tx.Rollback()
		}
	}
	safety := time.AfterFunc(15*time.Second, release)
	t.Cleanup(func() { safety.Stop(); release() })
	return release, admin
}

// A write blocked by a lock ends at the request's deadline: 503 timeout with
// Retry-After, its transaction rolled back (the household never appears, even
// once the lock is gone), while reads of other tables keep answering.
func TestBlockedWriteAnswers503AtTheDeadlineAndNeverCommits(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	// Lock and statement bounds far away: the request's deadline is what ends the wait.
	a := apptest.NewOn(t, apptest.Config(t, d.AppURL, "ANSINH_HTTP_REQUEST_TIMEOUT", "2s",
		"ANSINH_DATABASE_LOCK_TIMEOUT", "1m", "ANSINH_DATABASE_STATEMENT_TIMEOUT", "1m"))
	h := a.Handler()
	token := apptest.Token(t, a, "dl-worker", "commune_worker", "30791")

	release, admin := holdLock(t, d.OwnerURL, `LOCK TABLE households IN SHARE MODE`)
	answered := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		answered <- apptest.Send(t, h, "POST", "/api/v1/households", token, apptest.HouseholdBody("DL-0001", "30791", ""))
	}()
	w := apptest.WaitForLockWait(t, admin, answered)
	if w == nil {
		if r := apptest.Send(t, h, "GET", "/api/v1/programs", token, nil); r.Code != 200 {
			t.Errorf("a read of another table while the write waits: %d %s", r.Code, r.Body.String())
		}
		w = <-answered
	}
	if w.Code != 503 || w.Header().Get("Retry-After") == "" || apptest.ProblemCode(t, w) != "timeout" {
		t.Fatalf("blocked write: %d Retry-After=%q %s", w.Code, w.Header().Get("Retry-After"), w.Body.String())
	}
	release()
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM households WHERE code = 'DL-0001'`); n != 0 {
		t.Fatalf("the write the client was told failed committed (%d households)", n)
	}
	if r := apptest.Send(t, h, "POST", "/api/v1/households", token, apptest.HouseholdBody("DL-0001", "30791", "")); r.Code != 201 {
		t.Fatalf("the retry once the lock is gone: %d %s", r.Code, r.Body.String())
	}
}

// A report past the report kind's statement_timeout answers 503 timeout with
// Retry-After, although the interactive bounds and the request's deadline are
// far away: the report routes run with the report bounds.
func TestReportPastItsStatementTimeoutAnswers503(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	a := apptest.NewOn(t, apptest.Config(t, d.AppURL, "ANSINH_DATABASE_REPORT_STATEMENT_TIMEOUT", "300ms",
		"ANSINH_DATABASE_REPORT_LOCK_TIMEOUT", "1m", "ANSINH_DATABASE_STATEMENT_TIMEOUT", "1m", "ANSINH_DATABASE_LOCK_TIMEOUT", "1m"))
	h := a.Handler()
	token := apptest.Token(t, a, "dl-auditor", "province_auditor", "91")
	if w := apptest.Send(t, h, "GET", "/api/v1/reports/poverty?area=91", token, nil); w.Code != 200 {
		t.Fatalf("report: %d %s", w.Code, w.Body.String())
	}
	// A report waits for this lock (the poverty report reads the rollup);
	// without its own statement bound it would answer 200 once the lock is
	// released.
	holdLock(t, d.OwnerURL, `LOCK TABLE poverty_rollup IN ACCESS EXCLUSIVE MODE`)
	w := apptest.Send(t, h, "GET", "/api/v1/reports/poverty?area=91", token, nil)
	if w.Code != 503 || w.Header().Get("Retry-After") == "" || apptest.ProblemCode(t, w) != "timeout" {
		t.Fatalf("report past its statement_timeout: %d Retry-After=%q %s", w.Code, w.Header().Get("Retry-After"), w.Body.String())
	}
}

// The server's own deadline is 503 timeout with Retry-After, whatever the
// driver made of it; a client that went away stays 499.
func TestDeadlineIs503AndAClientGoneIs499(t *testing.T) {
	t.Parallel()
	e := web.NewEngine(web.Options{RequestTimeout: 50 * time.Millisecond})
	e.GET("/wait", web.Adapt(nil, func(c *gin.Context) error {
		<-c.Request.Context().Done()
		return errors.New("conn closed") // what a driver says once the deadline closed its connection
	}))
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/wait", nil))
	if w.Code != 503 || w.Header().Get("Retry-After") == "" || apptest.ProblemCode(t, w) != "timeout" {
		t.Fatalf("past the deadline: %d Retry-After=%q %s", w.Code, w.Header().Get("Retry-After"), w.Body.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w = httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/wait", nil).WithContext(ctx))
	if w.Code != 499 {
		t.Fatalf("client gone: %d %s", w.Code, w.Body.String())
	}
}
