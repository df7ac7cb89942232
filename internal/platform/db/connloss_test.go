package db_test

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
	"github.com/jackc/pgx/v5/pgconn"
)

// A request waiting for a lock whose connection is lost (its backend
// terminated, as when the server shuts down or an operator ends it) answers
// 503 database_unavailable with Retry-After, never 500: the client retries.
func TestRequestWhoseConnectionIsLostAnswers503(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	if d.SuperURL == "" {
		t.Fatal("no superuser URL (ANSINH_DATABASE_SUPERUSER_URL): pg_terminate_backend needs it")
	}
	// Bounds far away: only the terminated connection ends the wait.
	a := apptest.NewOn(t, apptest.Config(t, d.AppURL, "ANSINH_HTTP_REQUEST_TIMEOUT", "30s",
		"ANSINH_DATABASE_LOCK_TIMEOUT", "1m", "ANSINH_DATABASE_STATEMENT_TIMEOUT", "1m"))
	h := a.Handler()
	token := apptest.Token(t, a, "cl-worker", "commune_worker", "30791")

	super, holder, answered := blockedRegistration(t, d.SuperURL, h, token, "CL-0001")
	var w *httptest.ResponseRecorder
	for w == nil {
		var pid sql.NullInt64
		err := super.QueryRow(`SELECT max(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND usename = 'ansinh_app'`).Scan(&pid)
		if err != nil {
			t.Fatal(err)
		}
		if pid.Valid {
			if _, err := super.Exec(`SELECT pg_terminate_backend($1)`, pid.Int64); err != nil {
				t.Fatal(err)
			}
			w = <-answered
			break
		}
		select {
		case w = <-answered:
			t.Fatalf("the write answered without waiting for the lock: %d %s", w.Code, w.Body.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	unavailableThenRetried(t, w, holder, h, token, "CL-0001")
}

// blockedRegistration holds households locked in a transaction of a session
// on lockURL and starts registering household code through h, which waits
// for the lock: the session, its transaction and the channel of the answer.
func blockedRegistration(t *testing.T, lockURL string, h http.Handler, token, code string) (*sql.DB, *sql.Tx, <-chan *httptest.ResponseRecorder) {
	t.Helper()
	session, err := sql.Open("pgx", lockURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { session.Close() })
	holder, err := session.Begin()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Rollback() })
	if _, err := holder.Exec(`LOCK TABLE households IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	answered := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		answered <- apptest.Send(t, h, "POST", "/api/v1/households", token, apptest.HouseholdBody(code, "30791", ""))
	}()
	return session, holder, answered
}

// unavailableThenRetried checks the answer of a registration whose connection
// was lost (503 database_unavailable with Retry-After), releases the lock and
// retries: the pool replaces the lost connection, and the retry registers
// the household once.
func unavailableThenRetried(t *testing.T, w *httptest.ResponseRecorder, holder *sql.Tx, h http.Handler, token, code string) {
	t.Helper()
	if w.Code != 503 || w.Header().Get("Retry-After") == "" || apptest.ProblemCode(t, w) != "database_unavailable" {
		t.Fatalf("a request whose connection was lost: %d Retry-After=%q %s", w.Code, w.Header().Get("Retry-After"), w.Body.String())
	}
	if err := holder.Rollback(); err != nil {
		t.Fatal(err)
	}
	if r := apptest.Send(t, h, "POST", "/api/v1/households", token, apptest.HouseholdBody(code, "30791", "")); r.Code != 201 {
		t.Fatalf("the retry: %d %s", r.Code, r.Body.String())
	}
}

// cutProxy forwards TCP connections to a PostgreSQL server; cut drops every
// connection open through it without a word, as a network failure or a
// server killed with its postmaster does (the client reads an unexpected
// EOF, not an error message).
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// through is rawURL with its host replaced by the proxy's address.
func (p *cutProxy) through(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.ln.Addr().String()
	return u.String()
}

// A request waiting for a lock when its connection drops without a message
// (the database server killed with its postmaster, a network cut) answers
// 503 database_unavailable with Retry-After, not 500 internal, and its write
// never commits.
func TestRequestWhoseConnectionDropsAnswers503(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	u, err := url.Parse(d.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	a := apptest.NewOn(t, apptest.Config(t, proxy.through(t, d.AppURL), "ANSINH_HTTP_REQUEST_TIMEOUT", "30s",
		"ANSINH_DATABASE_LOCK_TIMEOUT", "1m", "ANSINH_DATABASE_STATEMENT_TIMEOUT", "1m"))
	h := a.Handler()
	token := apptest.Token(t, a, "cd-worker", "commune_worker", "30791")

	owner, holder, answered := blockedRegistration(t, d.OwnerURL, h, token, "CD-0001")
	w := apptest.WaitForLockWait(t, owner, answered)
	if w != nil {
		t.Fatalf("the write answered without waiting for the lock: %d %s", w.Code, w.Body.String())
	}
	proxy.cut()
	unavailableThenRetried(t, <-answered, holder, h, token, "CD-0001")
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM households WHERE code = 'CD-0001'`); n != 1 {
		t.Fatalf("households CD-0001: %d, want the retry's one", n)
	}
}

// Every way the driver reports a lost or unusable connection, and every
// farewell of the server, is Unavailable database_unavailable (503 with
// Retry-After); other errors are not.
func TestLostConnectionErrorsAreUnavailable(t *testing.T) {
	t.Parallel()
	lost := map[string]error{
		"unexpected EOF":    fmt.Errorf("insert households: %w", io.ErrUnexpectedEOF),
		"EOF":               io.EOF,
		"bad conn":          driver.ErrBadConn,
		"sql conn done":     sql.ErrConnDone,
		"conn closed":       fmt.Errorf("commit: %w", pgconn.ErrConnClosed),
		"reset":             &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET},
		"connection failed": &pgconn.PgError{Code: "08006"},
		"admin shutdown":    &pgconn.PgError{Code: "57P01"},
		"crash shutdown":    &pgconn.PgError{Code: "57P02"},
		"cannot connect":    &pgconn.PgError{Code: "57P03"},
	}
	for name, err := range lost {
		e, ok := apperr.As(db.MapError(err))
		if !ok || e.Kind != apperr.Unavailable || e.Code != "database_unavailable" {
			t.Errorf("%s: mapped to %v", name, db.MapError(err))
		}
	}
	// A session ended for idling in its transaction
	// (idle_in_transaction_session_timeout) is past a bound: 503 timeout.
	if e, ok := apperr.As(db.MapError(&pgconn.PgError{Code: "25P03"})); !ok || e.Kind != apperr.Unavailable || e.Code != "timeout" {
		t.Errorf("idle in transaction timeout: mapped to %v", e)
	}
	for _, err := range []error{errors.New("something else"), &pgconn.PgError{Code: "XX000"}} {
		if apperr.Is(db.MapError(err), apperr.Unavailable) {
			t.Errorf("%v: mapped to Unavailable", err)
		}
	}
}
