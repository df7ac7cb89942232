-- compat: previous
-- The inbox reads each kind's first items by their order (since, id): open
-- duplicate candidates in that order, so a commune with thousands of them
-- (names repeat) gives its first page without sorting them all.

-- +goose Up
CREATE INDEX duplicate_candidates_open_since ON duplicate_candidates (created_at, id) WHERE status = 'open';

-- +goose Down
DROP INDEX duplicate_candidates_open_since;
