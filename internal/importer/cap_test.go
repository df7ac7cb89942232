package importer_test

import (
	"testing"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

// A user with as many import jobs queued or running as the cap gets 429
// too_many_jobs with Retry-After (nothing of the file kept, no job made);
// another user is not concerned, and once one job has finished the user may
// submit again.
func TestImportJobsPerUserAreCapped(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	a := apptest.NewOn(t, apptest.Config(t, d.AppURL, "ANSINH_RATELIMIT_JOBS_PER_USER", "2"))
	h := a.Handler()
	busy := apptest.Token(t, a, "cap-busy", "commune_worker", "30791")
	other := apptest.Token(t, a, "cap-other", "commune_worker", "30791")
	// Two long jobs of the user, one queued and one running (a real one
	// would finish before the test could look).
	for _, status := range []string{"queued", "running"} {
		apptest.Exec(t, a.DB(), `INSERT INTO import_jobs (id, owner, scope_paths, mode, file_name, file_path, file_sha256, status)
			VALUES (gen_random_uuid(), 'user:cap-busy', '{91}', 'dry_run', 'big.csv', '/nonexistent', '', ?)`, status)
	}
	file := "commune_code,household_code,village,area_type,full_name,birth_date,sex,relationship\n" +
		"30791,CAP-1,Ấp 1,rural,Nguyễn Văn An,1978,male,head\n"
	w := upload(t, h, busy, "dry_run", "text/csv", file)
	if w.Code != 429 || w.Header().Get("Retry-After") == "" || apptest.ProblemCode(t, w) != "too_many_jobs" {
		t.Fatalf("a third job: %d Retry-After=%q %s", w.Code, w.Header().Get("Retry-After"), w.Body.String())
	}
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM import_jobs WHERE owner = 'user:cap-busy'`); n != 2 {
		t.Fatalf("%d jobs, want the 2 there were", n)
	}
	if w := upload(t, h, other, "dry_run", "text/csv", file); w.Code != 202 {
		t.Fatalf("another user's job: %d %s", w.Code, w.Body.String())
	}
	apptest.Exec(t, a.DB(), `UPDATE import_jobs SET status = 'succeeded' WHERE owner = 'user:cap-busy' AND status = 'running'`)
	w = upload(t, h, busy, "dry_run", "text/csv", file)
	if w.Code != 202 {
		t.Fatalf("once a job has finished: %d %s", w.Code, w.Body.String())
	}
	finished(t, h, busy, apptest.Decode[jobView](t, w, 202))
}
