-- Poverty standards as data, household assessments, the annual review
-- (rà soát) and the generic approval flow it shares with enrollments.
-- Figures and sources: ../shared/domain/vietnam-poverty-rules.md; nothing of
-- them lives in code.

-- +goose Up

-- A standard: national (area_code NULL) or a province's higher local one.
-- valid_to is inclusive. The service keeps standards of one area from
-- overlapping in time.
CREATE TABLE poverty_standards (
  code                   text        PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9._-]{2,40}$'),
  name                   text        NOT NULL CHECK (name <> ''),
  legal_source           text        NOT NULL CHECK (legal_source <> ''),
  valid_from             date        NOT NULL,
  valid_to               date        NOT NULL,
  area_code              text        REFERENCES areas (code),
  area_path              ltree,
  income_line_rural      bigint      NOT NULL CHECK (income_line_rural > 0),
  income_line_urban      bigint      NOT NULL CHECK (income_line_urban > 0),
  average_max_rural      bigint      NOT NULL,
  average_max_urban      bigint      NOT NULL,
  poor_min_deprivations  smallint    NOT NULL DEFAULT 3 CHECK (poor_min_deprivations > 0),
  notes                  text        NOT NULL DEFAULT '',
  created_by             uuid,
  created_at             timestamptz NOT NULL DEFAULT now(),
  CHECK (valid_to >= valid_from),
  CHECK ((area_code IS NULL) = (area_path IS NULL)),
  CHECK (average_max_rural > income_line_rural AND average_max_urban > income_line_urban)
);
CREATE INDEX poverty_standards_period ON poverty_standards (valid_from, valid_to);

-- Its deprivation indicators. prefill names a rule that judges the indicator
-- from registry data (internal/assessment/prefill.go); NULL: the worker answers.
CREATE TABLE poverty_indicators (
  standard_code  text     NOT NULL REFERENCES poverty_standards (code),
  code           text     NOT NULL CHECK (code ~ '^[a-z][a-z_]{1,40}$'),
  position       smallint NOT NULL,
  dimension      text     NOT NULL CHECK (dimension ~ '^[a-z][a-z_]{1,40}$'),
  name_vi        text     NOT NULL CHECK (name_vi <> ''),
  name_en        text     NOT NULL CHECK (name_en <> ''),
  criterion      text     NOT NULL CHECK (criterion <> ''),
  prefill        text     CHECK (prefill IN ('health_insurance', 'child_schooling', 'dependents')),
  PRIMARY KEY (standard_code, code),
  UNIQUE (standard_code, position)
);

INSERT INTO poverty_standards (code, name, legal_source, valid_from, valid_to, income_line_rural, income_line_urban,
  average_max_rural, average_max_urban, notes) VALUES
('ND07-2021', 'Chuẩn nghèo đa chiều giai đoạn 2022–2025',
 'Nghị định 07/2021/NĐ-CP (hiệu lực 15/3/2021); áp dụng đến 31/12/2026 theo Nghị định 351/2025/NĐ-CP',
 '2022-01-01', '2026-12-31', 1500000, 2000000, 2250000, 3000000,
 'Average-living-standard band from a secondary source (confidence M).'),
('ND351-2025', 'Chuẩn nghèo đa chiều giai đoạn 2027–2030',
 'Nghị định 351/2025/NĐ-CP (ngày 30/12/2025)',
 '2027-01-01', '2030-12-31', 2200000, 2800000, 3300000, 4200000,
 'Average band set at 1.5 times the income line, as in the 2022–2025 standard: not yet confirmed by a published text. Indicator list per the draft (confidence M).');

