-- compat: breaking
-- Administrative units belong to an edition of the official list (issue 16,
-- docs/design/editions.md). A code may name different units in different
-- editions (31036 is Đông Hưng A in 2025-03 and Đông Hưng in 2026-04), so a
-- unit is (edition, code), and every record that names a unit names its
-- edition too. Existing records were made under 2025-03, the only edition
-- loaded until now. The edition columns get no default: each store writes the
-- edition of the unit it resolved, so that no row is filed under a map by
-- accident. (The ADD COLUMN ... DEFAULT then DROP DEFAULT below only fills
-- the existing rows without rewriting the tables.)
--
-- Breaking: the previous release inserts records without an edition.

-- +goose Up
ALTER TABLE area_editions
  ADD COLUMN valid_from date,
  ADD COLUMN valid_to   date,
  -- The edition new records are filed under: plain codes in the API are read
  -- in it. Exactly one; a reorganization moves it.
  ADD COLUMN in_use     boolean NOT NULL DEFAULT false,
  ADD COLUMN source     text    NOT NULL DEFAULT '';
UPDATE area_editions SET valid_from = '2025-03-01', valid_to = '2025-06-30', in_use = true,
  source = 'vietnamese-provinces-database (MIT, Thang Le Quoc), three-tier list of 2025-03'
  WHERE edition = '2025-03';
ALTER TABLE area_editions
  ALTER COLUMN valid_from SET NOT NULL,
  ADD CHECK (edition ~ '^[0-9]{4}-[0-9]{2}$'),
  ADD CHECK (valid_to IS NULL OR valid_to >= valid_from),
  -- Editions follow each other: no day is in two.
  ADD CONSTRAINT area_editions_no_overlap EXCLUDE USING gist (daterange(valid_from, valid_to, '[]') WITH &&);
CREATE UNIQUE INDEX area_editions_one_in_use ON area_editions (in_use) WHERE in_use;

-- The edition plain codes are read in (for stores and SQL filters alike).
-- +goose StatementBegin
CREATE FUNCTION area_edition_in_use() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT edition FROM area_editions WHERE in_use
$$;
-- +goose StatementEnd

-- Foreign keys to areas(code) go before its key changes.
ALTER TABLE areas DROP CONSTRAINT areas_parent_code_fkey;
ALTER TABLE role_assignments DROP CONSTRAINT role_assignments_area_code_fkey;
ALTER TABLE households DROP CONSTRAINT households_commune_code_fkey;
ALTER TABLE poverty_standards DROP CONSTRAINT poverty_standards_area_code_fkey;
ALTER TABLE reviews DROP CONSTRAINT reviews_commune_code_fkey;
ALTER TABLE programs DROP CONSTRAINT programs_area_code_fkey;
ALTER TABLE program_campaigns DROP CONSTRAINT program_campaigns_area_code_fkey;
ALTER TABLE program_budgets DROP CONSTRAINT program_budgets_area_code_fkey;
ALTER TABLE report_targets DROP CONSTRAINT report_targets_area_code_fkey;

ALTER TABLE areas ADD COLUMN edition text NOT NULL DEFAULT '2025-03' REFERENCES area_editions (edition);
ALTER TABLE areas ALTER COLUMN edition DROP DEFAULT;
ALTER TABLE areas DROP CONSTRAINT areas_pkey, DROP CONSTRAINT areas_path_key;
ALTER TABLE areas
  ADD PRIMARY KEY (edition, code),
  ADD CONSTRAINT areas_edition_path_key UNIQUE (edition, path),
  ADD CONSTRAINT areas_parent_fkey FOREIGN KEY (edition, parent_code) REFERENCES areas (edition, code);
DROP INDEX areas_parent;
DROP INDEX areas_level;
CREATE INDEX areas_parent ON areas (edition, parent_code, code);
CREATE INDEX areas_level ON areas (edition, level, code);
CREATE INDEX areas_code ON areas (code);

-- A path is derived from the parent in the same edition.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION areas_set_path() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  parent_path ltree;
BEGIN
  IF NEW.parent_code IS NULL THEN
    NEW.path := NEW.code::ltree;
  ELSE
    SELECT path INTO parent_path FROM areas WHERE edition = NEW.edition AND code = NEW.parent_code;
    IF parent_path IS NULL THEN
      RAISE EXCEPTION 'area % (edition %): parent % does not exist', NEW.code, NEW.edition, NEW.parent_code
        USING ERRCODE = 'foreign_key_violation';
    END IF;
    NEW.path := parent_path || NEW.code;
  END IF;
  RETURN NEW;
