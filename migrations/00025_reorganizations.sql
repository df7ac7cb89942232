-- compat: previous
-- A reorganization moves the live registry from one edition of the list of
-- units to the next (issue 16, docs/design/editions.md): households with
-- their members, attachments and live enrollments, user assignments,
-- budgets, targets, local standards, programs and campaigns in force.
-- Records of the past (assessments, classification changes, decisions,
-- deliveries, audit events) keep the unit they were made under.
--
-- Progress is kept per household, so that a run killed half way resumes
-- where it stopped and moves nothing twice.

-- +goose Up
CREATE TABLE reorganizations (
  id                uuid        PRIMARY KEY,
  from_edition      text        NOT NULL REFERENCES area_editions (edition),
  to_edition        text        NOT NULL REFERENCES area_editions (edition),
  -- applying: households are being moved, or some await a decision;
  -- applied: every household of the old edition is in the new one.
  state             text        NOT NULL CHECK (state IN ('applying', 'applied')),
  mapping_sha256    text        NOT NULL,
  plan              jsonb       NOT NULL,
  started_by        text        NOT NULL,
  started_at        timestamptz NOT NULL DEFAULT now(),
  finished_at       timestamptz,
  CHECK (from_edition < to_edition),
  CHECK ((state = 'applied') = (finished_at IS NOT NULL))
);
CREATE UNIQUE INDEX reorganizations_pair ON reorganizations (from_edition, to_edition);

-- Where each household of the old edition goes. to_code NULL: the
-- household's commune was divided and no village rule placed it; a worker of
-- one of its successors decides (the decision queue).
CREATE TABLE reorganization_moves (
  reorganization_id uuid        NOT NULL REFERENCES reorganizations (id),
  household_id      uuid        NOT NULL REFERENCES households (id),
  from_code         text        NOT NULL,
  to_code           text,
  source            text        CHECK (source IN ('mapping', 'village', 'decision')),
  decided_by        uuid        REFERENCES users (id),
  decided_at        timestamptz,
  old_household_code text       NOT NULL,
  new_household_code text,
  moved_at          timestamptz,
  PRIMARY KEY (reorganization_id, household_id),
  CHECK ((to_code IS NULL) = (source IS NULL)),
  CHECK (moved_at IS NULL OR (to_code IS NOT NULL AND new_household_code IS NOT NULL))
);
-- Batches take first the households of the commune whose code the new one
-- kept (their codes stay as they are), then the others.
CREATE INDEX reorganization_moves_pending ON reorganization_moves (reorganization_id, (from_code = to_code) DESC, household_id)
  WHERE moved_at IS NULL AND to_code IS NOT NULL;
CREATE INDEX reorganization_moves_queue ON reorganization_moves (reorganization_id, from_code, household_id)
  WHERE to_code IS NULL;
-- A household's attachments, and its members', follow it when it moves to
-- another unit (a reorganization): the area decides who may see them. As
-- attachments_follow_member (00014), this runs as the table's owner, since
-- the application may not rewrite what was stored.
-- +goose StatementBegin
CREATE FUNCTION attachments_follow_household() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  UPDATE attachments SET area_path = NEW.area_path, updated_at = now()
  WHERE (subject_type = 'household' AND subject_id = NEW.id)
     OR (subject_type = 'member' AND subject_id IN (SELECT id FROM members WHERE household_id = NEW.id));
  RETURN NULL;
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION attachments_follow_household() FROM PUBLIC;
CREATE TRIGGER households_move_attachments AFTER UPDATE OF area_path ON households
  FOR EACH ROW WHEN (OLD.area_path IS DISTINCT FROM NEW.area_path) EXECUTE FUNCTION attachments_follow_household();

-- A moved member's open duplicate candidates follow it, from either side.
CREATE INDEX duplicate_candidates_member_b ON duplicate_candidates (member_b);
GRANT DELETE ON area_successions TO ansinh_app;
GRANT INSERT ON area_successions TO ansinh_app;
GRANT UPDATE (in_use) ON area_editions TO ansinh_app;

-- +goose Down
REVOKE UPDATE (in_use) ON area_editions FROM ansinh_app;
REVOKE INSERT, DELETE ON area_successions FROM ansinh_app;
DROP INDEX duplicate_candidates_member_b;
DROP TRIGGER households_move_attachments ON households;
DROP FUNCTION attachments_follow_household();
DROP TABLE reorganization_moves;
DROP TABLE reorganizations;
