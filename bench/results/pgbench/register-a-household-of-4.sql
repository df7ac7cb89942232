\set n random(1, 2000000000)
SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ts \gset
INSERT INTO rate_limits AS r (key, tat, tolerance)
SELECT v.key, now() + make_interval(secs => v.emission), v.tolerance
FROM unnest('{"user:01a24b36-5432-7b4b-890d-c800cc250cff:write","addr:192.0.2.1:write"}'::text[], '{1e-06,1e-07}'::float8[], '{0.999999,0.9999999}'::float8[]) AS v(key, emission, tolerance)
ON CONFLICT (key) DO UPDATE
  SET tat = greatest(r.tat, now()) + (EXCLUDED.tat - now()), tolerance = EXCLUDED.tolerance
  WHERE r.tat <= now() + make_interval(secs => EXCLUDED.tolerance)
RETURNING key, extract(epoch FROM tat - now())::float8;
BEGIN;
SELECT set_config('statement_timeout', '20000', true), set_config('lock_timeout', '5000', true), set_config('ansinh.actor', '01a24b36-5432-7b4b-890d-c800cc250cff', true);
SELECT code, edition, path::text FROM areas
		WHERE edition = area_edition_in_use() AND level = 'commune' AND code IN ('30791');
INSERT INTO households (id, code, commune_code, commune_edition, area_path, village, address, area_type, phone, ethnic_minority, established_on, created_by, updated_by) VALUES ((lpad(to_hex(:ts::bigint), 12, '0') || '7' || substr(md5(:n::text || '-1'), 1, 19))::uuid, ('pgb0-' || :n::text), '30791', '2025-03', '91.914.30791'::ltree, 'Ấp 2', 'tổ 1', 'rural', NULL, false, '2026-12-06 00:00:00', '01a24b36-5432-7b4b-890d-c800cc250cff', '01a24b36-5432-7b4b-890d-c800cc250cff');
INSERT INTO members (id, household_id, full_name, birth_date, birth_year, sex, relationship, ethnicity_code, disability, education_level, occupation, employment_status, insurance_card, insurance_expiry, student, school_level, arrived_on, status, status_date, id_kind, id_sealed, id_lookup) VALUES ((lpad(to_hex(:ts::bigint), 12, '0') || '7' || substr(md5(:n::text || '-2'), 1, 19))::uuid, (lpad(to_hex(:ts::bigint), 12, '0') || '7' || substr(md5(:n::text || '-1'), 1, 19))::uuid, 'Trần Văn An', NULL, 1951, 'male', 'head', NULL, false, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, 'present', NULL, NULL, NULL, NULL), ((lpad(to_hex(:ts::bigint), 12, '0') || '7' || substr(md5(:n::text || '-3'), 1, 19))::uuid, (lpad(to_hex(:ts::bigint), 12, '0') || '7' || substr(md5(:n::text || '-1'), 1, 19))::uuid, 'Nguyễn Thị Anh', NULL, 1953, 'female', 'spouse', NULL, false, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, 'present', NULL, NULL, NULL, NULL), ((lpad(to_hex(:ts::bigint), 12, '0') || '7' || substr(md5(:n::text || '-4'), 1, 19))::uuid, (lpad(to_hex(:ts::bigint), 12, '0') || '7' || substr(md5(:n::text || '-1'), 1, 19))::uuid, 'Trần Văn An', NULL, 2009, 'male', 'child', NULL, false, NULL, NULL, NULL, NULL, NULL, true, NULL, NULL, 'present', NULL, NULL, NULL, NULL), ((lpad(to_hex(:ts::bigint), 12, '0') || '7' || substr(md5(:n::text || '-5'), 1, 19))::uuid, (lpad(to_hex(:ts::bigint), 12, '0') || '7' || substr(md5(:n::text || '-1'), 1, 19))::uuid, 'Trần Thị Anh', NULL, 2013, 'female', 'child', NULL, false, NULL, NULL, NULL, NULL, NULL, true, NULL, NULL, 'present', NULL, NULL, NULL, NULL);
WITH me AS (
			SELECT m.id, m.name_key, m.birth_date, m.birth_year, m.relationship, h.id AS household_id, h.phone,
			       h.commune_edition, h.commune_code, h.area_path
			FROM members m JOIN households h ON h.id = m.household_id WHERE m.id = (lpad(to_hex(:ts::bigint), 12, '0') || '7' || substr(md5(:n::text || '-2'), 1, 19))::uuid
		), found AS (
			SELECT DISTINCT ON (other) other, reason FROM (
				SELECT o.id AS other, 'same_name_and_birth_date' AS reason
				FROM me JOIN members o ON o.name_key = me.name_key AND o.birth_date = me.birth_date
				WHERE o.id <> me.id AND o.status = 'present'
				UNION ALL
				SELECT o.id, 'similar_name_same_year_and_commune'
				FROM me JOIN households oh ON oh.commune_edition = me.commune_edition AND oh.commune_code = me.commune_code
				JOIN members o ON o.household_id = oh.id AND o.birth_year = me.birth_year
				WHERE o.id <> me.id AND o.status = 'present' AND similarity(o.name_key, me.name_key) >= 0.6
				UNION ALL
				SELECT o.id, 'same_phone'
				FROM me JOIN households oh ON oh.phone = me.phone AND oh.id <> me.household_id
				JOIN members o ON o.household_id = oh.id AND o.relationship = 'head' AND o.status = 'present'
				WHERE me.relationship = 'head' AND me.phone IS NOT NULL
			) c ORDER BY other, reason LIMIT 20
		)
		INSERT INTO duplicate_candidates (id, member_a, member_b, reason, area_path)
		SELECT gen_random_uuid(), least(me.id, found.other), greatest(me.id, found.other), found.reason, me.area_path
		FROM me, found
		ON CONFLICT (member_a, member_b) DO NOTHING;
