\set n random(1, 2000000000)
SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ts \gset
INSERT INTO rate_limits AS r (key, tat, tolerance)
SELECT v.key, now() + make_interval(secs => v.emission), v.tolerance
FROM unnest('{"user:01a24d73-7e83-74e0-8568-da0b03d84fac:read","addr:192.0.2.1:read"}'::text[], '{1e-06,1e-07}'::float8[], '{0.999999,0.9999999}'::float8[]) AS v(key, emission, tolerance)
ON CONFLICT (key) DO UPDATE
  SET tat = greatest(r.tat, now()) + (EXCLUDED.tat - now()), tolerance = EXCLUDED.tolerance
  WHERE r.tat <= now() + make_interval(secs => EXCLUDED.tolerance)
RETURNING key, extract(epoch FROM tat - now())::float8;
BEGIN;
SELECT set_config('statement_timeout', '20000', true), set_config('lock_timeout', '5000', true), set_config('ansinh.actor', '01a24d73-7e83-74e0-8568-da0b03d84fac', true);
WITH snap AS MATERIALIZED (SELECT pg_current_snapshot() AS s),
here AS (SELECT oid FROM pg_database WHERE datname = current_database()),
tbl AS (SELECT 'registry_changes'::regclass AS r),
rels AS (SELECT r AS relid FROM tbl UNION SELECT p.relid FROM tbl, pg_partition_tree(tbl.r) p),
locks AS MATERIALIZED (
  SELECT l.locktype, l.pid, l.virtualtransaction, l.transactionid
  FROM pg_locks l
  WHERE (l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND l.granted)
     OR (l.locktype = 'relation' AND l.database = (SELECT oid FROM here) AND l.relation IN (SELECT relid FROM rels)
         AND l.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'))
),
running AS (SELECT x FROM snap, pg_snapshot_xip(snap.s) AS x)
SELECT CASE WHEN pg_is_in_recovery() THEN pg_snapshot_xmin(s)::text
  ELSE least(pg_snapshot_xmax(s), (
    SELECT min(r.x) FROM running r
    WHERE CASE WHEN EXISTS (
        SELECT 1 FROM locks o, pg_stat_get_activity(o.pid) a
        WHERE o.locktype = 'transactionid' AND o.transactionid = xid(r.x) AND o.pid IS NOT NULL
          AND (a.datid IS DISTINCT FROM (SELECT oid FROM here)
               OR NOT ansinh_app_role(a.usesysid))
          AND NOT EXISTS (SELECT 1 FROM locks t WHERE t.locktype = 'relation' AND t.virtualtransaction = o.virtualtransaction))
      THEN pg_xact_status(r.x) IS DISTINCT FROM 'in progress'
      ELSE true END))::text
  END, pg_snapshot_xmax(s)::text
FROM snap;
SELECT txid::text, seq, household_id, entity_type, coalesce(entity_id, household_id), op FROM "registry_changes" WHERE ((txid, seq) > ('0'::text::xid8, 0) AND txid < '601700'::text::xid8) AND (area_path <@ '91.914.30791'::ltree) ORDER BY txid, seq LIMIT 101;
SELECT households.id, households.code, households.commune_code, households.commune_edition, households.area_path::text, households.village, households.address, households.area_type, coalesce(households.phone, ''), households.ethnic_minority, households.classification, coalesce(households.classification_decision, ''), households.classification_effective, households.status, coalesce(households.archive_reason, ''), households.established_on, households.ended_on, households.version, households.created_at, households.updated_at FROM "households" WHERE (households.area_path <@ '91.914.30791'::ltree) AND households.id = ANY('{01a24d73-893a-7613-ba67-7edd3ae7bb38,01a24d73-8947-7e47-a508-4692ce00ea47,01a24d73-894e-7ab2-bf9e-5a3c1aea91c1,01a24d73-8955-7239-8a4a-52760b1d71bf,01a24d73-895a-77e9-a9b8-7f7d1ed42168,01a24d73-895f-7bb1-9760-845c0fbb0d28,01a24d73-8964-7f33-8284-66ee7a685397,01a24d73-896a-7d73-bb06-d7d26defbe65,01a24d73-8970-714f-ba1e-14c57cd751cb,01a24d73-8975-7966-a532-3545634fb39a,01a24d73-897a-7915-8b77-be2113545e47,01a24d73-897f-75ad-ad34-9ca56f5b2bf0,01a24d73-8984-7c3b-b073-87ab4b10970f,01a24d73-8989-7b13-900b-a2551e8e39b8,01a24d73-898e-7d3a-a7f3-91042886ed20,01a24d73-8994-7421-8227-e3d8d6a9d819,01a24d73-8999-7e11-85ee-64e3946da409,01a24d73-899e-70b9-95ed-bf4a2c227566,01a24d73-89a2-7855-83f6-bda43112f1d9,01a24d73-89a7-7bc8-b17c-6c06bed2d689}'::uuid[]);
SELECT members.id, members.household_id, members.full_name, members.birth_date, members.birth_year, members.sex, members.relationship, members.ethnicity_code, members.disability, coalesce(members.education_level, ''), coalesce(members.occupation, ''), coalesce(members.employment_status, ''), coalesce(members.insurance_card, ''), members.insurance_expiry, members.student, coalesce(members.school_level, ''), members.arrived_on, members.status, members.status_date, members.version, members.id_sealed FROM members WHERE household_id = ANY('{01a24d73-893a-7613-ba67-7edd3ae7bb38,01a24d73-8947-7e47-a508-4692ce00ea47,01a24d73-894e-7ab2-bf9e-5a3c1aea91c1,01a24d73-8955-7239-8a4a-52760b1d71bf,01a24d73-895a-77e9-a9b8-7f7d1ed42168,01a24d73-895f-7bb1-9760-845c0fbb0d28,01a24d73-8964-7f33-8284-66ee7a685397,01a24d73-896a-7d73-bb06-d7d26defbe65,01a24d73-8970-714f-ba1e-14c57cd751cb,01a24d73-8975-7966-a532-3545634fb39a,01a24d73-897a-7915-8b77-be2113545e47,01a24d73-897f-75ad-ad34-9ca56f5b2bf0,01a24d73-8984-7c3b-b073-87ab4b10970f,01a24d73-8989-7b13-900b-a2551e8e39b8,01a24d73-898e-7d3a-a7f3-91042886ed20,01a24d73-8994-7421-8227-e3d8d6a9d819,01a24d73-8999-7e11-85ee-64e3946da409,01a24d73-899e-70b9-95ed-bf4a2c227566,01a24d73-89a2-7855-83f6-bda43112f1d9,01a24d73-89a7-7bc8-b17c-6c06bed2d689}'::uuid[])
		ORDER BY household_id, (relationship = 'head') DESC, birth_year, id;
COMMIT;