END
$$;
-- +goose StatementEnd
DROP TRIGGER areas_path ON areas;
CREATE TRIGGER areas_path BEFORE INSERT OR UPDATE OF parent_code, code, edition ON areas
  FOR EACH ROW EXECUTE FUNCTION areas_set_path();

-- Predecessor and successor units, from a mapping area.CheckMapping accepted.
-- divided: the old unit was split among several successors (its households
-- are assigned village by village, not by the code).
CREATE TABLE area_successions (
  from_edition text    NOT NULL,
  from_code    text    NOT NULL,
  to_edition   text    NOT NULL,
  to_code      text    NOT NULL,
  divided      boolean NOT NULL,
  PRIMARY KEY (from_edition, from_code, to_edition, to_code),
  FOREIGN KEY (from_edition, from_code) REFERENCES areas (edition, code),
  FOREIGN KEY (to_edition, to_code) REFERENCES areas (edition, code),
  CHECK (from_edition < to_edition)
);
CREATE INDEX area_successions_to ON area_successions (to_edition, to_code);
REVOKE INSERT, UPDATE ON area_editions, areas, area_successions FROM ansinh_app;

-- Records name the edition of their unit.
ALTER TABLE role_assignments ADD COLUMN area_edition text NOT NULL DEFAULT '2025-03';
ALTER TABLE role_assignments ALTER COLUMN area_edition DROP DEFAULT,
  ADD FOREIGN KEY (area_edition, area_code) REFERENCES areas (edition, code);
DROP INDEX role_assignments_active;
CREATE UNIQUE INDEX role_assignments_active ON role_assignments (user_id, role, area_edition, area_code) WHERE revoked_at IS NULL;

ALTER TABLE households ADD COLUMN commune_edition text NOT NULL DEFAULT '2025-03';
ALTER TABLE households ALTER COLUMN commune_edition DROP DEFAULT,
  ADD FOREIGN KEY (commune_edition, commune_code) REFERENCES areas (edition, code),
  DROP CONSTRAINT households_commune_code_code_key,
  ADD CONSTRAINT households_commune_code_key UNIQUE (commune_edition, commune_code, code);
DROP INDEX households_area_id;
CREATE INDEX households_area_id ON households (commune_edition, commune_code, id);

ALTER TABLE reviews ADD COLUMN commune_edition text NOT NULL DEFAULT '2025-03';
ALTER TABLE reviews ALTER COLUMN commune_edition DROP DEFAULT,
  ADD FOREIGN KEY (commune_edition, commune_code) REFERENCES areas (edition, code);
DROP INDEX reviews_one_periodic;
CREATE UNIQUE INDEX reviews_one_periodic ON reviews (commune_edition, commune_code, year) WHERE kind = 'periodic';

-- Nationwide standards and programs have no unit, and so no edition.
ALTER TABLE poverty_standards ADD COLUMN area_edition text;
UPDATE poverty_standards SET area_edition = '2025-03' WHERE area_code IS NOT NULL;
ALTER TABLE poverty_standards
  ADD CHECK ((area_code IS NULL) = (area_edition IS NULL)),
  ADD FOREIGN KEY (area_edition, area_code) REFERENCES areas (edition, code);

ALTER TABLE programs ADD COLUMN area_edition text;
UPDATE programs SET area_edition = '2025-03' WHERE area_code IS NOT NULL;
ALTER TABLE programs
  ADD CHECK ((area_code IS NULL) = (area_edition IS NULL)),
  ADD FOREIGN KEY (area_edition, area_code) REFERENCES areas (edition, code);

ALTER TABLE program_campaigns ADD COLUMN area_edition text NOT NULL DEFAULT '2025-03';
ALTER TABLE program_campaigns ALTER COLUMN area_edition DROP DEFAULT,
  ADD FOREIGN KEY (area_edition, area_code) REFERENCES areas (edition, code);

ALTER TABLE program_budgets ADD COLUMN area_edition text NOT NULL DEFAULT '2025-03';
ALTER TABLE program_budgets ALTER COLUMN area_edition DROP DEFAULT,
  ADD FOREIGN KEY (area_edition, area_code) REFERENCES areas (edition, code),
  DROP CONSTRAINT program_budgets_pkey,
  ADD PRIMARY KEY (program_code, area_edition, area_code, year);

