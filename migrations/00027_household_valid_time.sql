-- compat: breaking
-- Valid time for households (issue 17, docs/design/valid-time.md): when a
-- household came into existence and when it ended (split, merge, moved away,
-- dissolved) are the events' dates, not the dates they were typed. Reports
-- and lists count by them; record time stays in created_at, updated_at and
-- the audit trail. Existing rows take what the record knows: established on
-- the day the row was created, ended on the day an archived row last
-- changed (both in Asia/Ho_Chi_Minh).
--
-- Breaking: the previous release archives without an end date.

-- +goose Up
ALTER TABLE households ADD COLUMN established_on date, ADD COLUMN ended_on date;
UPDATE households SET established_on = (created_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date,
  ended_on = CASE WHEN status = 'archived' THEN (updated_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date END;
ALTER TABLE households
  ALTER COLUMN established_on SET NOT NULL,
  -- Bulk writers that do not say (the bench's generator) mean today.
  ALTER COLUMN established_on SET DEFAULT ((now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date),
  ADD CONSTRAINT households_ended CHECK ((status = 'archived') = (ended_on IS NOT NULL)),
  ADD CONSTRAINT households_valid CHECK (ended_on IS NULL OR ended_on >= established_on);

-- +goose Down
ALTER TABLE households DROP CONSTRAINT households_valid, DROP CONSTRAINT households_ended,
  DROP COLUMN ended_on, DROP COLUMN established_on;
