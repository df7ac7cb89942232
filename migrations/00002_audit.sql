-- The audit trail: change events and read-access entries, append-only by the
-- database itself, partitioned by month; sealed blocks that make the events
-- tamper-evident without serialising writers.

-- +goose Up

-- Refuses any change to an append-only table, for every role. (A superuser can
-- still disable triggers; that is what sealing and verification are for.)
-- +goose StatementBegin
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit: % on % is not allowed: the audit trail is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

-- An event is one JSON document, stored as the exact text that was written
-- (json, not jsonb), beside the few columns that queries filter on. The seal
-- hashes the document's text and those columns (see internal/audit/chain.go),
-- so neither can change unnoticed, and hashing costs no re-serialisation.
CREATE TABLE audit_events (
  id           uuid        NOT NULL,
  -- The database, not the writer, sets these two: the application role may
  -- not insert them (column privileges below). The sealer relies on txid to
  -- know when no earlier event can still commit.
  txid         xid8        NOT NULL DEFAULT pg_current_xact_id(),
  occurred_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  action       text        NOT NULL CHECK (action ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'),
  entity_type  text        NOT NULL CHECK (entity_type ~ '^[a-z][a-z_]*$'),
  entity_id    text        NOT NULL CHECK (entity_id <> ''),
  actor_id     uuid,
  area_path    ltree,
  doc          json        NOT NULL,
  PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);

-- Newest first is id order: ids are UUIDv7, minted when the event is written.
CREATE INDEX audit_events_txid ON audit_events (txid, id);
CREATE INDEX audit_events_entity ON audit_events (entity_type, entity_id, id);
CREATE INDEX audit_events_actor ON audit_events (actor_id, id);
CREATE INDEX audit_events_area ON audit_events USING gist (area_path);

CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- Who read which person's or household's data, through which route.
CREATE TABLE audit_access (
  id            uuid        NOT NULL,
  occurred_at   timestamptz NOT NULL,
  actor_kind    text        NOT NULL CHECK (actor_kind IN ('user', 'system')),
  actor_id      uuid,
  actor_name    text        NOT NULL,
  actor_roles   jsonb       NOT NULL DEFAULT '[]',
  route         text        NOT NULL,
  request_id    text,
  client_ip     inet,
  subject_type  text        NOT NULL,
  subject_ids   uuid[]      NOT NULL CHECK (cardinality(subject_ids) > 0),
  area_path     ltree,
  PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);

CREATE INDEX audit_access_subjects ON audit_access USING gin (subject_ids);
CREATE INDEX audit_access_actor ON audit_access (actor_id, occurred_at DESC);
CREATE TRIGGER audit_access_no_change BEFORE UPDATE OR DELETE ON audit_access
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_access_no_truncate BEFORE TRUNCATE ON audit_access
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- audit_add_month creates the month's partitions of both tables, with the
-- TRUNCATE guard that partitions do not inherit. Run as the owner (migrations,
-- `ansinh audit partitions`); the default partitions catch anything beyond.
-- +goose StatementBegin
CREATE FUNCTION audit_add_month(month date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  t text;
  part text;
  lo date := date_trunc('month', month);
  hi date := (date_trunc('month', month) + interval '1 month')::date;
BEGIN
  FOREACH t IN ARRAY ARRAY['audit_events', 'audit_access'] LOOP
    part := format('%s_%s', t, to_char(lo, 'YYYYMM'));
    IF to_regclass(part) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', part, t, lo, hi);
      EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()',
                     part || '_no_truncate', part);
      -- The application goes through the parent table, never a partition.
      EXECUTE format('REVOKE ALL ON %I FROM ansinh_app', part);
    END IF;
  END LOOP;
END
$$;
-- +goose StatementEnd

CREATE TABLE audit_events_default PARTITION OF audit_events DEFAULT;
CREATE TRIGGER audit_events_default_no_truncate BEFORE TRUNCATE ON audit_events_default
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TABLE audit_access_default PARTITION OF audit_access DEFAULT;
CREATE TRIGGER audit_access_default_no_truncate BEFORE TRUNCATE ON audit_access_default
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- This month and the next twelve; `ansinh migrate up` (every deployment) and
-- `ansinh audit partitions` keep the window moving.
SELECT audit_add_month((date_trunc('month', now()) + make_interval(months => m))::date)
  FROM generate_series(0, 12) AS m;

-- Sealed blocks. Block n covers every event whose transaction id lies in
-- [from_xid, to_xid): when it was sealed no transaction below to_xid was still
-- running, so no event can join that range later. It lists its events' ids and
-- leaf hashes in (txid, id) order, their Merkle root, and the previous block's
-- hash; block_hash is signed with the seal key.
CREATE TABLE audit_blocks (
  seq          bigint      PRIMARY KEY CHECK (seq > 0),
  from_xid     xid8        NOT NULL,
  to_xid       xid8        NOT NULL,
  event_count  integer     NOT NULL CHECK (event_count >= 0),
  event_ids    uuid[]      NOT NULL,
  leaf_hashes  bytea[]     NOT NULL,
  merkle_root  bytea       NOT NULL,
  prev_hash    bytea       NOT NULL,
  block_hash   bytea       NOT NULL UNIQUE,
  key_id       text        NOT NULL,
  signature    bytea       NOT NULL,
  sealed_at    timestamptz NOT NULL,
  CHECK (from_xid < to_xid),
  CHECK (cardinality(event_ids) = event_count AND cardinality(leaf_hashes) = event_count)
);
CREATE TRIGGER audit_blocks_no_change BEFORE UPDATE OR DELETE ON audit_blocks
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_blocks_no_truncate BEFORE TRUNCATE ON audit_blocks
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- The application role may add and read audit rows, nothing else.
REVOKE ALL ON audit_events, audit_access, audit_blocks, audit_events_default, audit_access_default FROM ansinh_app;
REVOKE ALL ON FUNCTION audit_add_month(date) FROM PUBLIC;
GRANT SELECT ON audit_events TO ansinh_app;
GRANT INSERT (id, action, entity_type, entity_id, actor_id, area_path, doc) ON audit_events TO ansinh_app;
GRANT SELECT, INSERT ON audit_access, audit_blocks TO ansinh_app;

-- +goose Down
DROP TABLE IF EXISTS audit_blocks;
DROP TABLE IF EXISTS audit_access;
DROP TABLE IF EXISTS audit_events;
DROP FUNCTION IF EXISTS audit_add_month(date);
DROP FUNCTION IF EXISTS audit_append_only();
