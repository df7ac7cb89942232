-- The change feed of the registry for mobile sync: one row per change of a
-- household (its members included), written in the change's transaction.
-- Readers page by (txid, seq) below the snapshot xmin, so a transaction that
-- commits late is never skipped (the same reasoning as audit sealing).

-- +goose Up
CREATE TABLE registry_changes (
  seq           bigserial   PRIMARY KEY,
  txid          xid8        NOT NULL DEFAULT pg_current_xact_id(),
  household_id  uuid        NOT NULL REFERENCES households (id),
  area_path     ltree       NOT NULL,
  op            text        NOT NULL CHECK (op IN ('upsert', 'archive')),
  changed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registry_changes_order ON registry_changes (txid, seq);
CREATE INDEX registry_changes_area ON registry_changes USING gist (area_path);
REVOKE ALL ON registry_changes FROM ansinh_app;
GRANT SELECT ON registry_changes TO ansinh_app;
GRANT INSERT (household_id, area_path, op) ON registry_changes TO ansinh_app;
GRANT USAGE ON SEQUENCE registry_changes_seq_seq TO ansinh_app;

-- +goose Down
DROP TABLE registry_changes;
