\set n random(1, 2000000000)
SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ts \gset
SELECT id, username, full_name, coalesce(phone, ''), coalesce(email, ''), status, password_hash,
	must_change_password, valid_after, last_login_at, version FROM users WHERE id = '01a2241b-9b48-7737-b7cf-2e942ead3e9e';
SELECT r.role, r.area_code, a.path::text FROM role_assignments r
		JOIN areas a ON a.code = r.area_code WHERE r.user_id = '01a2241b-9b48-7737-b7cf-2e942ead3e9e' AND r.revoked_at IS NULL ORDER BY r.role, r.area_code;
SELECT households.id, households.code, households.commune_code, households.area_path::text,
	households.village, households.address, households.area_type, coalesce(households.phone, ''), households.ethnic_minority,
	households.classification, coalesce(households.classification_decision, ''), households.classification_effective, households.status,
	coalesce(households.archive_reason, ''), households.version, households.created_at, households.updated_at FROM "households" WHERE (households.area_path <@ '91.914.30791'::ltree) AND households.id = '01a2241b-9e6b-720e-bd3f-c911d4f1e2e5';
SELECT id, household_id, full_name, birth_date, birth_year, sex, id_sealed, relationship, ethnicity_code,
	disability, coalesce(education_level, ''), coalesce(occupation, ''), coalesce(employment_status, ''),
	coalesce(insurance_card, ''), insurance_expiry, student, coalesce(school_level, ''), status, status_date, version FROM members WHERE household_id IN ('01a2241b-9e6b-720e-bd3f-c911d4f1e2e5')
		ORDER BY household_id, (relationship = 'head') DESC, birth_year, id;
