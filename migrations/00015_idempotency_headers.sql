-- compat: previous
-- The stored answer of an idempotent write is now written in the write's own
-- transaction (no "in progress" row any more: a running key is held by a
-- transaction-scoped advisory lock), and keeps the handler's headers that a
-- replay gives again (Location, ETag, ...), not only its Content-Type.
-- Adding a nullable column rewrites nothing; the previous release runs on it
-- (it ignores the column, and its own "in progress" rows, status 0, are taken
-- as abandoned by this release after a few minutes).

-- +goose Up
ALTER TABLE idempotency_keys ADD COLUMN headers jsonb;

-- +goose Down
ALTER TABLE idempotency_keys DROP COLUMN headers;
