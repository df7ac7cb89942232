-- compat: previous
-- Which process runs an import job: the instance key of its process, whose
-- session advisory lock (InstanceLockSpace, runner) that process holds while
-- it lives. A server that starts fails at once the jobs whose process is gone
-- (the lock is free), and never a live replica's. Nullable: the previous
-- release inserts jobs without it (they keep the two-minute heartbeat rule).

-- +goose Up
ALTER TABLE import_jobs ADD COLUMN runner integer;

-- +goose Down
ALTER TABLE import_jobs DROP COLUMN runner;
