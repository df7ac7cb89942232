package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// Jobs runs imports in the background, one goroutine each, and keeps their
// files under dir until they finish.
type Jobs struct {
	im    *Importer
	store *store
	dir   string
	log   *slog.Logger
	base  context.Context // cancelled when the server stops
	wg    sync.WaitGroup
	slots chan struct{}
	// runner is this process's instance key: its jobs' rows carry it, and the
	// process holds the instance lock (db.InstanceLockSpace, runner) while it
	// lives, so that a start elsewhere fails them only once it is gone.
	runner int32
	// perUser caps a user's jobs queued or running at once (0: no cap).
	perUser int
}

// runningJobs is how many imports a server runs at once (others wait queued).
const runningJobs = 2

// NewJobs makes the job runner of the process whose instance key is runner;
// base is cancelled at shutdown (a job then stops and is marked failed, safe
// to rerun).
func NewJobs(base context.Context, im *Importer, dir string, log *slog.Logger, runner int32) *Jobs {
	return &Jobs{im: im, store: &store{db: im.db}, dir: dir, log: log, base: base, slots: make(chan struct{}, runningJobs),
		runner: runner}
}

// LimitPerUser caps a user's jobs queued or running at once: a submission
// past it answers 429 too_many_jobs.
func (j *Jobs) LimitPerUser(n int) { j.perUser = n }

// Wait waits for running jobs (after base is cancelled, they stop soon).
func (j *Jobs) Wait() { j.wg.Wait() }

// MaxFileBytes is the largest file an import accepts through the API.
const MaxFileBytes = 1 << 30

// Submit stores the uploaded file and starts the job, an import of what
// (Households or History), as the actor in ctx, within scope (kept with the
// job: the job acts as the submitter did).
func (j *Jobs) Submit(ctx context.Context, scope access.Scope, what, mode, kind, name string, body io.Reader) (Job, error) {
	if err := checkMode(mode); err != nil {
		return Job{}, err
	}
	if _, err := j.im.formatOf(what); err != nil {
		return Job{}, err
	}
	if kind != "csv" && kind != "xlsx" {
		return Job{}, errKind()
	}
	owner := access.Owner(ctx)
	if err := j.underCap(ctx, owner, false); err != nil { // before a byte of the file is kept
		return Job{}, err
	}
	id := uuid.Must(uuid.NewV7())
	path, sum, err := j.keep(id, kind, body)
	if err != nil {
		return Job{}, err
	}
	paths := scope.Paths()
	if scope.IsEverywhere() {
		paths = []string{"*"}
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		name = "import." + kind
	}
	err = j.im.db.WithTx(ctx, func(ctx context.Context) error {
		if err := j.underCap(ctx, owner, true); err != nil {
			return err
		}
		return j.store.insertJob(ctx, newJob{ID: id, Owner: owner, ActorID: access.ActorID(ctx), ScopePaths: paths, Kind: what,
			Mode: mode, FileName: name, FilePath: path, FileSHA256: sum, Runner: j.runner})
	})
	if err != nil {
		os.Remove(path)
		return Job{}, err
	}
	actor, _ := access.ActorFrom(ctx)
	// Inside a request's transaction (an Idempotency-Key) the job starts once
	// its row has committed, and a rollback leaves no file behind.
	db.OnRollback(ctx, func() { os.Remove(path) })
	db.AfterCommit(ctx, func() {
		j.wg.Add(1)
		go func() {
			defer j.wg.Done()
			// A few jobs at a time: each holds up to four connections of the pool.
			select {
			case j.slots <- struct{}{}:
				defer func() { <-j.slots }()
			case <-j.base.Done():
			}
			j.run(access.WithActor(j.base, actor), id, scope, what, mode, kind, path)
		}()
	})
	return j.Job(ctx, owner, id)
}

// underCap refuses a submission when the owner has as many jobs queued or
// running as the cap; lock makes the count exact (see openJobs).
func (j *Jobs) underCap(ctx context.Context, owner string, lock bool) error {
	if j.perUser <= 0 {
		return nil
	}
	n, err := j.store.openJobs(ctx, owner, lock)
	if err != nil {
		return err
	}
	if n >= j.perUser {
		return errTooManyJobs(n)
	}
	return nil
}

