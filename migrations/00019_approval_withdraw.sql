-- compat: previous
-- A request of the approval flow can be withdrawn when its domain takes the
-- subject back (a pending role grant revoked before anyone decided it), so it
-- no longer waits for a decision nobody can make. The previous release never
-- writes the new values and reads a withdrawn request as not pending.

-- +goose Up
ALTER TABLE approval_requests DROP CONSTRAINT approval_requests_state_check,
  ADD CONSTRAINT approval_requests_state_check CHECK (state IN ('pending', 'approved', 'returned', 'rejected', 'withdrawn'));
ALTER TABLE approval_steps DROP CONSTRAINT approval_steps_action_check,
  ADD CONSTRAINT approval_steps_action_check CHECK (action IN ('submit', 'approve', 'return', 'reject', 'withdraw'));

-- +goose Down
ALTER TABLE approval_steps DROP CONSTRAINT approval_steps_action_check,
  ADD CONSTRAINT approval_steps_action_check CHECK (action IN ('submit', 'approve', 'return', 'reject'));
ALTER TABLE approval_requests DROP CONSTRAINT approval_requests_state_check,
  ADD CONSTRAINT approval_requests_state_check CHECK (state IN ('pending', 'approved', 'returned', 'rejected'));
