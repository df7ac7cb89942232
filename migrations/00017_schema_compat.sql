-- compat: previous
-- Whether the previous release can still run on each applied migration
-- (each file's `-- compat:` header; the landed ones are answered in
-- internal/platform/db/compat.go). `migrate up` writes it; `serve` reads it
-- to accept a newer schema that is compatible (a rolling deploy) and refuse
-- one that is not.

-- +goose Up
CREATE TABLE schema_compat (
  version     bigint      PRIMARY KEY,
  compatible  boolean     NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
REVOKE INSERT, UPDATE ON schema_compat FROM ansinh_app;

-- +goose Down
DROP TABLE schema_compat;
