-- compat: previous
-- Commune designations as dated data (issue 16): by decision of the Prime
-- Minister or the Committee for Ethnic Minority Affairs, a unit (a commune,
-- or a district for a poor district) or one hamlet of a commune carries a
-- designation for a period. Designations are per edition: a list made under
-- the 2025-03 units names those units, and the reorganization does not
-- carry them over (the new communes get lists of their own).

-- +goose Up
CREATE TABLE area_designations (
  id              uuid        PRIMARY KEY,
  kind            text        NOT NULL CHECK (kind IN ('coastal_extremely_difficult', 'ethnic_mountainous_zone',
                                'extremely_difficult_hamlet', 'border_commune', 'poor_district')),
  -- I, II or III for the ethnic-minority and mountainous region (III: extremely difficult).
  zone            text        CHECK (zone IN ('I', 'II', 'III')),
  area_edition    text        NOT NULL,
  area_code       text        NOT NULL,
  area_path       ltree       NOT NULL,
  -- A hamlet (thôn, ấp, bản) of the commune, for a hamlet's designation.
  village         text        CHECK (village <> ''),
  valid_from      date        NOT NULL,
  valid_to        date,
  decision_number text        NOT NULL CHECK (decision_number <> ''),
  decision_date   date        NOT NULL,
  issuer          text        NOT NULL DEFAULT '',
  -- Marked by the demo: not a real list.
  illustrative    boolean     NOT NULL DEFAULT false,
  created_at      timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (area_edition, area_code) REFERENCES areas (edition, code),
  CHECK ((kind = 'ethnic_mountainous_zone') = (zone IS NOT NULL)),
  CHECK ((kind = 'extremely_difficult_hamlet') = (village IS NOT NULL)),
  CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
-- One designation of a kind a unit (or hamlet) and start: a list loaded
-- again replaces, rather than repeats.
CREATE UNIQUE INDEX area_designations_one ON area_designations (kind, area_edition, area_code, coalesce(village, ''), valid_from);
CREATE INDEX area_designations_area ON area_designations USING gist (area_path);
GRANT DELETE ON area_designations TO ansinh_app;

-- +goose Down
DROP TABLE area_designations;
