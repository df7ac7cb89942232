package importer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/db"
)

// store holds every SQL statement of the package: import jobs' rows, their
// progress and their problems.
type store struct{ db *db.DB }

// newJob is a job's row as it is submitted.
type newJob struct {
	ID         uuid.UUID
	Owner      string
	ActorID    *uuid.UUID
	ScopePaths []string // "*" for everywhere
	Kind       string   // what it reads: Households or History
	Mode       string
	FileName   string
	FilePath   string
	FileSHA256 string
	Runner     int32 // the instance key of the process that runs it
}

func (s *store) insertJob(ctx context.Context, j newJob) error {
	return db.MapError(s.db.Conn(ctx).Exec(`INSERT INTO import_jobs (id, owner, actor_id, scope_paths, kind, mode, file_name, file_path,
		file_sha256, runner) VALUES (?, ?, ?, ?::text[], ?, ?, ?, ?, ?, ?)`, j.ID, j.Owner, j.ActorID, db.TextArray(j.ScopePaths), j.Kind, j.Mode,
		j.FileName, j.FilePath, j.FileSHA256, j.Runner).Error)
}

// openJobs counts the owner's jobs queued or running. With lock, it first
// takes the owner's transaction-level advisory lock, so that two submissions
// at once count one after the other (the caller's transaction holds it until
// the new job's row commits).
func (s *store) openJobs(ctx context.Context, owner string, lock bool) (int, error) {
	if lock {
		if err := s.db.Conn(ctx).Exec(`SELECT pg_advisory_xact_lock(hashtext('import_jobs:' || ?))`, owner).Error; err != nil {
			return 0, db.MapError(err)
		}
	}
	var n int
	err := s.db.Conn(ctx).Raw(`SELECT count(*) FROM import_jobs WHERE owner = ? AND status IN ('queued', 'running')`, owner).Row().Scan(&n)
	return n, db.MapError(err)
}

// start marks a job running; its heartbeat begins.
func (s *store) start(ctx context.Context, id uuid.UUID) error {
	return s.db.Conn(ctx).Exec(`UPDATE import_jobs SET status = 'running', started_at = now(), heartbeat_at = now() WHERE id = ?`, id).Error
}

// saveProgress writes a job's figures, which is also its heartbeat.
func (s *store) saveProgress(ctx context.Context, id uuid.UUID, p Progress) error {
	return s.db.Conn(ctx).Exec(`UPDATE import_jobs SET rows_read = ?, households_valid = ?, households_invalid = ?, households_created = ?,
		households_existing = ?, members_created = ?, years_recorded = ?, years_existing = ?, problem_count = ?, heartbeat_at = now()
		WHERE id = ?`, p.RowsRead, p.HouseholdsValid, p.HouseholdsInvalid, p.HouseholdsCreated, p.HouseholdsExisting, p.MembersCreated,
		p.YearsRecorded, p.YearsExisting, p.Problems, id).Error
}

// finish ends a job with its status and error message ("" for none).
func (s *store) finish(ctx context.Context, id uuid.UUID, status, msg string) error {
	return s.db.Conn(ctx).Exec(`UPDATE import_jobs SET status = ?, error = NULLIF(?, ''), finished_at = now() WHERE id = ?`,
		status, msg, id).Error
}

// saveProblems writes a job's problems in one statement per thousand.
func (s *store) saveProblems(ctx context.Context, id uuid.UUID, ps []Problem) error {
	for start := 0; start < len(ps); start += 1000 {
		end := min(start+1000, len(ps))
		var rows []string
		var args []any
		for i, p := range ps[start:end] {
			rows = append(rows, "(?, ?, ?, ?, ?, ?, ?)")
			args = append(args, id, start+i+1, p.Row, p.Column, p.Code, p.EN, p.VI)
		}
		if err := s.db.Conn(ctx).Exec(`INSERT INTO import_problems (job_id, seq, row_number, column_name, code, message_en, message_vi)
			VALUES `+strings.Join(rows, ", "), args...).Error; err != nil {
			return err
		}
	}
	return nil
}

// job reads a job of its owner.
func (s *store) job(ctx context.Context, owner string, id uuid.UUID) (Job, error) {
	var job Job
	err := s.db.Conn(ctx).Raw(`SELECT id, owner, kind, mode, file_name, status, rows_read, households_valid, households_invalid,
		households_created, households_existing, members_created, years_recorded, years_existing, problem_count, coalesce(error, ''),
		created_at, started_at, finished_at
		FROM import_jobs WHERE id = ? AND owner = ?`, id, owner).Row().Scan(&job.ID, &job.Owner, &job.Kind, &job.Mode, &job.FileName,
		&job.Status, &job.Progress.RowsRead, &job.Progress.HouseholdsValid, &job.Progress.HouseholdsInvalid, &job.Progress.HouseholdsCreated,
		&job.Progress.HouseholdsExisting, &job.Progress.MembersCreated, &job.Progress.YearsRecorded, &job.Progress.YearsExisting,
		&job.Progress.Problems, &job.Error, &job.CreatedAt, &job.StartedAt, &job.FinishedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, errJobNotFound()
	}
	return job, db.MapError(err)
}

// problems are a job's problems in order, at most limit from after.
func (s *store) problems(ctx context.Context, id uuid.UUID, after, limit int) ([]Problem, error) {
	return db.Collect(s.db.Conn(ctx).Raw(`SELECT row_number, column_name, code, message_en, message_vi FROM import_problems
		WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?`, id, after, limit), func(r db.Scanner) (Problem, error) {
		var p Problem
		err := r.Scan(&p.Row, &p.Column, &p.Code, &p.EN, &p.VI)
		return p, err
	})
}

// failInterrupted marks failed the jobs queued or running whose process's
// instance lock no session of this database holds (pg_locks shows a
// two-key advisory lock as classid, objid with objsubid 2), and those of no
// recorded process with no heartbeat for longer than stale: the paths of
// their uploads.
func (s *store) failInterrupted(ctx context.Context, stale time.Duration) ([]string, error) {
	var paths []string
	err := s.db.Conn(ctx).Raw(`UPDATE import_jobs j SET status = 'failed', finished_at = now(),
		error = 'interrupted (the server stopped): households already written are whole; run the file again to finish'
		WHERE status IN ('queued', 'running') AND CASE WHEN runner IS NULL
			THEN coalesce(heartbeat_at, created_at) < now() - ?::interval
			ELSE NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
				AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
				AND l.classid = ?::bigint::oid AND l.objid = j.runner::bigint::oid) END
		RETURNING file_path`,
		fmt.Sprintf("%d seconds", int(stale.Seconds())), db.InstanceLockSpace).Scan(&paths).Error
	return paths, err
}
