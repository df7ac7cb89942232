-- Reporting targets of a province or district, and bulk import jobs with
-- the problems they found.

-- +goose Up
CREATE TABLE report_targets (
  id           uuid        PRIMARY KEY,
  area_code    text        NOT NULL REFERENCES areas (code),
  area_path    ltree       NOT NULL,
  metric       text        NOT NULL CHECK (metric IN ('poverty_rate', 'poverty_rate_reduction', 'near_poverty_rate')),
  year         smallint    NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  value        numeric(7,3) NOT NULL CHECK (value >= 0 AND value <= 100),
  description  text        NOT NULL DEFAULT '',
  version      integer     NOT NULL DEFAULT 1,
  created_by   uuid,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_by   uuid,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (area_code, metric, year)
);
CREATE INDEX report_targets_area ON report_targets USING gist (area_path);

-- An import job: the file is kept under the data directory while the job
-- runs; scope_paths are the importer's areas when it was submitted.
CREATE TABLE import_jobs (
  id                  uuid        PRIMARY KEY,
  owner               text        NOT NULL,
  actor_id            uuid,
  scope_paths         text[]      NOT NULL,
  mode                text        NOT NULL CHECK (mode IN ('dry_run', 'all_or_nothing', 'valid_only')),
  file_name           text        NOT NULL,
  file_path           text        NOT NULL,
  file_sha256         text        NOT NULL,
  status              text        NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  rows_read           integer     NOT NULL DEFAULT 0,
  households_valid    integer     NOT NULL DEFAULT 0,
  households_invalid  integer     NOT NULL DEFAULT 0,
  households_created  integer     NOT NULL DEFAULT 0,
  households_existing integer     NOT NULL DEFAULT 0,
  members_created     integer     NOT NULL DEFAULT 0,
  problem_count       integer     NOT NULL DEFAULT 0,
  error               text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  started_at          timestamptz,
  heartbeat_at        timestamptz,
  finished_at         timestamptz
);
CREATE INDEX import_jobs_owner ON import_jobs (owner, id);

-- The problems a job found: the first ones of each job (the count is on the job).
CREATE TABLE import_problems (
  job_id      uuid     NOT NULL REFERENCES import_jobs (id),
  seq         integer  NOT NULL,
  row_number  integer  NOT NULL,
  column_name text     NOT NULL,
  code        text     NOT NULL,
  message_en  text     NOT NULL,
  message_vi  text     NOT NULL,
  PRIMARY KEY (job_id, seq)
);

-- +goose Down
DROP TABLE import_problems;
DROP TABLE import_jobs;
DROP TABLE report_targets;