INSERT INTO poverty_indicators (standard_code, code, position, dimension, name_vi, name_en, criterion, prefill)
SELECT s.code, i.code, i.position, i.dimension, i.name_vi, i.name_en, i.criterion, i.prefill
FROM (VALUES ('ND07-2021'), ('ND351-2025')) s (code)
CROSS JOIN (VALUES
  (1, 'employment', 'employment', 'Việc làm', 'Employment',
   'A working-age member is unemployed, or works for wages without a labour contract.', NULL),
  (2, 'dependents', 'employment', 'Người phụ thuộc trong hộ gia đình', 'Dependents',
   'Dependents (children under 16, the elderly or disabled on a monthly social allowance) are more than half the members.', 'dependents'),
  (3, 'nutrition', 'health', 'Dinh dưỡng', 'Nutrition',
   'A child under 16 is stunted or underweight.', NULL),
  (4, 'health_insurance', 'health', 'Bảo hiểm y tế', 'Health insurance',
   'A member aged 6 or over has no health insurance.', 'health_insurance'),
  (5, 'adult_education', 'education', 'Trình độ giáo dục của người lớn', 'Adult education',
   'A member aged 16–30 is neither studying nor has the level expected for their age.', NULL),
  (6, 'child_schooling', 'education', 'Tình trạng đi học của trẻ em', 'Children''s schooling',
   'A child aged 3 to under 16 does not attend school at the level for their age.', 'child_schooling'),
  (7, 'housing_quality', 'housing', 'Chất lượng nhà ở', 'Housing quality',
   'The house is not durable (at least two of wall, pillars, roof of non-durable material).', NULL),
  (8, 'floor_area', 'housing', 'Diện tích nhà ở bình quân đầu người', 'Floor area per person',
   'Less than 8 m² of floor per person.', NULL),
  (9, 'domestic_water', 'water_sanitation', 'Nguồn nước sinh hoạt', 'Domestic water',
   'No access to safe domestic water.', NULL),
  (10, 'toilet', 'water_sanitation', 'Nhà tiêu hợp vệ sinh', 'Hygienic toilet',
   'No hygienic latrine.', NULL),
  (11, 'telecom', 'information', 'Sử dụng dịch vụ viễn thông', 'Telecom services',
   'No member uses telecom services (phone, internet).', NULL)
) i (position, code, dimension, name_vi, name_en, criterion, prefill);

INSERT INTO poverty_indicators (standard_code, code, position, dimension, name_vi, name_en, criterion, prefill) VALUES
('ND07-2021', 'information_means', 12, 'information', 'Phương tiện phục vụ tiếp cận thông tin', 'Means of information',
 'No means of access to information (TV, radio, computer, smartphone).', NULL),
('ND351-2025', 'digital_services', 12, 'information', 'Sử dụng dịch vụ số', 'Digital services',
 'No member uses digital public or commercial services (per the draft; confidence M).', NULL),
('ND351-2025', 'waste_treatment', 13, 'water_sanitation', 'Xử lý rác thải sinh hoạt', 'Household waste treatment',
 'Household waste is not collected or treated hygienically (per the draft; confidence M).', NULL);

-- A review campaign of one commune: the periodic one of a year, or a regular
-- one on a household's request.
CREATE TABLE reviews (
  id                uuid        PRIMARY KEY,
  kind              text        NOT NULL CHECK (kind IN ('periodic', 'regular')),
  commune_code      text        NOT NULL REFERENCES areas (code),
  area_path         ltree       NOT NULL,
  year              smallint    NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  reference_date    date        NOT NULL,
  household_id      uuid        REFERENCES households (id),
  requested_on      date,
  decide_by         date,
  state             text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'surveying', 'meeting_recorded', 'posted',
                                                                       'submitted', 'returned', 'recognized')),
  meeting_date      date,
  meeting_chair     text,
  meeting_attendees integer,
  posting_start     date,
  posting_end       date,
  decision_number   text,
  decision_date     date,
  decision_signer   text,
  return_reason     text,
  note              text        NOT NULL DEFAULT '',
  version           integer     NOT NULL DEFAULT 1,
  created_by        uuid,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_by        uuid,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind = 'regular') = (household_id IS NOT NULL)),
  CHECK ((state = 'recognized') = (decision_number IS NOT NULL))
);
CREATE UNIQUE INDEX reviews_one_periodic ON reviews (commune_code, year) WHERE kind = 'periodic';
CREATE INDEX reviews_area ON reviews USING gist (area_path);
CREATE INDEX reviews_year ON reviews (year, id);

-- One assessment of a household in a review. answers holds one entry per
-- indicator of the standard (its answer, whether deprived, where that came
-- from); reasons, why the classification came out as it did.
CREATE TABLE assessments (
  id                 uuid        PRIMARY KEY,
  household_id       uuid        NOT NULL REFERENCES households (id),
  review_id          uuid        NOT NULL REFERENCES reviews (id),
  area_path          ltree       NOT NULL,
  reference_date     date        NOT NULL,
  standard_code      text        NOT NULL REFERENCES poverty_standards (code),
  area_type          text        NOT NULL CHECK (area_type IN ('rural', 'urban')),
  income_per_person  bigint      NOT NULL CHECK (income_per_person >= 0),
  answers            jsonb       NOT NULL,
  deprivations       smallint    NOT NULL CHECK (deprivations >= 0),
  result             text        NOT NULL CHECK (result IN ('none', 'poor', 'near_poor', 'average')),
  reasons            jsonb       NOT NULL,
  state              text        NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'agreed', 'recognized')),
  votes_agree        integer,
  votes_attendees    integer,
  sent_back          boolean     NOT NULL DEFAULT false,
  note               text        NOT NULL DEFAULT '',
  version            integer     NOT NULL DEFAULT 1,
  created_by         uuid,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_by         uuid,
  updated_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (review_id, household_id)
);
CREATE INDEX assessments_household ON assessments (household_id, id);
CREATE INDEX assessments_review ON assessments (review_id, id);
CREATE INDEX assessments_area ON assessments USING gist (area_path);

