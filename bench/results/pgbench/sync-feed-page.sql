\set n random(1, 2000000000)
SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ts \gset
INSERT INTO rate_limits AS r (key, tat, tolerance)
SELECT v.key, now() + make_interval(secs => v.emission), v.tolerance
FROM unnest('{"user:01a24d8c-51d5-7a9e-8cd1-ec7cd0658737:read","addr:192.0.2.1:read"}'::text[], '{1e-06,1e-07}'::float8[], '{0.999999,0.9999999}'::float8[]) AS v(key, emission, tolerance)
ON CONFLICT (key) DO UPDATE
  SET tat = greatest(r.tat, now()) + (EXCLUDED.tat - now()), tolerance = EXCLUDED.tolerance
  WHERE r.tat <= now() + make_interval(secs => EXCLUDED.tolerance)
RETURNING key, extract(epoch FROM tat - now())::float8;
BEGIN;
SELECT set_config('statement_timeout', '20000', true), set_config('lock_timeout', '5000', true), set_config('ansinh.actor', '01a24d8c-51d5-7a9e-8cd1-ec7cd0658737', true);
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
SELECT txid::text, seq, household_id, entity_type, coalesce(entity_id, household_id), op FROM "registry_changes" WHERE ((txid, seq) > ('0'::text::xid8, 0) AND txid < '907729'::text::xid8) AND (area_path <@ '91.914.30791'::ltree) ORDER BY txid, seq LIMIT 101;
SELECT households.id, households.code, households.commune_code, households.commune_edition, households.area_path::text, households.village, households.address, households.area_type, coalesce(households.phone, ''), households.ethnic_minority, households.classification, coalesce(households.classification_decision, ''), households.classification_effective, households.status, coalesce(households.archive_reason, ''), households.established_on, households.ended_on, households.version, households.created_at, households.updated_at FROM "households" WHERE (households.area_path <@ '91.914.30791'::ltree) AND households.id = ANY('{01a24d8c-5c72-7d8f-aee9-e31ab3cf7132,01a24d8c-5c81-7b80-94d6-5fae49697097,01a24d8c-5c88-795b-b603-996a0e381619,01a24d8c-5c8e-76d9-addb-8a69a400ddc9,01a24d8c-5c93-7cb4-87df-27e203c764ca,01a24d8c-5c99-7e89-a952-305cbbdd8b42,01a24d8c-5c9f-7ef0-9e40-f2bd55fe637b,01a24d8c-5ca5-7c34-9f34-fb12e7d14231,01a24d8c-5cab-781e-b669-abb2de2debc2,01a24d8c-5cb1-7999-b12c-2764f506dd8e,01a24d8c-5cb6-7931-8d5d-371c50e604d1,01a24d8c-5cbb-7df7-950c-8a6442e75be1,01a24d8c-5cc2-700b-9b89-1ef22672b07d,01a24d8c-5cc7-7dcb-b397-a986630db291,01a24d8c-5ccd-7a04-ac30-7b8d5cc233c8,01a24d8c-5cd3-776b-9aaf-37b5235980cd,01a24d8c-5cd9-7281-baf5-f3a2903ff2cd,01a24d8c-5cde-7320-9899-15b35d66170c,01a24d8c-5ce3-763e-b381-2eea204a477b,01a24d8c-5ce9-7003-8df5-5d7e282f0f11}'::uuid[]);
SELECT members.id, members.household_id, members.full_name, members.birth_date, members.birth_year, members.sex, members.relationship, members.ethnicity_code, members.disability, coalesce(members.education_level, ''), coalesce(members.occupation, ''), coalesce(members.employment_status, ''), coalesce(members.insurance_card, ''), members.insurance_expiry, members.student, coalesce(members.school_level, ''), members.arrived_on, members.status, members.status_date, members.version, members.id_sealed FROM members WHERE household_id = ANY('{01a24d8c-5c72-7d8f-aee9-e31ab3cf7132,01a24d8c-5c81-7b80-94d6-5fae49697097,01a24d8c-5c88-795b-b603-996a0e381619,01a24d8c-5c8e-76d9-addb-8a69a400ddc9,01a24d8c-5c93-7cb4-87df-27e203c764ca,01a24d8c-5c99-7e89-a952-305cbbdd8b42,01a24d8c-5c9f-7ef0-9e40-f2bd55fe637b,01a24d8c-5ca5-7c34-9f34-fb12e7d14231,01a24d8c-5cab-781e-b669-abb2de2debc2,01a24d8c-5cb1-7999-b12c-2764f506dd8e,01a24d8c-5cb6-7931-8d5d-371c50e604d1,01a24d8c-5cbb-7df7-950c-8a6442e75be1,01a24d8c-5cc2-700b-9b89-1ef22672b07d,01a24d8c-5cc7-7dcb-b397-a986630db291,01a24d8c-5ccd-7a04-ac30-7b8d5cc233c8,01a24d8c-5cd3-776b-9aaf-37b5235980cd,01a24d8c-5cd9-7281-baf5-f3a2903ff2cd,01a24d8c-5cde-7320-9899-15b35d66170c,01a24d8c-5ce3-763e-b381-2eea204a477b,01a24d8c-5ce9-7003-8df5-5d7e282f0f11}'::uuid[])
		ORDER BY household_id, (relationship = 'head') DESC, birth_year, id;
COMMIT;
