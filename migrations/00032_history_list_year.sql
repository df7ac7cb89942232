-- compat: previous
-- A year on a past list is its list's year (list_year), not the date of the
-- decision: a list decided early the next year is still its year's, and a
-- corrected date for a year already recorded is a conflict, not a second
-- row. One history row a household a list year.
--
-- The release before this one writes history rows without list_year: a
-- trigger gives them the year of their effective date (which that release
-- sets to 31 December of the list's year), so both run side by side.

-- +goose Up
ALTER TABLE classification_changes ADD COLUMN list_year smallint CHECK (list_year BETWEEN 2000 AND 2100);
UPDATE classification_changes SET list_year = extract(year FROM effective_date) WHERE source = 'history';

-- +goose StatementBegin
CREATE FUNCTION classification_changes_list_year() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.list_year := extract(year FROM NEW.effective_date);
  RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER classification_changes_list_year BEFORE INSERT ON classification_changes FOR EACH ROW
  WHEN (NEW.source = 'history' AND NEW.list_year IS NULL) EXECUTE FUNCTION classification_changes_list_year();

ALTER TABLE classification_changes
  DROP CONSTRAINT classification_changes_made_by,
  ADD CONSTRAINT classification_changes_made_by CHECK (
    (source = 'review') = (review_id IS NOT NULL AND assessment_id IS NOT NULL)
    AND (source = 'history') = (import_source IS NOT NULL AND list_year IS NOT NULL));
DROP INDEX classification_changes_history;
CREATE UNIQUE INDEX classification_changes_history ON classification_changes (household_id, list_year) WHERE source = 'history';

-- +goose Down
DROP INDEX classification_changes_history;
CREATE UNIQUE INDEX classification_changes_history ON classification_changes (household_id, effective_date) WHERE source = 'history';
ALTER TABLE classification_changes
  DROP CONSTRAINT classification_changes_made_by,
  ADD CONSTRAINT classification_changes_made_by CHECK (
    (source = 'review') = (review_id IS NOT NULL AND assessment_id IS NOT NULL) AND (source = 'history') = (import_source IS NOT NULL));
DROP TRIGGER classification_changes_list_year ON classification_changes;
DROP FUNCTION classification_changes_list_year();
ALTER TABLE classification_changes DROP COLUMN list_year;