-- Objections raised while the result list is posted.
CREATE TABLE review_objections (
  id            uuid        PRIMARY KEY,
  review_id     uuid        NOT NULL REFERENCES reviews (id),
  household_id  uuid        REFERENCES households (id),
  raised_by     text        NOT NULL CHECK (raised_by <> ''),
  raised_on     date        NOT NULL,
  content       text        NOT NULL CHECK (content <> ''),
  outcome       text        CHECK (outcome IN ('dismissed', 'upheld')),
  resolution    text,
  resolved_by   uuid,
  resolved_at   timestamptz,
  created_by    uuid,
  created_at    timestamptz NOT NULL DEFAULT now(),
  CHECK ((outcome IS NULL) = (resolution IS NULL))
);
CREATE INDEX review_objections_review ON review_objections (review_id, id);

-- A household's classification over time: one row per change a recognized
-- review made, with the lists it puts the household on.
ALTER TABLE households ADD COLUMN classification_effective date;
CREATE TABLE classification_changes (
  id              uuid        PRIMARY KEY,
  household_id    uuid        NOT NULL REFERENCES households (id),
  area_path       ltree       NOT NULL,
  review_id       uuid        NOT NULL REFERENCES reviews (id),
  assessment_id   uuid        NOT NULL REFERENCES assessments (id),
  standard_code   text        NOT NULL REFERENCES poverty_standards (code),
  from_class      text        NOT NULL,
  to_class        text        NOT NULL,
  effective_date  date        NOT NULL,
  decision_number text        NOT NULL,
  lists           text[]      NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  CHECK (from_class <> to_class),
  CHECK (lists <@ ARRAY['newly_poor', 'newly_near_poor', 'escaped_poverty', 'escaped_near_poverty', 're_entered_poverty'])
);
CREATE INDEX classification_changes_review ON classification_changes (review_id, id);
CREATE INDEX classification_changes_household ON classification_changes (household_id, effective_date);
CREATE INDEX classification_changes_area ON classification_changes USING gist (area_path);

-- The generic approval flow (internal/approval): the state of each subject's
-- request and every step taken on it.
CREATE TABLE approval_requests (
  subject_type  text        NOT NULL CHECK (subject_type ~ '^[a-z][a-z_]*$'),
  subject_id    uuid        NOT NULL,
  area_path     ltree       NOT NULL,
  state         text        NOT NULL CHECK (state IN ('pending', 'approved', 'returned', 'rejected')),
  submitted_by  text        NOT NULL,
  submitted_at  timestamptz NOT NULL,
  decided_by    text,
  decided_at    timestamptz,
  PRIMARY KEY (subject_type, subject_id)
);
CREATE TABLE approval_steps (
  id            uuid        PRIMARY KEY,
  subject_type  text        NOT NULL,
  subject_id    uuid        NOT NULL,
  action        text        NOT NULL CHECK (action IN ('submit', 'approve', 'return', 'reject')),
  actor         text        NOT NULL,
  actor_id      uuid,
  reason        text        NOT NULL DEFAULT '',
  at            timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (subject_type, subject_id) REFERENCES approval_requests (subject_type, subject_id)
);
CREATE INDEX approval_steps_subject ON approval_steps (subject_type, subject_id, at);

-- History is written once: the application may add to it, never rewrite it.
REVOKE UPDATE ON classification_changes, approval_steps, review_objections FROM ansinh_app;
GRANT UPDATE (outcome, resolution, resolved_by, resolved_at) ON review_objections TO ansinh_app;

-- The sync feed carries assessments beside households.
ALTER TABLE registry_changes ADD COLUMN entity_type text NOT NULL DEFAULT 'household'
  CHECK (entity_type IN ('household', 'assessment'));
ALTER TABLE registry_changes ADD COLUMN entity_id uuid;
GRANT INSERT (entity_type, entity_id) ON registry_changes TO ansinh_app;

-- +goose Down
ALTER TABLE registry_changes DROP COLUMN entity_id;
ALTER TABLE registry_changes DROP COLUMN entity_type;
DROP TABLE approval_steps;
DROP TABLE approval_requests;
DROP TABLE classification_changes;
ALTER TABLE households DROP COLUMN classification_effective;
DROP TABLE review_objections;
DROP TABLE assessments;
DROP TABLE reviews;
DROP TABLE poverty_indicators;
DROP TABLE poverty_standards;
