-- compat: previous
-- Valid time for members (issue 17): the day a person joined the household
-- (birth, move in), as the event's date; NULL: since the household was
-- established. Their leaving is status_date (moved out, deceased).

-- +goose Up
ALTER TABLE members ADD COLUMN arrived_on date,
  ADD CONSTRAINT members_valid CHECK (arrived_on IS NULL OR status_date IS NULL OR status_date >= arrived_on);

-- +goose Down
ALTER TABLE members DROP CONSTRAINT members_valid, DROP COLUMN arrived_on;
