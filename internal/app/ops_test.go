package app_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/config"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

// serve runs `serve` (app.RunServe) on cfg until the test ends: the error it
// returned if it stopped before answering /healthz, else nil once it answers.
func serve(t *testing.T, cfg *config.Config) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.RunServe(ctx, cfg, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-done:
			done <- err
			if err == nil {
				err = fmt.Errorf("serve stopped without an error")
			}
			return err
		default:
		}
		if resp, err := http.Get("http://" + cfg.HTTP.Addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("serve does not answer /healthz after 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A restart fails the import jobs its predecessor left queued or running at
// once (they stayed running for two minutes: a fresh heartbeat counted as
// alive), and leaves alone those of another live replica, whose instance
// lock (held here by another session) says it runs them.
func TestServeFailsJobsOfAGoneProcessAtStart(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	pool, err := db.Open(db.Options{URL: d.AppURL, MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	replica := db.NewOwn(d.AppURL)
	t.Cleanup(replica.Close)
	if err := replica.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	jobs := map[string]int32{"gone": replica.Instance()%1000 + 1, "replica": replica.Instance()}
	ids := map[string]uuid.UUID{}
	for name, runner := range jobs {
		ids[name] = uuid.Must(uuid.NewV7())
		apptest.Exec(t, pool, `INSERT INTO import_jobs (id, owner, scope_paths, mode, file_name, file_path, file_sha256, status,
			started_at, heartbeat_at, runner) VALUES (?, 'u', '{*}', 'dry_run', 'f.csv', '/nonexistent/f.csv', '', 'running', now(), now(), ?)`,
			ids[name], runner)
	}
	cfg := apptest.Config(t, d.AppURL, "ANSINH_HTTP_ADDR", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	if err := serve(t, cfg); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"gone": "failed", "replica": "running"} {
		if got := apptest.Scalar[string](t, pool, `SELECT status FROM import_jobs WHERE id = ?`, ids[name]); got != want {
			t.Errorf("the job of the %s process is %s once serve answers, want %s", name, got, want)
		}
	}
}

// Readiness never queues behind business requests: with every connection of
// the App's pool held (requests waiting on a lock hold them so), /readyz
// still answers 200 while the database is up: it pings on a connection of
// its own.
func TestReadinessDoesNotQueueBehindThePool(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	a := apptest.NewOn(t, apptest.Config(t, d.AppURL, "ANSINH_DATABASE_MAX_OPEN_CONNS", "2",
		"ANSINH_DATABASE_MAX_IDLE_CONNS", "2"))
	for range 2 {
		tx, err := a.DB().SQL().BeginTx(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tx.Rollback() })
	}
	if n := a.DB().SQL().Stats().InUse; n != 2 {
		t.Fatalf("%d connections in use, want the whole pool (2)", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(ctx, "GET", "/readyz", nil)
	a.Handler().ServeHTTP(w, req)
	apptest.Check(t, req, w)
	if w.Code != http.StatusOK {
		t.Fatalf("readyz with the pool exhausted and the database up: %d %s", w.Code, w.Body.String())
	}
}

// Rolling deploys: `serve` of a release starts on a database migrated one
// version past it by a migration compatible with the previous release (it
// refused every newer schema, so an old pod restarting mid-rollout
// crash-looped), and refuses one migrated past it by a breaking migration.
func TestServeOnANewerSchema(t *testing.T) {
	t.Parallel()
	next, err := db.EmbeddedVersion()
	if err != nil {
		t.Fatal(err)
	}
	next++
	for _, compatible := range []bool{true, false} {
		t.Run(fmt.Sprint("compatible=", compatible), func(t *testing.T) {
			t.Parallel()
			d := dbtest.NewDatabase(t)
			owner, err := sql.Open("pgx", d.OwnerURL)
			if err != nil {
				t.Fatal(err)
			}
			defer owner.Close()
			if _, err := owner.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true);`, next); err != nil {
				t.Fatal(err)
			}
			if _, err := owner.Exec(`INSERT INTO schema_compat (version, compatible) VALUES ($1, $2)`, next, compatible); err != nil {
				t.Fatal(err)
			}
			cfg := apptest.Config(t, d.AppURL, "ANSINH_HTTP_ADDR", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
			err = serve(t, cfg)
			if compatible && err != nil {
				t.Fatalf("serve on a compatible newer schema: %v", err)
			}
			if !compatible && (err == nil || !strings.Contains(err.Error(), "not compatible with the previous release")) {
				t.Fatalf("serve on a breaking newer schema: %v, want a refusal", err)
			}
		})
	}
}
