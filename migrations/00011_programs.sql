-- Support programs: the catalog (rules and benefit parameters as data),
-- campaigns, budgets, enrollments through the approval flow, and the records
-- of support actually delivered. Amounts and sources:
-- ../shared/domain/vietnam-poverty-rules.md §3.

-- +goose Up
-- rule: [{"when": <expr>, "because_vi": ..., "because_en": ...}], every clause
-- must hold. params: [{"from": date, "to": date|null, "values": {...},
-- "computed": {name: <expr>}}], the entry in force on an enrollment's start.
-- amount: an expression for what one enrollment commits of the budget (VND).
CREATE TABLE programs (
  code          text        PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,40}$'),
  name_vi       text        NOT NULL CHECK (name_vi <> ''),
  name_en       text        NOT NULL CHECK (name_en <> ''),
  legal_basis   text        NOT NULL CHECK (legal_basis <> ''),
  kind          text        NOT NULL CHECK (kind IN ('health_insurance', 'tuition', 'study_cost', 'housing', 'vocational_training',
                                                     'loan', 'electricity', 'legal_aid', 'gift', 'relief')),
  level         text        NOT NULL CHECK (level IN ('household', 'member')),
  area_code     text        REFERENCES areas (code),
  area_path     ltree,
  rule          jsonb       NOT NULL,
  params        jsonb       NOT NULL DEFAULT '[]',
  amount        text        NOT NULL DEFAULT '0',
  funding       text[]      NOT NULL DEFAULT '{}',
  status        text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed')),
  version       integer     NOT NULL DEFAULT 1,
  created_by    uuid,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_by    uuid,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CHECK ((area_code IS NULL) = (area_path IS NULL))
);