WITH me AS (
			SELECT m.id, m.name_key, m.birth_date, m.birth_year, m.relationship, h.id AS household_id, h.phone,
			       h.commune_edition, h.commune_code, h.area_path
			FROM members m JOIN households h ON h.id = m.household_id WHERE m.id = (lpad(to_hex(:ts::bigint), 12, '0') || '7' || substr(md5(:n::text || '-3'), 1, 19))::uuid
		), found AS (
			SELECT DISTINCT ON (other) other, reason FROM (
				SELECT o.id AS other, 'same_name_and_birth_date' AS reason
				FROM me JOIN members o ON o.name_key = me.name_key AND o.birth_date = me.birth_date
				WHERE o.id <> me.id AND o.status = 'present'
				UNION ALL
				SELECT o.id, 'similar_name_same_year_and_commune'
				FROM me JOIN households oh ON oh.commune_edition = me.commune_edition AND oh.commune_code = me.commune_code
				JOIN members o ON o.household_id = oh.id AND o.birth_year = me.birth_year
				WHERE o.id <> me.id AND o.status = 'present' AND similarity(o.name_key, me.name_key) >= 0.6
				UNION ALL
				SELECT o.id, 'same_phone'
				FROM me JOIN households oh ON oh.phone = me.phone AND oh.id <> me.household_id
				JOIN members o ON o.household_id = oh.id AND o.relationship = 'head' AND o.status = 'present'
				WHERE me.relationship = 'head' AND me.phone IS NOT NULL
			) c ORDER BY other, reason LIMIT 20
		)
		INSERT INTO duplicate_candidates (id, member_a, member_b, reason, area_path)
		SELECT gen_random_uuid(), least(me.id, found.other), greatest(me.id, found.other), found.reason, me.area_path
		FROM me, found
		ON CONFLICT (member_a, member_b) DO NOTHING;
WITH me AS (
			SELECT m.id, m.name_key, m.birth_date, m.birth_year, m.relationship, h.id AS household_id, h.phone,
			       h.commune_edition, h.commune_code, h.area_path
			FROM members m JOIN households h ON h.id = m.household_id WHERE m.id = (lpad(to_hex(:ts::bigint), 12, '0') || '7' || substr(md5(:n::text || '-4'), 1, 19))::uuid
		), found AS (
			SELECT DISTINCT ON (other) other, reason FROM (
				SELECT o.id AS other, 'same_name_and_birth_date' AS reason
				FROM me JOIN members o ON o.name_key = me.name_key AND o.birth_date = me.birth_date
				WHERE o.id <> me.id AND o.status = 'present'
				UNION ALL
				SELECT o.id, 'similar_name_same_year_and_commune'
				FROM me JOIN households oh ON oh.commune_edition = me.commune_edition AND oh.commune_code = me.commune_code
				JOIN members o ON o.household_id = oh.id AND o.birth_year = me.birth_year
				WHERE o.id <> me.id AND o.status = 'present' AND similarity(o.name_key, me.name_key) >= 0.6
				UNION ALL
				SELECT o.id, 'same_phone'
				FROM me JOIN households oh ON oh.phone = me.phone AND oh.id <> me.household_id
				JOIN members o ON o.household_id = oh.id AND o.relationship = 'head' AND o.status = 'present'
				WHERE me.relationship = 'head' AND me.phone IS NOT NULL
			) c ORDER BY other, reason LIMIT 20
		)
		INSERT INTO duplicate_candidates (id, member_a, member_b, reason, area_path)
		SELECT gen_random_uuid(), least(me.id, found.other), greatest(me.id, found.other), found.reason, me.area_path
		FROM me, found
		ON CONFLICT (member_a, member_b) DO NOTHING;
