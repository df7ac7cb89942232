package household_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/config"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

// TestMain doubles as the server that TestIdempotencyKeyAfterServerKilled
// starts and kills: with ANSINH_IDEM_HELPER_DB set it serves the API on a
// loopback port (printed on stdout) until it is killed.
func TestMain(m *testing.M) {
	if u := os.Getenv("ANSINH_IDEM_HELPER_DB"); u != "" {
		os.Exit(serveHelper(u, os.Getenv("ANSINH_IDEM_HELPER_DIR")))
	}
	os.Exit(m.Run())
}

func serveHelper(databaseURL, dir string) int {
	cfg, err := config.Load(config.Source{Environ: map[string]string{"DATABASE_URL": databaseURL, "ANSINH_ENV": "test",
		"ANSINH_ATTACHMENTS_DIR": dir}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	log := slog.New(slog.DiscardHandler)
	pool, err := app.OpenDB(cfg, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	a, err := app.New(cfg, log, pool)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Println(ln.Addr().String())
	if err := a.Serve(context.Background(), ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// lockHouseholds holds LOCK TABLE households IN SHARE MODE (inserts wait)
// until the returned function releases it.
func lockHouseholds(t *testing.T, pool *db.DB) func() {
	t.Helper()
	tx, err := pool.SQL().BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`LOCK TABLE households IN SHARE MODE`); err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	released := false
	release := func() {
		if !released {
			released = true
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(func() {
		if !released {
			released = true
			tx.Rollback()
		}
	})
	return release
}

// waitFor polls a count query until it gives want (a minute at most).
func waitFor(t *testing.T, pool *db.DB, want int, query string, args ...any) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if apptest.Scalar[int](t, pool, query, args...) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %d from %s", want, query)
		}
	}
}

// blockedOnLock counts the backends (other than the test's own) waiting for
// a lock in the test's database.
const blockedOnLock = `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`

func sendHousehold(t *testing.T, h http.Handler, token, key string, body map[string]any) *httptest.ResponseRecorder {
	t.Helper()
	return apptest.SendWith(t, h, "POST", "/api/v1/households", token, body, map[string]string{"Idempotency-Key": key})
}

// The reproduction with a real server process: a household POST with
// an Idempotency-Key waits on a lock, the server is killed (SIGKILL), the lock
// is released, and the retry with the same key goes to a server on the same
// database. The retry must create the household (once) and a second retry
// replay it; before the answer was stored in the write's own transaction the
// key stayed "in progress" and every retry got 409 for 24 hours.
func TestIdempotencyKeyAfterServerKilled(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	a := apptest.NewOn(t, apptest.Config(t, d.AppURL))
	pool := a.DB()
	token := apptest.Token(t, a, "idem-kill", "commune_worker", "30791")
	body := apptest.HouseholdBody("IDEM-KILL-1", "30791", "")

	u, err := url.Parse(d.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", "idem-helper")
	u.RawQuery = q.Encode()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "ANSINH_IDEM_HELPER_DB="+u.String(), "ANSINH_IDEM_HELPER_DIR="+t.TempDir())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the helper server did not start: %v", err)
	}
	addr := line[:len(line)-1]

	release := lockHouseholds(t, pool)
	go func() { // its answer never comes: the server is killed
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/households", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Idempotency-Key", "K1")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, pool, 1, blockedOnLock+` AND application_name = 'idem-helper'`)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	release()
	// The killed server's sessions end (the one that waited, once it has the
	// lock and finds its client gone, without a commit).
	waitFor(t, pool, 0, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'idem-helper'`)

	h := a.Handler()
	w := sendHousehold(t, h, token, "K1", body)
	if w.Code != http.StatusCreated || w.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("the retry after the crash must run the write: %d %s", w.Code, w.Body.String())
	}
	again := sendHousehold(t, h, token, "K1", body)
	if again.Code != http.StatusCreated || again.Header().Get("Idempotent-Replayed") != "true" ||
		again.Body.String() != w.Body.String() || again.Header().Get("ETag") != w.Header().Get("ETag") ||
		again.Header().Get("Location") != w.Header().Get("Location") {
		t.Fatalf("the second retry must replay the first answer: %d %v %s\nfirst: %v %s", again.Code, again.Header(), again.Body.String(), w.Header(), w.Body.String())
	}
	if n := apptest.Scalar[int](t, pool, `SELECT count(*) FROM households WHERE code = 'IDEM-KILL-1'`); n != 1 {
		t.Fatalf("households written: %d", n)
	}
}

// A write and its stored answer are one transaction: the database session
// killed before the commit leaves neither (and the retry runs afresh); once
// committed, the household row and the key's row carry the same transaction
// id (xmin).
func TestIdempotentWriteAndAnswerCommitTogether(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	pool, h := a.DB(), a.Handler()
	token := apptest.Token(t, a, "idem-tx", "commune_worker", "30791")
	body := apptest.HouseholdBody("IDEM-TX-1", "30791", "")

	release := lockHouseholds(t, pool)
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- sendHousehold(t, h, token, "K2", body) }()
	waitFor(t, pool, 1, blockedOnLock)
	apptest.Exec(t, pool, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND wait_event_type = 'Lock'`)
	if w := <-done; w.Code < 500 {
		t.Fatalf("a request whose session died: %d %s", w.Code, w.Body.String())
	}
	release()
	if n := apptest.Scalar[int](t, pool, `SELECT count(*) FROM households WHERE code = 'IDEM-TX-1'`); n != 0 {
		t.Fatalf("households after the session died: %d", n)
	}
	if n := apptest.Scalar[int](t, pool, `SELECT count(*) FROM idempotency_keys WHERE key = 'K2' AND status > 0`); n != 0 {
		t.Fatalf("stored answers after the session died: %d", n)
	}

	if w := sendHousehold(t, h, token, "K2", body); w.Code != http.StatusCreated {
		t.Fatalf("the retry: %d %s", w.Code, w.Body.String())
	}
	same := apptest.Scalar[bool](t, pool, `SELECT h.xmin::text = k.xmin::text FROM households h, idempotency_keys k
		WHERE h.code = 'IDEM-TX-1' AND k.key = 'K2' AND k.status = 201`)
	if !same {
		t.Fatal("the household and its stored answer were committed by different transactions")
	}
}

// While the first request with a key runs, the same key again is 409
// idempotency_in_progress with Retry-After; once it has finished, the answer
// is replayed.
func TestIdempotencyKeyInProgress(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	pool, h := a.DB(), a.Handler()
	token := apptest.Token(t, a, "idem-busy", "commune_worker", "30791")
	body := apptest.HouseholdBody("IDEM-BUSY-1", "30791", "")

	release := lockHouseholds(t, pool)
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- sendHousehold(t, h, token, "K3", body) }()
	waitFor(t, pool, 1, blockedOnLock)
	w := sendHousehold(t, h, token, "K3", body)
	if w.Code != http.StatusConflict || apptest.ProblemCode(t, w) != "idempotency_in_progress" || w.Header().Get("Retry-After") == "" {
		t.Fatalf("the same key while the first runs: %d %v %s", w.Code, w.Header(), w.Body.String())
	}
	release()
	first := <-done
	if first.Code != http.StatusCreated {
		t.Fatalf("the first: %d %s", first.Code, first.Body.String())
	}
	again := sendHousehold(t, h, token, "K3", body)
	if again.Code != http.StatusCreated || again.Header().Get("Idempotent-Replayed") != "true" || again.Body.String() != first.Body.String() {
		t.Fatalf("after the first: %d %s", again.Code, again.Body.String())
	}
	if n := apptest.Scalar[int](t, pool, `SELECT count(*) FROM households WHERE code = 'IDEM-BUSY-1'`); n != 1 {
		t.Fatalf("households written: %d", n)
	}
}