-- A campaign of a gift or relief program: a package amount over a period.
CREATE TABLE program_campaigns (
  id              uuid        PRIMARY KEY,
  program_code    text        NOT NULL REFERENCES programs (code),
  name            text        NOT NULL CHECK (name <> ''),
  area_code       text        NOT NULL REFERENCES areas (code),
  area_path       ltree       NOT NULL,
  starts_on       date        NOT NULL,
  ends_on         date        NOT NULL CHECK (ends_on >= starts_on),
  package_amount  bigint      NOT NULL CHECK (package_amount > 0),
  version         integer     NOT NULL DEFAULT 1,
  created_by      uuid,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_by      uuid,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX program_campaigns_program ON program_campaigns (program_code, starts_on);

-- What an area may commit to a program in a year.
CREATE TABLE program_budgets (
  program_code  text        NOT NULL REFERENCES programs (code),
  area_code     text        NOT NULL REFERENCES areas (code),
  area_path     ltree       NOT NULL,
  year          smallint    NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  amount        bigint      NOT NULL CHECK (amount >= 0),
  version       integer     NOT NULL DEFAULT 1,
  updated_by    uuid,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (program_code, area_code, year)
);

CREATE TABLE enrollments (
  id             uuid        PRIMARY KEY,
  program_code   text        NOT NULL REFERENCES programs (code),
  household_id   uuid        NOT NULL REFERENCES households (id),
  member_id      uuid        REFERENCES members (id),
  area_path      ltree       NOT NULL,
  state          text        NOT NULL CHECK (state IN ('proposed', 'returned', 'approved', 'rejected', 'ended')),
  starts_on      date        NOT NULL,
  ends_on        date,
  amount         bigint      NOT NULL DEFAULT 0 CHECK (amount >= 0),
  benefit        jsonb       NOT NULL DEFAULT '{}',
  reason         text        NOT NULL DEFAULT '',
  evidence       text        NOT NULL DEFAULT '',
  flagged_on     date,
  flag_reason    text,
  end_reason     text,
  ended_on       date,
  version        integer     NOT NULL DEFAULT 1,
  created_by     uuid,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_by     uuid,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  CHECK (ends_on IS NULL OR ends_on >= starts_on),
  CHECK ((state = 'ended') = (ended_on IS NOT NULL)),
  CHECK ((flagged_on IS NULL) = (flag_reason IS NULL))
);
-- One live enrollment of a person (or a household) in a program.
CREATE UNIQUE INDEX enrollments_one_live ON enrollments (program_code, household_id, coalesce(member_id, '00000000-0000-0000-0000-000000000000'))
  WHERE state IN ('proposed', 'returned', 'approved');
CREATE INDEX enrollments_household ON enrollments (household_id);
CREATE INDEX enrollments_area ON enrollments USING gist (area_path);
CREATE INDEX enrollments_program ON enrollments (program_code, state, starts_on);
CREATE INDEX enrollments_flagged ON enrollments (flagged_on) WHERE flagged_on IS NOT NULL;

-- Support actually delivered, appended over time; details are the kind's
-- typed record (internal/program/delivery.go).
CREATE TABLE deliveries (
  id             uuid        PRIMARY KEY,
  enrollment_id  uuid        NOT NULL REFERENCES enrollments (id),
  kind           text        NOT NULL,
  area_path      ltree       NOT NULL,
  occurred_on    date        NOT NULL,
  amount         bigint      NOT NULL DEFAULT 0 CHECK (amount >= 0),
  expires_on     date,
  campaign_id    uuid        REFERENCES program_campaigns (id),
  details        jsonb       NOT NULL,
  created_by     uuid,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deliveries_enrollment ON deliveries (enrollment_id, occurred_on);
CREATE INDEX deliveries_expiring ON deliveries (expires_on) WHERE expires_on IS NOT NULL;
CREATE INDEX deliveries_area ON deliveries USING gist (area_path);
-- One package of a campaign per enrollment.
CREATE UNIQUE INDEX deliveries_one_package ON deliveries (enrollment_id, campaign_id) WHERE campaign_id IS NOT NULL;
-- What was delivered is written once.
REVOKE UPDATE ON deliveries FROM ansinh_app;

-- The seeded national programs.
INSERT INTO programs (code, name_vi, name_en, legal_basis, kind, level, rule, params, amount, funding) VALUES
('bhyt_poor', 'Hỗ trợ thẻ BHYT cho người thuộc hộ nghèo', 'Health insurance card for members of poor households',
 'Luật Bảo hiểm y tế; Nghị định 146/2018/NĐ-CP', 'health_insurance', 'member',
 '[{"when": "household.classification == \"poor\"", "because_vi": "thuộc hộ nghèo", "because_en": "is in a poor household"}]',
 '[{"from": "2021-01-01", "values": {"state_share_pct": 100}}]', '0', '{state}'),
('bhyt_near_poor', 'Hỗ trợ thẻ BHYT cho người thuộc hộ cận nghèo', 'Health insurance card support for members of near-poor households',
 'Luật Bảo hiểm y tế; Nghị định 146/2018/NĐ-CP (tỉnh có thể hỗ trợ thêm)', 'health_insurance', 'member',
 '[{"when": "household.classification == \"near_poor\"", "because_vi": "thuộc hộ cận nghèo", "because_en": "is in a near-poor household"}]',
 '[{"from": "2021-01-01", "values": {"state_share_pct": 70}}]', '0', '{state,province}'),
('tuition_exemption', 'Miễn học phí cho học sinh hộ nghèo', 'Tuition exemption for pupils of poor households',
 'Nghị định 81/2021/NĐ-CP', 'tuition', 'member',
 '[{"when": "household.classification == \"poor\"", "because_vi": "thuộc hộ nghèo", "because_en": "is in a poor household"},
   {"when": "member.student", "because_vi": "đang đi học", "because_en": "is a pupil"}]',
 '[{"from": "2021-09-01", "values": {"tuition_share_pct": 100}}]', '0', '{state}'),
('tuition_reduction', 'Giảm 50% học phí cho học sinh hộ cận nghèo', '50% tuition reduction for pupils of near-poor households',
 'Nghị định 81/2021/NĐ-CP', 'tuition', 'member',
 '[{"when": "household.classification == \"near_poor\"", "because_vi": "thuộc hộ cận nghèo", "because_en": "is in a near-poor household"},
   {"when": "member.student && member.school_level in [\"preschool\", \"upper_secondary\"]", "because_vi": "học mầm non hoặc trung học phổ thông", "because_en": "is in preschool or upper secondary school"}]',
 '[{"from": "2021-09-01", "values": {"tuition_share_pct": 50}}]', '0', '{state}'),
('study_cost', 'Hỗ trợ chi phí học tập', 'Study-cost support',
 'Nghị định 81/2021/NĐ-CP', 'study_cost', 'member',
 '[{"when": "household.classification == \"poor\"", "because_vi": "thuộc hộ nghèo", "because_en": "is in a poor household"},
   {"when": "member.student && member.age >= 3 && member.age <= 18", "because_vi": "đang đi học", "because_en": "is a pupil"}]',
 '[{"from": "2021-09-01", "values": {"monthly_amount": 150000, "max_months": 9, "payments_per_year": 2}}]', '150000 * 9', '{state}'),
('housing_new', 'Hỗ trợ xây mới nhà ở', 'Housing: new build',
 'Quyết định 90/QĐ-TTg (2022)', 'housing', 'household',
 '[{"when": "household.classification in [\"poor\", \"near_poor\"]", "because_vi": "hộ nghèo hoặc cận nghèo", "because_en": "the household is poor or near-poor"}]',
 '[{"from": "2022-01-01", "values": {"amount": 40000000}}]', '40000000', '{state,fatherland_front,community}'),
