package importer

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// Job is an import run by the server in the background.
type Job struct {
	ID         uuid.UUID
	Owner      string
	Mode       string
	FileName   string
	Status     string // queued, running, succeeded, failed
	Progress   Progress
	Error      string
	CreatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
}

// Jobs runs imports in the background, one goroutine each, and keeps their
// files under dir until they finish.
type Jobs struct {
	im    *Importer
	dir   string
	log   *slog.Logger
	base  context.Context // cancelled when the server stops
	wg    sync.WaitGroup
	slots chan struct{}
}

// runningJobs is how many imports a server runs at once (others wait queued).
const runningJobs = 2

// NewJobs makes the job runner; base is cancelled at shutdown (a job then
// stops and is marked failed, safe to rerun).
func NewJobs(base context.Context, im *Importer, dir string, log *slog.Logger) *Jobs {
	return &Jobs{im: im, dir: dir, log: log, base: base, slots: make(chan struct{}, runningJobs)}
}

// Wait waits for running jobs (after base is cancelled, they stop soon).
func (j *Jobs) Wait() { j.wg.Wait() }

// MaxFileBytes is the largest file an import accepts through the API.
const MaxFileBytes = 1 << 30

// Submit stores the uploaded file and starts the job as the actor in ctx,
// within scope (kept with the job: the job acts as the submitter did).
func (j *Jobs) Submit(ctx context.Context, scope access.Scope, mode, kind, name string, body io.Reader) (Job, error) {
	if mode != DryRun && mode != AllOrNothing && mode != ValidOnly {
		return Job{}, apperr.Fields([]apperr.FieldError{{Field: "mode", Code: "invalid", Message: "must be dry_run, all_or_nothing or valid_only"}})
	}
	if kind != "csv" && kind != "xlsx" {
		return Job{}, apperr.New(apperr.Invalid, "import_file", "send a CSV (text/csv) or XLSX file")
	}
	actor, _ := access.ActorFrom(ctx)
	id := uuid.Must(uuid.NewV7())
	if err := os.MkdirAll(j.dir, 0o700); err != nil {
		return Job{}, fmt.Errorf("import dir: %w", err)
	}
	path := filepath.Join(j.dir, id.String()+"."+kind) // an opaque name, never the client's
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return Job{}, err
	}
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, sum), io.LimitReader(body, MaxFileBytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil || n > MaxFileBytes || n == 0 {
		os.Remove(path)
		if err != nil {
			return Job{}, err
		}
		return Job{}, apperr.New(apperr.Invalid, "import_file", "the file is empty or larger than %d bytes", MaxFileBytes)
	}
	paths := scope.Paths()
	if scope.IsEverywhere() {
		paths = []string{"*"}
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		name = "import." + kind
	}
	var actorID *uuid.UUID
	if actor.UserID != uuid.Nil {
		actorID = &actor.UserID
	}
	if err := j.im.db.Conn(ctx).Exec(`INSERT INTO import_jobs (id, owner, actor_id, scope_paths, mode, file_name, file_path, file_sha256)
		VALUES (?, ?, ?, ?::text[], ?, ?, ?, ?)`, id, access.Owner(ctx), actorID, "{"+strings.Join(paths, ",")+"}", mode, name, path,
		hex.EncodeToString(sum.Sum(nil))).Error; err != nil {
		os.Remove(path)
		return Job{}, db.MapError(err)
	}
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		// A few jobs at a time: each holds up to four connections of the pool.
		select {
		case j.slots <- struct{}{}:
			defer func() { <-j.slots }()
		case <-j.base.Done():
		}
		j.run(access.WithActor(j.base, actor), id, scope, mode, kind, path)
	}()
	return j.Job(ctx, access.Owner(ctx), id)
}

func (j *Jobs) run(ctx context.Context, id uuid.UUID, scope access.Scope, mode, kind, path string) {
	defer os.Remove(path)
	quiet := context.WithoutCancel(ctx) // the job's own bookkeeping outlives a shutdown
	j.im.db.Conn(quiet).Exec(`UPDATE import_jobs SET status = 'running', started_at = now(), heartbeat_at = now() WHERE id = ?`, id)
	var res Result
	var err error
	defer func() { // a bug must fail the job, not the server
		if r := recover(); r != nil {
			j.log.Error("import job panicked", "job", id, "panic", fmt.Sprint(r))
			j.im.db.Conn(quiet).Exec(`UPDATE import_jobs SET status = 'failed', error = 'internal error', finished_at = now() WHERE id = ?`, id)
		}
	}()
	f, err := os.Open(path)
	if err == nil {
		var st os.FileInfo
		if st, err = f.Stat(); err == nil {
			res, err = j.im.Run(ctx, scope, mode, kind, "import:"+id.String(), f, st.Size(), func(p Progress) { j.save(quiet, id, p) })
		}
		f.Close()
	}
	j.save(quiet, id, res.Progress)
	if perr := j.saveProblems(quiet, id, res.Problems); perr != nil {
		j.log.Error("import: saving the problems", "job", id, "error", perr.Error())
	}
	status, msg := "succeeded", ""
	if err != nil {
		status, msg = "failed", err.Error()
		if e, ok := apperr.As(err); ok {
			msg = e.Message
		}
		if errors.Is(err, errStop) {
			msg = "stopped before the end (the server shut down): households already written are whole; run the file again to finish"
		}
	}
	j.im.db.Conn(quiet).Exec(`UPDATE import_jobs SET status = ?, error = NULLIF(?, ''), finished_at = now() WHERE id = ?`, status, msg, id)
}

