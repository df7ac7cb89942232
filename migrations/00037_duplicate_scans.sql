-- compat: previous
-- Duplicate detection leaves the write path (issue 21, item 2). The checks
-- that must refuse a write (an ID number held, a household code taken) stay
-- in the writing transaction. The fuzzy ones (the same name and birth date,
-- a close name born the same year in the same commune, a head sharing a
-- phone) are computed after commit: a change to a person writes a row of
-- duplicate_scans in its own transaction (by trigger, so the API, imports
-- and the seed are all covered and a crash loses nothing), and the scanner
-- (internal/household, every replica, FOR UPDATE SKIP LOCKED) takes rows,
-- records the candidates and deletes them in one transaction.
--
-- The close-name comparison is blocked by (commune, birth year): an index
-- gives the few people of one commune born that year, instead of every
-- household of the commune and its members.
--
-- Rolling deploy: while the previous release runs it still finds candidates
-- synchronously and its writes are queued too; the scan is idempotent (a
-- pair is recorded once), so the overlap only repeats work.

-- +goose Up
CREATE TABLE duplicate_scans (
  id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  member_id  uuid        NOT NULL,  -- no foreign key: the scanner skips a member that is gone
  queued_at  timestamptz NOT NULL DEFAULT now()
);
GRANT DELETE ON duplicate_scans TO ansinh_app;

CREATE INDEX members_duplicate_block ON members (area_path, birth_year) INCLUDE (id, name_key, status);

-- New members, one statement at a time (an import's batch is one INSERT).
-- +goose StatementBegin
CREATE FUNCTION duplicate_scan_new_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO duplicate_scans (member_id) SELECT id FROM new_members WHERE status = 'present';
  RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER members_duplicate_scan_new AFTER INSERT ON members
  REFERENCING NEW TABLE AS new_members FOR EACH STATEMENT EXECUTE FUNCTION duplicate_scan_new_members();

-- A member whose name, birth, household or presence changed; a head whose
-- household's phone changed.
-- +goose StatementBegin
CREATE FUNCTION duplicate_scan_member() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'households' THEN
    INSERT INTO duplicate_scans (member_id)
      SELECT id FROM members WHERE household_id = NEW.id AND relationship = 'head' AND status = 'present';
  ELSE
    INSERT INTO duplicate_scans (member_id) VALUES (NEW.id);
  END IF;
  RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER members_duplicate_scan_changed AFTER UPDATE OF full_name, birth_date, birth_year, household_id, status, relationship
  ON members FOR EACH ROW
  WHEN (NEW.status = 'present' AND (OLD.full_name, OLD.birth_date, OLD.birth_year, OLD.household_id, OLD.status, OLD.relationship)
        IS DISTINCT FROM (NEW.full_name, NEW.birth_date, NEW.birth_year, NEW.household_id, NEW.status, NEW.relationship))
  EXECUTE FUNCTION duplicate_scan_member();
CREATE TRIGGER households_duplicate_scan_phone AFTER UPDATE OF phone ON households FOR EACH ROW
  WHEN (NEW.phone IS NOT NULL AND OLD.phone IS DISTINCT FROM NEW.phone) EXECUTE FUNCTION duplicate_scan_member();

-- +goose Down
DROP TRIGGER households_duplicate_scan_phone ON households;
DROP TRIGGER members_duplicate_scan_changed ON members;
DROP TRIGGER members_duplicate_scan_new ON members;
DROP FUNCTION duplicate_scan_member();
DROP FUNCTION duplicate_scan_new_members();
DROP INDEX members_duplicate_block;
DROP TABLE duplicate_scans;