// keep writes the upload under dir with an opaque name (never the client's):
// its path and SHA-256.
func (j *Jobs) keep(id uuid.UUID, kind string, body io.Reader) (path, sum string, err error) {
	if err := os.MkdirAll(j.dir, 0o700); err != nil {
		return "", "", fmt.Errorf("import dir: %w", err)
	}
	path = filepath.Join(j.dir, id.String()+"."+kind)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", "", err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(body, MaxFileBytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil || n > MaxFileBytes || n == 0 {
		os.Remove(path)
		if err != nil {
			return "", "", err
		}
		return "", "", apperr.New(apperr.Invalid, "import_file", "the file is empty or larger than %d bytes", MaxFileBytes)
	}
	return path, hex.EncodeToString(h.Sum(nil)), nil
}

// run runs a job and records its states: running, then its figures, its
// problems and how it ended. The bookkeeping outlives a shutdown.
func (j *Jobs) run(ctx context.Context, id uuid.UUID, scope access.Scope, what, mode, kind, path string) {
	defer os.Remove(path)
	quiet := context.WithoutCancel(ctx) // the job's own bookkeeping outlives a shutdown
	j.logged(id, "marking it running", j.store.start(quiet, id))
	defer func() { // a bug must fail the job, not the server
		if r := recover(); r != nil {
			j.log.Error("import job panicked", "job", id, "panic", fmt.Sprint(r))
			j.logged(id, "marking it failed", j.store.finish(quiet, id, jobFailed, "internal error"))
		}
	}()
	res, err := j.importFile(ctx, id, scope, what, mode, kind, path, func(p Progress) {
		j.logged(id, "saving its progress", j.store.saveProgress(quiet, id, p))
	})
	j.logged(id, "saving its progress", j.store.saveProgress(quiet, id, res.Progress))
	j.logged(id, "saving the problems", j.store.saveProblems(quiet, id, res.Problems))
	status, msg := outcome(err)
	j.logged(id, "marking it "+status, j.store.finish(quiet, id, status, msg))
}

// importFile runs the import of a job's file.
func (j *Jobs) importFile(ctx context.Context, id uuid.UUID, scope access.Scope, what, mode, kind, path string,
	progress func(Progress)) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Result{}, err
	}
	return j.im.RunOf(ctx, what, scope, mode, kind, "import:"+id.String(), f, st.Size(), progress)
}

// logged logs a failure of a job's bookkeeping (the job goes on: a job left
// running is failed later by FailInterrupted).
func (j *Jobs) logged(id uuid.UUID, doing string, err error) {
	if err != nil {
		j.log.Error("import job: "+doing, "job", id, "error", err.Error())
	}
}

// Job reads a job of its owner.
func (j *Jobs) Job(ctx context.Context, owner string, id uuid.UUID) (Job, error) {
	return j.store.job(ctx, owner, id)
}

// Problems are a job's problems, in order, at most limit from after.
func (j *Jobs) Problems(ctx context.Context, owner string, id uuid.UUID, after, limit int) ([]Problem, error) {
	if _, err := j.store.job(ctx, owner, id); err != nil {
		return nil, err
	}
	return j.store.problems(ctx, id, after, limit)
}

// FailInterrupted marks as failed the jobs that no server is running any
// more: queued or running jobs whose process is gone (its instance lock is
// free: the session that held it ended), and jobs of an older release, which
// recorded no process, with no progress for longer than stale (each batch
// reports progress). Their batches were whole households, and a rerun skips
// those written. Servers run it when they start and every minute.
func FailInterrupted(ctx context.Context, pool *db.DB, stale time.Duration) (int64, error) {
	paths, err := (&store{db: pool}).failInterrupted(ctx, stale)
	for _, p := range paths {
		os.Remove(p) // the upload, if it was on this node
	}
	return int64(len(paths)), err
}
