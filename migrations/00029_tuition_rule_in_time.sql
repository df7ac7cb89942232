-- compat: previous
-- Rules in time (issue 17): from the 2025-2026 school year public schooling
-- from preschool to upper secondary is free for every pupil
-- (../shared/domain), so the poor-household tuition exemption of Decree
-- 81/2021 matters for vocational and higher education only (and private
-- schools, which the registry does not record). Its period from 2025-09-01
-- carries that rule; eligibility, gaps and enrollments on an earlier date
-- judge by the rule of 2021.

-- +goose Up
UPDATE programs SET version = version + 1, updated_at = now(), params = '[
  {"from": "2021-09-01", "to": "2025-08-31", "values": {"tuition_share_pct": 100}},
  {"from": "2025-09-01", "values": {"tuition_share_pct": 100}, "rule": [
    {"when": "household.classification == \"poor\"", "because_vi": "thuộc hộ nghèo", "because_en": "is in a poor household"},
    {"when": "member.student && member.school_level in [\"vocational\", \"university\"]",
     "because_vi": "học nghề hoặc đại học (từ năm học 2025–2026 trường công lập từ mầm non đến THPT miễn học phí cho mọi học sinh)",
     "because_en": "is in vocational or higher education (from the 2025-2026 school year public schools from preschool to upper secondary are free for every pupil)"}
  ]}]'::jsonb
WHERE code = 'tuition_exemption';

-- +goose Down
UPDATE programs SET version = version + 1, updated_at = now(),
  params = '[{"from": "2021-09-01", "values": {"tuition_share_pct": 100}}]'::jsonb
WHERE code = 'tuition_exemption';
