-- compat: previous
-- Complaints (khiếu nại) under the Law on Complaints 2011 (issue 19): a
-- person's complaint about a decision or act of the commune (a
-- classification, an enrollment or its refusal, a delivery, a staff
-- member's conduct), received by a worker on their behalf, accepted or not
-- within its limit, settled by a reasoned decision within the statutory
-- time, and appealed to the level above. Time limits are data
-- (../shared/domain: "keep every limit as data: they change with the law").

-- +goose Up
CREATE TABLE complaint_time_limits (
  step        text     NOT NULL CHECK (step IN ('accept', 'settle', 'appeal')),
  instance    smallint NOT NULL CHECK (instance IN (1, 2)),
  complex     boolean  NOT NULL,
  remote      boolean  NOT NULL,
  days        smallint NOT NULL CHECK (days > 0),
  legal_basis text     NOT NULL,
  PRIMARY KEY (step, instance, complex, remote)
);
INSERT INTO complaint_time_limits (step, instance, complex, remote, days, legal_basis)
SELECT 'accept', i, c, r, 10, 'Luật Khiếu nại 2011, Điều 27'
FROM (VALUES (1), (2)) i (i), (VALUES (false), (true)) c (c), (VALUES (false), (true)) r (r);
INSERT INTO complaint_time_limits (step, instance, complex, remote, days, legal_basis) VALUES
('settle', 1, false, false, 30, 'Luật Khiếu nại 2011, Điều 28'), ('settle', 1, true, false, 45, 'Luật Khiếu nại 2011, Điều 28'),
('settle', 1, false, true, 45, 'Luật Khiếu nại 2011, Điều 28'), ('settle', 1, true, true, 60, 'Luật Khiếu nại 2011, Điều 28'),
('settle', 2, false, false, 45, 'Luật Khiếu nại 2011, Điều 37'), ('settle', 2, true, false, 60, 'Luật Khiếu nại 2011, Điều 37'),
('settle', 2, false, true, 60, 'Luật Khiếu nại 2011, Điều 37'), ('settle', 2, true, true, 70, 'Luật Khiếu nại 2011, Điều 37');
-- How long after the first decision an appeal may come (45 days in remote areas).
INSERT INTO complaint_time_limits (step, instance, complex, remote, days, legal_basis)
SELECT 'appeal', 1, c, r, CASE WHEN r THEN 45 ELSE 30 END, 'Luật Khiếu nại 2011, Điều 33'
FROM (VALUES (false), (true)) c (c), (VALUES (false), (true)) r (r);

-- A complaint at one instance: the first is settled by the body whose
-- decision or act it is about (its unit: handler_path), an appeal by the
-- level above (the unit containing it). area_path is the household's, for
-- scope; handler_path decides who may accept and settle it.
CREATE TABLE complaints (
  id                 uuid        PRIMARY KEY,
  reference          text        NOT NULL UNIQUE,
  instance           smallint    NOT NULL CHECK (instance IN (1, 2)),
  appeal_of          uuid        UNIQUE REFERENCES complaints (id),
  household_id       uuid        NOT NULL REFERENCES households (id),
  area_path          ltree       NOT NULL,
  handler_edition    text        NOT NULL,
  handler_code       text        NOT NULL,
  handler_path       ltree       NOT NULL,
  complainant_name   text        NOT NULL CHECK (complainant_name <> ''),
  channel            text        NOT NULL CHECK (channel IN ('in_person', 'phone', 'letter', 'hotline', 'client')),
  received_on        date        NOT NULL,
  subject_kind       text        NOT NULL CHECK (subject_kind IN ('classification', 'enrollment', 'enrollment_refusal', 'delivery',
                                                                'staff_conduct', 'other')),
  subject_id         uuid,
  respondent_user_id uuid        REFERENCES users (id),
  content            text        NOT NULL CHECK (content <> ''),
  complex            boolean     NOT NULL DEFAULT false,
  remote             boolean     NOT NULL DEFAULT false,
  state              text        NOT NULL DEFAULT 'received' CHECK (state IN ('received', 'accepted', 'not_accepted', 'settled')),
  accept_by          date        NOT NULL,
  accepted_on        date,
  settle_by          date,
  not_accepted_reason text,
  decided_on         date,
  outcome            text        CHECK (outcome IN ('upheld', 'partly_upheld', 'rejected')),
  reasoning          text,
  decided_by         uuid        REFERENCES users (id),
  version            integer     NOT NULL DEFAULT 1,
  created_by         uuid,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (handler_edition, handler_code) REFERENCES areas (edition, code),
  CHECK ((instance = 2) = (appeal_of IS NOT NULL)),
  CHECK ((state IN ('accepted', 'settled')) = (accepted_on IS NOT NULL AND settle_by IS NOT NULL)),
  CHECK ((state = 'not_accepted') = (not_accepted_reason IS NOT NULL)),
  CHECK ((state = 'settled') = (decided_on IS NOT NULL AND outcome IS NOT NULL AND reasoning IS NOT NULL))
);
CREATE INDEX complaints_area ON complaints USING gist (area_path);
CREATE INDEX complaints_handler ON complaints USING gist (handler_path) WHERE state IN ('received', 'accepted');
CREATE INDEX complaints_household ON complaints (household_id, received_on);

-- What was done to settle it: meetings with the complainant, verifications,
-- evidence received. Written once.
CREATE TABLE complaint_steps (
  id            uuid        PRIMARY KEY,
  complaint_id  uuid        NOT NULL REFERENCES complaints (id),
  kind          text        NOT NULL CHECK (kind IN ('meeting', 'verification', 'evidence', 'note')),
  occurred_on   date        NOT NULL,
  summary       text        NOT NULL CHECK (summary <> ''),
  created_by    uuid,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX complaint_steps_complaint ON complaint_steps (complaint_id, occurred_on);
REVOKE UPDATE ON complaint_steps FROM ansinh_app;

-- References are numbered per handler unit and year.
CREATE TABLE complaint_counters (
  handler_code text     NOT NULL,
  year         smallint NOT NULL,
  last         integer  NOT NULL,
  PRIMARY KEY (handler_code, year)
);

-- +goose Down
DROP TABLE complaint_counters;
DROP TABLE complaint_steps;
DROP TABLE complaints;
DROP TABLE complaint_time_limits;
