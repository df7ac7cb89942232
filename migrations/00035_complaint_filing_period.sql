-- compat: previous
-- The time to complain (Law on Complaints 2011, art. 9): 90 days from the
-- day the person learned of the decision or act. A complaint filed later is
-- still received (it is recorded either way); the body may accept it only
-- with the reason the time did not run (illness, disaster, travel for work,
-- another objective obstacle), or refuse it. The period is data, like the
-- other limits.

-- +goose Up
ALTER TABLE complaint_time_limits DROP CONSTRAINT complaint_time_limits_step_check,
  ADD CONSTRAINT complaint_time_limits_step_check CHECK (step IN ('file', 'accept', 'settle', 'appeal'));
INSERT INTO complaint_time_limits (step, instance, complex, remote, days, legal_basis)
SELECT 'file', 1, c, r, 90, 'Luật Khiếu nại 2011, Điều 9'
FROM (VALUES (false), (true)) c (c), (VALUES (false), (true)) r (r);

ALTER TABLE complaints
  ADD COLUMN known_on    date,  -- when the complainant learned of the decision or act (when known)
  ADD COLUMN file_by     date,  -- known_on and the period: the last day to complain
  ADD COLUMN late_reason text,  -- why a complaint filed after file_by was accepted
  ADD CONSTRAINT complaints_known_before_received CHECK (known_on IS NULL OR known_on <= received_on),
  ADD CONSTRAINT complaints_file_by CHECK ((known_on IS NULL) = (file_by IS NULL));

-- +goose Down
ALTER TABLE complaints DROP CONSTRAINT complaints_file_by, DROP CONSTRAINT complaints_known_before_received,
  DROP COLUMN late_reason, DROP COLUMN file_by, DROP COLUMN known_on;
DELETE FROM complaint_time_limits WHERE step = 'file';
ALTER TABLE complaint_time_limits DROP CONSTRAINT complaint_time_limits_step_check,
  ADD CONSTRAINT complaint_time_limits_step_check CHECK (step IN ('accept', 'settle', 'appeal'));