func (j *Jobs) save(ctx context.Context, id uuid.UUID, p Progress) {
	j.im.db.Conn(ctx).Exec(`UPDATE import_jobs SET rows_read = ?, households_valid = ?, households_invalid = ?, households_created = ?,
		households_existing = ?, members_created = ?, problem_count = ?, heartbeat_at = now() WHERE id = ?`, p.RowsRead, p.HouseholdsValid,
		p.HouseholdsInvalid, p.HouseholdsCreated, p.HouseholdsExisting, p.MembersCreated, p.Problems, id)
}

// saveProblems writes a job's problems in one statement per thousand.
func (j *Jobs) saveProblems(ctx context.Context, id uuid.UUID, ps []Problem) error {
	for start := 0; start < len(ps); start += 1000 {
		end := min(start+1000, len(ps))
		var rows []string
		var args []any
		for i, p := range ps[start:end] {
			rows = append(rows, "(?, ?, ?, ?, ?, ?, ?)")
			args = append(args, id, start+i+1, p.Row, p.Column, p.Code, p.EN, p.VI)
		}
		if err := j.im.db.Conn(ctx).Exec(`INSERT INTO import_problems (job_id, seq, row_number, column_name, code, message_en, message_vi)
			VALUES `+strings.Join(rows, ", "), args...).Error; err != nil {
			return err
		}
	}
	return nil
}

// Job reads a job of its owner.
func (j *Jobs) Job(ctx context.Context, owner string, id uuid.UUID) (Job, error) {
	var job Job
	err := j.im.db.Conn(ctx).Raw(`SELECT id, owner, mode, file_name, status, rows_read, households_valid, households_invalid,
		households_created, households_existing, members_created, problem_count, coalesce(error, ''), created_at, started_at, finished_at
		FROM import_jobs WHERE id = ? AND owner = ?`, id, owner).Row().Scan(&job.ID, &job.Owner, &job.Mode, &job.FileName, &job.Status,
		&job.Progress.RowsRead, &job.Progress.HouseholdsValid, &job.Progress.HouseholdsInvalid, &job.Progress.HouseholdsCreated,
		&job.Progress.HouseholdsExisting, &job.Progress.MembersCreated, &job.Progress.Problems, &job.Error, &job.CreatedAt,
		&job.StartedAt, &job.FinishedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, apperr.New(apperr.NotFound, "import_not_found", "no such import of yours")
	}
	return job, db.MapError(err)
}

// Problems are a job's problems, in order, at most limit from after.
func (j *Jobs) Problems(ctx context.Context, owner string, id uuid.UUID, after, limit int) ([]Problem, error) {
	if _, err := j.Job(ctx, owner, id); err != nil {
		return nil, err
	}
	rows, err := j.im.db.Conn(ctx).Raw(`SELECT row_number, column_name, code, message_en, message_vi FROM import_problems
		WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?`, id, after, limit).Rows()
	if err != nil {
		return nil, db.MapError(err)
	}
	defer rows.Close()
	var out []Problem
	for rows.Next() {
		var p Problem
		if err := rows.Scan(&p.Row, &p.Column, &p.Code, &p.EN, &p.VI); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// FailInterrupted marks as failed the jobs that no server is running any
// more: queued or running with no progress for longer than stale (each batch
// reports progress). Their batches were whole households, and a rerun skips
// those written. Servers run it when they start.
func FailInterrupted(ctx context.Context, pool *db.DB, stale time.Duration) (int64, error) {
	var paths []string
	err := pool.Conn(ctx).Raw(`UPDATE import_jobs SET status = 'failed', finished_at = now(),
		error = 'interrupted (the server stopped): households already written are whole; run the file again to finish'
		WHERE status IN ('queued', 'running') AND coalesce(heartbeat_at, created_at) < now() - ?::interval RETURNING file_path`,
		fmt.Sprintf("%d seconds", int(stale.Seconds()))).Scan(&paths).Error
	for _, p := range paths {
		os.Remove(p) // the upload, if it was on this node
	}
	return int64(len(paths)), err
}
