-- compat: previous
-- What an earlier change wrote into 00025 after it had landed, now as a
-- migration of its own (00025 is back as it landed). Written so that it
-- also runs on a database that applied the edited 00025 (the development
-- and test databases of the sessions in between): nothing is created twice.
--
-- - reorganizations.households: the households of the old edition given a
--   destination (or queued), at the start and those registered under the
--   old edition meanwhile.
-- - reorganization_batches: one row a committed batch; progress is their
--   sum (counting the moves themselves, while batches rewrite them, costs a
--   scan of every move).
-- - attachments_follow_household: two statements, each on the
--   (subject_type, subject_id) index, instead of one with an OR.

-- +goose Up
ALTER TABLE reorganizations ADD COLUMN IF NOT EXISTS households integer NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS reorganization_batches (
  reorganization_id uuid        NOT NULL REFERENCES reorganizations (id),
  id                bigint      GENERATED ALWAYS AS IDENTITY,
  moved             integer     NOT NULL CHECK (moved > 0),
  committed_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (reorganization_id, id)
);

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION attachments_follow_household() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
  -- Two statements, each on the (subject_type, subject_id) index.
  UPDATE attachments SET area_path = NEW.area_path, updated_at = now()
  WHERE subject_type = 'household' AND subject_id = NEW.id;
  UPDATE attachments a SET area_path = NEW.area_path, updated_at = now()
  FROM members m WHERE m.household_id = NEW.id AND a.subject_type = 'member' AND a.subject_id = m.id;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION attachments_follow_household() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
  UPDATE attachments SET area_path = NEW.area_path, updated_at = now()
  WHERE (subject_type = 'household' AND subject_id = NEW.id)
     OR (subject_type = 'member' AND subject_id IN (SELECT id FROM members WHERE household_id = NEW.id));
  RETURN NULL;
END
$$;
-- +goose StatementEnd
DROP TABLE IF EXISTS reorganization_batches;
ALTER TABLE reorganizations DROP COLUMN IF EXISTS households;