WITH me AS (
			SELECT m.id, m.name_key, m.birth_date, m.birth_year, m.relationship, h.id AS household_id, h.phone,
			       h.commune_edition, h.commune_code, h.area_path
			FROM members m JOIN households h ON h.id = m.household_id WHERE m.id = (lpad(to_hex(:ts::bigint), 12, '0') || '7' || substr(md5(:n::text || '-5'), 1, 19))::uuid
		), found AS (
			SELECT DISTINCT ON (other) other, reason FROM (
				SELECT o.id AS other, 'same_name_and_birth_date' AS reason
				FROM me JOIN members o ON o.name_key = me.name_key AND o.birth_date = me.birth_date
				WHERE o.id <> me.id AND o.status = 'present'
				UNION ALL
				SELECT o.id, 'similar_name_same_year_and_commune'
				FROM me JOIN households oh ON oh.commune_edition = me.commune_edition AND oh.commune_code = me.commune_code
				JOIN members o ON o.household_id = oh.id AND o.birth_year = me.birth_year
				WHERE o.id <> me.id AND o.status = 'present' AND similarity(o.name_key, me.name_key) >= 0.6
				UNION ALL
				SELECT o.id, 'same_phone'
				FROM me JOIN households oh ON oh.phone = me.phone AND oh.id <> me.household_id
				JOIN members o ON o.household_id = oh.id AND o.relationship = 'head' AND o.status = 'present'
				WHERE me.relationship = 'head' AND me.phone IS NOT NULL
			) c ORDER BY other, reason LIMIT 20
		)
		INSERT INTO duplicate_candidates (id, member_a, member_b, reason, area_path)
		SELECT gen_random_uuid(), least(me.id, found.other), greatest(me.id, found.other), found.reason, me.area_path
		FROM me, found
		ON CONFLICT (member_a, member_b) DO NOTHING;
SELECT households.id, households.code, households.commune_code, households.commune_edition, households.area_path::text, households.village, households.address, households.area_type, coalesce(households.phone, ''), households.ethnic_minority, households.classification, coalesce(households.classification_decision, ''), households.classification_effective, households.status, coalesce(households.archive_reason, ''), households.established_on, households.ended_on, households.version, households.created_at, households.updated_at FROM "households" WHERE households.id = (lpad(to_hex(:ts::bigint), 12, '0') || '7' || substr(md5(:n::text || '-1'), 1, 19))::uuid;
SELECT members.id, members.household_id, members.full_name, members.birth_date, members.birth_year, members.sex, members.relationship, members.ethnicity_code, members.disability, coalesce(members.education_level, ''), coalesce(members.occupation, ''), coalesce(members.employment_status, ''), coalesce(members.insurance_card, ''), members.insurance_expiry, members.student, coalesce(members.school_level, ''), members.arrived_on, members.status, members.status_date, members.version, members.id_sealed FROM members WHERE household_id = ANY('{01a24b39-051b-747a-b1b0-52d8bcd62446}'::uuid[])
		ORDER BY household_id, (relationship = 'head') DESC, birth_year, id;
INSERT INTO registry_changes (household_id, area_path, op) VALUES ((lpad(to_hex(:ts::bigint), 12, '0') || '7' || substr(md5(:n::text || '-1'), 1, 19))::uuid, '91.914.30791'::ltree, 'upsert');
INSERT INTO audit_events (id, action, entity_type, entity_id, actor_id, area_path, doc)
		VALUES ((lpad(to_hex(:ts::bigint), 12, '0') || '7' || substr(md5(:n::text || '-6'), 1, 19))::uuid, 'household.create', 'household', (lpad(to_hex(:ts::bigint), 12, '0') || '7' || substr(md5(:n::text || '-1'), 1, 19))::uuid, '01a24b36-5432-7b4b-890d-c800cc250cff', NULLIF('91.914.30791', '')::ltree, '{"actor":{"kind":"user","id":"01a24b36-5432-7b4b-890d-c800cc250cff","name":"bench-3fcdca-w0","roles":[{"role":"commune_worker","area":"30791"}]},"action":"household.create","entity_type":"household","entity_id":"01a24b39-051b-747a-b1b0-52d8bcd62446","area_path":"91.914.30791","request_id":"01a24b39-0518-7635-bc2f-73c20d518b7c","client_ip":"192.0.2.1","after":{"address":"tổ 1","archive_reason":"","area_type":"rural","classification":"none","classification_decision":"","classification_effective":null,"code":"BC-3fcdca","commune":"30791","commune_edition":"2025-03","ended_on":null,"established_on":"2026-12-06T00:00:00Z","ethnic_minority":false,"members":[{"arrived_on":null,"birth_year":1951,"full_name":"Trần Văn An","id":"01a24b39-051b-7487-81ed-2e0222ac514e","relationship":"head","sex":"male","status":"present"},{"arrived_on":null,"birth_year":1953,"full_name":"Nguyễn Thị Anh","id":"01a24b39-051b-7489-a279-5d3661fca1a2","relationship":"spouse","sex":"female","status":"present"},{"arrived_on":null,"birth_year":2009,"full_name":"Trần Văn An","id":"01a24b39-051b-748c-b9d9-e9b6835fb00d","relationship":"child","sex":"male","status":"present"},{"arrived_on":null,"birth_year":2013,"full_name":"Trần Thị Anh","id":"01a24b39-051b-748d-98b8-1157460fc87f","relationship":"child","sex":"female","status":"present"}],"phone":"","status":"active","version":1,"village":"Ấp 2"}}'::json);
COMMIT;
