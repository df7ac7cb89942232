\set n random(1, 2000000000)
SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ts \gset
SELECT households.id, households.code, households.commune_code, households.area_path::text,
	households.village, households.address, households.area_type, coalesce(households.phone, ''), households.ethnic_minority,
	households.classification, coalesce(households.classification_decision, ''), households.classification_effective, households.status,
	coalesce(households.archive_reason, ''), households.version, households.created_at, households.updated_at FROM "households" WHERE (households.area_path <@ '91.914.30791'::ltree) AND households.id = '01a24883-2429-7546-90fa-7bd60fc0222a';
SELECT id, household_id, full_name, birth_date, birth_year, sex, id_sealed, relationship, ethnicity_code,
	disability, coalesce(education_level, ''), coalesce(occupation, ''), coalesce(employment_status, ''),
	coalesce(insurance_card, ''), insurance_expiry, student, coalesce(school_level, ''), status, status_date, version FROM members WHERE household_id = ANY('{01a24883-2429-7546-90fa-7bd60fc0222a}'::uuid[])
		ORDER BY household_id, (relationship = 'head') DESC, birth_year, id;
