-- Administrative units: province > district > commune in the three-tier
-- edition, province > commune in the two-tier one. Nothing here assumes a
-- number of levels: a unit's path is its ancestors' codes and its own
-- (91.914.30791), and scoping is path containment.

-- +goose Up
CREATE TABLE areas (
  code         text  PRIMARY KEY CHECK (code ~ '^[0-9]{2,6}$'),
  level        text  NOT NULL CHECK (level IN ('province', 'district', 'commune')),
  parent_code  text  REFERENCES areas (code),
  name         text  NOT NULL CHECK (name <> ''),
  full_name    text  NOT NULL CHECK (full_name <> ''),
  name_en      text  NOT NULL,
  unit_type    text  NOT NULL,
  path         ltree NOT NULL UNIQUE,
  -- names searched without diacritics (Đông Hưng ~ dong hung)
  search_key   text  GENERATED ALWAYS AS (f_search_key(name || ' ' || full_name || ' ' || name_en)) STORED,
  CHECK ((level = 'province') = (parent_code IS NULL))
);
CREATE INDEX areas_path ON areas USING gist (path);
CREATE INDEX areas_parent ON areas (parent_code, code);
CREATE INDEX areas_level ON areas (level, code);
CREATE INDEX areas_search ON areas USING gin (search_key gin_trgm_ops);

-- path is derived from the parent, never supplied.
-- +goose StatementBegin
CREATE FUNCTION areas_set_path() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- Which edition of the official list is loaded.
CREATE TABLE area_editions (
  edition    text        PRIMARY KEY,
  units      integer     NOT NULL,
  loaded_at  timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE area_editions;
DROP TABLE areas;
DROP FUNCTION areas_set_path();
