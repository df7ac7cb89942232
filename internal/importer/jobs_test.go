package importer_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/importer"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

// A job keeps who submitted it and where they may act: the actor's id and
// the scope's paths.
func TestSubmitKeepsTheActorAndScope(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	user := apptest.CreateUser(t, a, "im-scope", "commune_worker", "30791", false)
	token := apptest.Login(t, h, "im-scope", apptest.Password).AccessToken
	file := "commune_code,household_code,village,area_type,full_name,birth_date,sex,relationship\n30791,SC-1,Ấp 1,rural,Nguyễn Văn An,1978,male,head\n"
	job := finished(t, h, token, apptest.Decode[jobView](t, upload(t, h, token, "dry_run", "text/csv", file), 202))
	if job.Status != "succeeded" || job.HouseholdsValid != 1 {
		t.Fatalf("job: %+v", job)
	}
	if got := apptest.Scalar[string](t, a.DB(), `SELECT actor_id::text FROM import_jobs WHERE id = ?`, job.ID); got != user.String() {
		t.Fatalf("actor %s, want %s", got, user)
	}
	if got := apptest.Scalar[string](t, a.DB(), `SELECT array_to_string(scope_paths, '|') FROM import_jobs WHERE id = ?`, job.ID); got != "91.914.30791" {
		t.Fatalf("scope paths %q", got)
	}
}

// Jobs no server runs any more are failed with the reason and their uploads
// removed: those whose process is gone (its instance lock is free) at once,
// however fresh their heartbeat; those of an older release (no process
// recorded) after stale without a heartbeat. A live process's jobs (its lock
// held, here by another session as another replica would) and finished jobs
// are left alone.
func TestFailInterrupted(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	pool, err := db.Open(db.Options{URL: d.AppURL, MaxOpenConns: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	live := db.NewOwn(d.AppURL) // another replica, alive: it holds its instance lock
	t.Cleanup(live.Close)
	if err := live.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	gone := fmt.Sprint(live.Instance()%1000 + 1) // a process whose session ended
	alive := fmt.Sprint(live.Instance())
	dir := t.TempDir()
	jobs := []struct{ name, status, created, heartbeat, runner string }{
		{"stale-running", "running", "now() - interval '10 minutes'", "now() - interval '10 minutes'", "NULL"},
		{"stale-queued", "queued", "now() - interval '10 minutes'", "NULL", "NULL"},
		{"live", "running", "now() - interval '10 minutes'", "now() - interval '5 seconds'", "NULL"},
		{"new", "queued", "now()", "NULL", "NULL"},
		{"done", "succeeded", "now() - interval '10 minutes'", "now() - interval '10 minutes'", "NULL"},
		{"gone-running", "running", "now()", "now()", gone},
		{"gone-queued", "queued", "now()", "NULL", gone},
		{"replica-running", "running", "now() - interval '10 minutes'", "now() - interval '10 minutes'", alive},
		{"replica-queued", "queued", "now()", "NULL", alive},
	}
	ids := map[string]uuid.UUID{}
	for _, j := range jobs {
		ids[j.name] = uuid.Must(uuid.NewV7())
		path := filepath.Join(dir, j.name+".csv")
		if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		apptest.Exec(t, pool, `INSERT INTO import_jobs (id, owner, scope_paths, mode, file_name, file_path, file_sha256, status, created_at, heartbeat_at, runner)
			VALUES (?, 'u', '{*}', 'dry_run', 'f.csv', ?, '', ?, `+j.created+`, `+j.heartbeat+`, `+j.runner+`)`, ids[j.name], path, j.status)
	}
	n, err := importer.FailInterrupted(context.Background(), pool, 2*time.Minute)
	if err != nil || n != 4 {
		t.Errorf("%d failed, %v; want 4", n, err)
	}
	for name, want := range map[string]string{"stale-running": "failed", "stale-queued": "failed", "live": "running", "new": "queued",
		"done": "succeeded", "gone-running": "failed", "gone-queued": "failed", "replica-running": "running", "replica-queued": "queued"} {
		if got := apptest.Scalar[string](t, pool, `SELECT status FROM import_jobs WHERE id = ?`, ids[name]); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
		_, err := os.Stat(filepath.Join(dir, name+".csv"))
		if gone := os.IsNotExist(err); gone != (want == "failed") {
			t.Errorf("%s: upload removed %v", name, gone)
		}
	}
	if msg := apptest.Scalar[string](t, pool, `SELECT error FROM import_jobs WHERE id = ?`, ids["stale-running"]); msg == "" {
		t.Error("no reason for the failure")
	}
}