ALTER TABLE report_targets ADD COLUMN area_edition text NOT NULL DEFAULT '2025-03';
ALTER TABLE report_targets ALTER COLUMN area_edition DROP DEFAULT,
  ADD FOREIGN KEY (area_edition, area_code) REFERENCES areas (edition, code),
  DROP CONSTRAINT report_targets_area_code_metric_year_key,
  ADD CONSTRAINT report_targets_area_key UNIQUE (area_edition, area_code, metric, year);

-- +goose Down
-- Only while every record and unit is of 2025-03 (the foreign keys below
-- refuse otherwise).
DELETE FROM area_successions;
DROP TABLE area_successions;
ALTER TABLE report_targets DROP CONSTRAINT report_targets_area_key, DROP COLUMN area_edition,
  ADD CONSTRAINT report_targets_area_code_metric_year_key UNIQUE (area_code, metric, year);
ALTER TABLE program_budgets DROP CONSTRAINT program_budgets_pkey, DROP COLUMN area_edition,
  ADD PRIMARY KEY (program_code, area_code, year);
ALTER TABLE program_campaigns DROP COLUMN area_edition;
ALTER TABLE programs DROP COLUMN area_edition;
ALTER TABLE poverty_standards DROP COLUMN area_edition;
DROP INDEX reviews_one_periodic;
ALTER TABLE reviews DROP COLUMN commune_edition;
CREATE UNIQUE INDEX reviews_one_periodic ON reviews (commune_code, year) WHERE kind = 'periodic';
ALTER TABLE households DROP COLUMN commune_edition,
  ADD CONSTRAINT households_commune_code_code_key UNIQUE (commune_code, code);
CREATE INDEX households_area_id ON households (commune_code, id);
ALTER TABLE role_assignments DROP COLUMN area_edition;
CREATE UNIQUE INDEX role_assignments_active ON role_assignments (user_id, role, area_code) WHERE revoked_at IS NULL;
DROP TRIGGER areas_path ON areas;
DROP INDEX areas_code;
DROP INDEX areas_parent;
DROP INDEX areas_level;
ALTER TABLE areas DROP CONSTRAINT areas_parent_fkey, DROP CONSTRAINT areas_edition_path_key, DROP CONSTRAINT areas_pkey;
DELETE FROM areas WHERE edition <> '2025-03';
ALTER TABLE areas DROP COLUMN edition, ADD PRIMARY KEY (code), ADD CONSTRAINT areas_path_key UNIQUE (path),
  ADD CONSTRAINT areas_parent_code_fkey FOREIGN KEY (parent_code) REFERENCES areas (code);
CREATE INDEX areas_parent ON areas (parent_code, code);
CREATE INDEX areas_level ON areas (level, code);
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION areas_set_path() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  parent_path ltree;
BEGIN
  IF NEW.parent_code IS NULL THEN
    NEW.path := NEW.code::ltree;
  ELSE
    SELECT path INTO parent_path FROM areas WHERE code = NEW.parent_code;
    IF parent_path IS NULL THEN
      RAISE EXCEPTION 'area %: parent % does not exist', NEW.code, NEW.parent_code USING ERRCODE = 'foreign_key_violation';
    END IF;
    NEW.path := parent_path || NEW.code;
  END IF;
  RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER areas_path BEFORE INSERT OR UPDATE OF parent_code, code ON areas
  FOR EACH ROW EXECUTE FUNCTION areas_set_path();
ALTER TABLE role_assignments ADD FOREIGN KEY (area_code) REFERENCES areas (code);
ALTER TABLE households ADD FOREIGN KEY (commune_code) REFERENCES areas (code);
ALTER TABLE poverty_standards ADD FOREIGN KEY (area_code) REFERENCES areas (code);
ALTER TABLE reviews ADD FOREIGN KEY (commune_code) REFERENCES areas (code);
ALTER TABLE programs ADD FOREIGN KEY (area_code) REFERENCES areas (code);
ALTER TABLE program_campaigns ADD FOREIGN KEY (area_code) REFERENCES areas (code);
ALTER TABLE program_budgets ADD FOREIGN KEY (area_code) REFERENCES areas (code);
ALTER TABLE report_targets ADD FOREIGN KEY (area_code) REFERENCES areas (code);
DROP FUNCTION area_edition_in_use();
DROP INDEX area_editions_one_in_use;
DELETE FROM area_editions WHERE edition <> '2025-03';
ALTER TABLE area_editions DROP CONSTRAINT area_editions_no_overlap;
ALTER TABLE area_editions DROP COLUMN valid_from, DROP COLUMN valid_to, DROP COLUMN in_use, DROP COLUMN source;
