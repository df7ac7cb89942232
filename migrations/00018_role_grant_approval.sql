-- compat: breaking
-- A role that reads personal data is granted in two steps (issue 18): one
-- system administrator asks, another approves through the approval flow
-- (subject type role_grant, the assignment's id). Until then the assignment
-- is pending and gives no permission; a rejected one is also revoked, so the
-- unique index of live assignments lets it be asked for again.
--
-- Adding a column with a constant default rewrites nothing; the CHECK scans
-- role_assignments, a table of a few thousand rows at most. The previous
-- release can run on this schema only while no grant is pending (it would
-- take a pending assignment for an active one).

-- +goose Up
ALTER TABLE role_assignments ADD COLUMN status text NOT NULL DEFAULT 'active'
  CHECK (status IN ('pending', 'active', 'rejected'));

-- +goose Down
ALTER TABLE role_assignments DROP COLUMN status;
