-- compat: previous
-- (The release before this one does not know poverty_standards.assessable:
-- while both run, it could assess a household dated 2016-2021 under the
-- 2016-2020 standard instead of refusing it with no_standard.)
-- The registry's past (issue 17): the recognized lists of earlier years,
-- loaded from the files provinces keep (internal/importer, kind history).
--
-- A year's recognition is a row of classification_changes with source
-- 'history': no review or assessment made it, a decision did (its number
-- and date; the date is when it took effect). Unlike a review's change it
-- may confirm the class the household already had (poor again this year):
-- the list of that year names it, and a re-run must find it. One such row a
-- household a list year (list_year: a list decided early the next year is
-- still its year's). The source defaults to 'review': the release before
-- this one writes review changes without naming it.
--
-- The 2016-2020 multidimensional standard (Decision 59/2015/QD-TTg, applied
-- through 2021) is recorded so that the years it governed name their
-- standard, and the trend report can break where the standard changed. Its
-- rule differed from the later one (income at or under the line alone made
-- a household poor); the registry's own assessments implement the 2022 rule
-- only, so it is marked not assessable: an assessment dated in 2021 still
-- finds no standard, as before.

-- +goose Up
-- assessable: the registry's assessments implement the standard's rule. A
-- standard recorded for history only names the years it governed.
ALTER TABLE poverty_standards ADD COLUMN assessable boolean NOT NULL DEFAULT true;

INSERT INTO poverty_standards (code, name, legal_source, valid_from, valid_to, income_line_rural, income_line_urban,
  average_max_rural, average_max_urban, assessable, notes) VALUES
('QD59-2015', 'Chuẩn nghèo tiếp cận đa chiều giai đoạn 2016–2020',
 'Quyết định 59/2015/QĐ-TTg; tiếp tục áp dụng trong năm 2021 đến khi chuẩn giai đoạn 2022–2025 có hiệu lực',
 '2016-01-01', '2021-12-31', 700000, 900000, 1000000, 1300000, false,
 'Recorded for the history of classifications. Its rule: income at or under the line is poor; income above it and up to the near-poor ceiling (1,000,000 rural, 1,300,000 urban, here average_max) is poor with 3 or more of its 10 deprivations, else near-poor. Assessments in ansinh apply the 2022-2025 rule only, so none is made under this standard.');

INSERT INTO poverty_indicators (standard_code, code, position, dimension, name_vi, name_en, criterion) VALUES
('QD59-2015', 'health_access', 1, 'health', 'Tiếp cận các dịch vụ y tế', 'Access to health services',
 'A sick member did not get medical treatment.'),
('QD59-2015', 'health_insurance', 2, 'health', 'Bảo hiểm y tế', 'Health insurance', 'A member aged 6 or over has no health insurance.'),
('QD59-2015', 'adult_education', 3, 'education', 'Trình độ giáo dục của người lớn', 'Adult education',
 'A member born in 1986 or later has not completed lower secondary school and is not studying.'),
('QD59-2015', 'child_schooling', 4, 'education', 'Tình trạng đi học của trẻ em', 'Children''s schooling',
 'A child aged 5 to 14 does not attend school.'),
('QD59-2015', 'housing_quality', 5, 'housing', 'Chất lượng nhà ở', 'Housing quality', 'The house is makeshift or simple.'),
('QD59-2015', 'floor_area', 6, 'housing', 'Diện tích nhà ở bình quân đầu người', 'Floor area per person', 'Less than 8 m² of floor per person.'),
('QD59-2015', 'domestic_water', 7, 'water_sanitation', 'Nguồn nước sinh hoạt', 'Domestic water', 'No access to hygienic water.'),
('QD59-2015', 'toilet', 8, 'water_sanitation', 'Hố xí/nhà tiêu hợp vệ sinh', 'Hygienic toilet', 'No hygienic latrine.'),
('QD59-2015', 'telecom', 9, 'information', 'Sử dụng dịch vụ viễn thông', 'Telecom services', 'No member uses a phone or the internet.'),
('QD59-2015', 'information_means', 10, 'information', 'Tài sản phục vụ tiếp cận thông tin', 'Means of information',
 'The household has none of a television, radio, computer, or a telephone that reaches the internet.');

ALTER TABLE classification_changes
  ALTER COLUMN review_id DROP NOT NULL,
  ALTER COLUMN assessment_id DROP NOT NULL,
  ADD COLUMN source text NOT NULL DEFAULT 'review' CHECK (source IN ('review', 'history')),
  ADD COLUMN import_source text,
  ADD COLUMN list_year smallint CHECK (list_year BETWEEN 2000 AND 2100),
  ADD COLUMN income_per_person bigint CHECK (income_per_person >= 0),
  ADD COLUMN deprivations text[],
  DROP CONSTRAINT classification_changes_check,
  ADD CONSTRAINT classification_changes_changed CHECK (from_class <> to_class OR source = 'history'),
  ADD CONSTRAINT classification_changes_made_by CHECK (
    (source = 'review') = (review_id IS NOT NULL AND assessment_id IS NOT NULL)
    AND (source = 'history') = (import_source IS NOT NULL AND list_year IS NOT NULL));
CREATE UNIQUE INDEX classification_changes_history ON classification_changes (household_id, list_year) WHERE source = 'history';

-- A history under units a reorganization replaced finds its households by
-- the commune and code they had there.
CREATE INDEX reorganization_moves_old_code ON reorganization_moves (from_code, old_household_code);

-- An import job reads households with their members, or the history of
-- their classification.
ALTER TABLE import_jobs
  ADD COLUMN kind text NOT NULL DEFAULT 'households' CHECK (kind IN ('households', 'history')),
  ADD COLUMN years_recorded integer NOT NULL DEFAULT 0,
  ADD COLUMN years_existing integer NOT NULL DEFAULT 0;

-- +goose Down
DROP INDEX reorganization_moves_old_code;
ALTER TABLE import_jobs DROP COLUMN years_existing, DROP COLUMN years_recorded, DROP COLUMN kind;
DELETE FROM classification_changes WHERE source = 'history';
DROP INDEX classification_changes_history;
ALTER TABLE classification_changes
  DROP CONSTRAINT classification_changes_made_by,
  DROP CONSTRAINT classification_changes_changed,
  ADD CONSTRAINT classification_changes_check CHECK (from_class <> to_class),
  DROP COLUMN deprivations, DROP COLUMN income_per_person, DROP COLUMN list_year, DROP COLUMN import_source, DROP COLUMN source,
  ALTER COLUMN assessment_id SET NOT NULL,
  ALTER COLUMN review_id SET NOT NULL;
DELETE FROM poverty_indicators WHERE standard_code = 'QD59-2015';
DELETE FROM poverty_standards WHERE code = 'QD59-2015';
ALTER TABLE poverty_standards DROP COLUMN assessable;
