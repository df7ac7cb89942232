-- Name search in the caller's scope without walking households: each member
-- carries its household's area path (kept by triggers, never by the
-- application) and its given name folded (the last word: Vietnamese people
-- are known by it). A btree over (area path, given name) finds the people
-- called An in a commune at once; a GiST index over (area path, name
-- trigrams) serves "names like this, in this area, nearest first" as an
-- ordered index scan (KNN on the trigram distance) when they are not enough.
-- See docs/registry-search.md for the figures.

-- +goose Up
ALTER TABLE members ADD COLUMN area_path ltree;
UPDATE members m SET area_path = h.area_path FROM households h WHERE h.id = m.household_id;
ALTER TABLE members ALTER COLUMN area_path SET NOT NULL;

-- +goose StatementBegin
CREATE FUNCTION members_take_area_path() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT h.area_path INTO NEW.area_path FROM households h WHERE h.id = NEW.household_id;
  RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER members_area_path BEFORE INSERT OR UPDATE OF household_id, area_path ON members
  FOR EACH ROW EXECUTE FUNCTION members_take_area_path();

-- +goose StatementBegin
CREATE FUNCTION households_pass_area_path() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE members SET area_path = NEW.area_path WHERE household_id = NEW.id;
  RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER households_area_path AFTER UPDATE OF area_path ON households
  FOR EACH ROW WHEN (OLD.area_path IS DISTINCT FROM NEW.area_path) EXECUTE FUNCTION households_pass_area_path();

ALTER TABLE members ADD COLUMN given_key text GENERATED ALWAYS AS (substring(f_search_key(full_name) FROM '[^ ]*$')) STORED;
-- Covering: the first tier reads the index only (name and household with it).
CREATE INDEX members_area_given ON members (area_path, given_key text_pattern_ops) INCLUDE (name_key, household_id);

-- siglen 64: names are short, and a longer signature keeps the distance
-- bounds of inner pages tight enough for the nearest-first scan.
CREATE INDEX members_area_name ON members USING gist (area_path, name_key gist_trgm_ops (siglen = 64));

-- +goose Down
DROP INDEX members_area_name;
DROP INDEX members_area_given;
ALTER TABLE members DROP COLUMN given_key;
DROP TRIGGER households_area_path ON households;
DROP FUNCTION households_pass_area_path();
DROP TRIGGER members_area_path ON members;
DROP FUNCTION members_take_area_path();
ALTER TABLE members DROP COLUMN area_path;
