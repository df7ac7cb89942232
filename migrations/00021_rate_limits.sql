-- compat: previous
-- The request rate limiter's shared state (issue 18): one row per limited key
-- (a user or an address, and a kind of route), holding the GCRA's theoretical
-- arrival time. Every replica updates the same rows, so a limit holds across
-- replicas. UNLOGGED: a row is rewritten on nearly every request, and losing
-- the table in a crash or a failover only forgets who was being throttled
-- (everyone starts with a full quota), which is no loss worth a WAL record
-- per request. Fillfactor leaves room for HOT updates (the key never changes).
-- A new table: the previous release runs on this schema unchanged.

-- +goose Up
CREATE UNLOGGED TABLE rate_limits (
  key       text             PRIMARY KEY,
  tat       timestamptz      NOT NULL,
  -- how far ahead of now the TAT may be for a request to pass (seconds): the
  -- key's policy when the row was written, so one statement can charge keys
  -- of different policies
  tolerance double precision NOT NULL
) WITH (fillfactor = 70);
GRANT DELETE ON rate_limits TO ansinh_app;

-- +goose Down
DROP TABLE rate_limits;