('housing_repair', 'Hỗ trợ sửa chữa nhà ở', 'Housing: repair',
 'Quyết định 90/QĐ-TTg (2022)', 'housing', 'household',
 '[{"when": "household.classification in [\"poor\", \"near_poor\"]", "because_vi": "hộ nghèo hoặc cận nghèo", "because_en": "the household is poor or near-poor"}]',
 '[{"from": "2022-01-01", "values": {"amount": 20000000}}]', '20000000', '{state,fatherland_front,community}'),
('vocational_training', 'Hỗ trợ đào tạo nghề', 'Vocational training',
 'Quyết định 46/2015/QĐ-TTg', 'vocational_training', 'member',
 '[{"when": "household.classification in [\"poor\", \"near_poor\"] || member.disability", "because_vi": "thuộc hộ nghèo, cận nghèo hoặc là người khuyết tật", "because_en": "is in a poor or near-poor household, or has a disability"},
   {"when": "member.age >= 15 && member.age <= 60", "because_vi": "trong độ tuổi lao động", "because_en": "is of working age"}]',
 '[{"from": "2015-11-15", "values": {"meal_per_day": 30000, "travel_15km": 200000},
    "computed": {"course_max": "member.disability ? 6000000 : household.classification == \"poor\" && household.ethnic_minority ? 4000000 : household.classification == \"poor\" ? 3000000 : 2500000"}}]',
 'member.disability ? 6000000 : household.classification == "poor" && household.ethnic_minority ? 4000000 : household.classification == "poor" ? 3000000 : 2500000',
 '{state}'),
('vbsp_loan', 'Cho vay ưu đãi Ngân hàng Chính sách xã hội', 'VBSP preferential loan',
 'Nghị định 78/2002/NĐ-CP; lãi suất theo quyết định của Thủ tướng', 'loan', 'household',
 '[{"when": "household.classification in [\"poor\", \"near_poor\"] || household.years_since_escaping >= 0 && household.years_since_escaping < 3", "because_vi": "hộ nghèo, cận nghèo hoặc mới thoát nghèo dưới 3 năm", "because_en": "the household is poor, near-poor, or escaped poverty less than 3 years ago"}]',
 '[{"from": "2019-01-01", "values": {"max_amount": 100000000, "collateral": false, "overdue_rate_factor": 1.3},
    "computed": {"rate_pct": "household.classification == \"poor\" ? 6.6 : household.classification == \"near_poor\" ? 7.92 : 8.25"}}]',
 '0', '{vbsp}'),
('electricity', 'Hỗ trợ tiền điện', 'Electricity support',
 'Quyết định 28/2014/QĐ-TTg', 'electricity', 'household',
 '[{"when": "household.classification == \"poor\"", "because_vi": "hộ nghèo", "because_en": "the household is poor"}]',
 '[{"from": "2014-06-01", "values": {"kwh_per_month": 30, "paid": "quarterly"}}]', '0', '{state}'),
('legal_aid', 'Trợ giúp pháp lý', 'Legal aid',
 'Luật Trợ giúp pháp lý 2017', 'legal_aid', 'household',
 '[{"when": "household.classification == \"poor\"", "because_vi": "hộ nghèo", "because_en": "the household is poor"}]',
 '[]', '0', '{state}'),
('holiday_gift', 'Quà Tết', 'Holiday gifts',
 'Chương trình vận động của Ủy ban MTTQ và tỉnh', 'gift', 'household',
 '[{"when": "household.classification in [\"poor\", \"near_poor\"] || household.ethnic_minority", "because_vi": "hộ nghèo, cận nghèo hoặc đồng bào dân tộc thiểu số", "because_en": "the household is poor, near-poor or of an ethnic minority"}]',
 '[]', '0', '{state,fatherland_front,community}'),
('disaster_relief', 'Cứu trợ thiên tai', 'Disaster relief',
 'Nghị định 20/2021/NĐ-CP', 'relief', 'household',
 '[{"when": "household.classification in [\"poor\", \"near_poor\"] || household.ethnic_minority", "because_vi": "hộ nghèo, cận nghèo hoặc đồng bào dân tộc thiểu số gặp khó khăn", "because_en": "the household is poor, near-poor or of an ethnic minority in hardship"}]',
 '[]', '0', '{state,fatherland_front,community}');

-- +goose Down
DROP TABLE deliveries;
DROP TABLE enrollments;
DROP TABLE program_budgets;
DROP TABLE program_campaigns;
DROP TABLE programs;
