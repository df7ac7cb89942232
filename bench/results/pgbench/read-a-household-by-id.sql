\set n random(1, 2000000000)
SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ts \gset
INSERT INTO rate_limits AS r (key, tat, tolerance)
SELECT v.key, now() + make_interval(secs => v.emission), v.tolerance
FROM unnest('{"user:01a24d8c-51d5-7a9e-8cd1-ec7cd0658737:read","addr:192.0.2.1:read"}'::text[], '{1e-06,1e-07}'::float8[], '{0.999999,0.9999999}'::float8[]) AS v(key, emission, tolerance)
ON CONFLICT (key) DO UPDATE
  SET tat = greatest(r.tat, now()) + (EXCLUDED.tat - now()), tolerance = EXCLUDED.tolerance
  WHERE r.tat <= now() + make_interval(secs => EXCLUDED.tolerance)
RETURNING key, extract(epoch FROM tat - now())::float8;
SELECT households.id, households.code, households.commune_code, households.commune_edition, households.area_path::text, households.village, households.address, households.area_type, coalesce(households.phone, ''), households.ethnic_minority, households.classification, coalesce(households.classification_decision, ''), households.classification_effective, households.status, coalesce(households.archive_reason, ''), households.established_on, households.ended_on, households.version, households.created_at, households.updated_at FROM "households" WHERE (households.area_path <@ '91.914.30791'::ltree) AND households.id = '01a24d8c-5c72-7d8f-aee9-e31ab3cf7132';
SELECT members.id, members.household_id, members.full_name, members.birth_date, members.birth_year, members.sex, members.relationship, members.ethnicity_code, members.disability, coalesce(members.education_level, ''), coalesce(members.occupation, ''), coalesce(members.employment_status, ''), coalesce(members.insurance_card, ''), members.insurance_expiry, members.student, coalesce(members.school_level, ''), members.arrived_on, members.status, members.status_date, members.version, members.id_sealed FROM members WHERE household_id = ANY('{01a24d8c-5c72-7d8f-aee9-e31ab3cf7132}'::uuid[])
		ORDER BY household_id, (relationship = 'head') DESC, birth_year, id;
