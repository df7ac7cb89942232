-- Evidence attachments (internal/attachment): photos and documents of a
-- household, member, assessment, review, enrollment or delivery record. The
-- bytes live in object storage under an opaque key; this table is what the
-- API knows of them. Nothing is deleted: an attachment is archived with the
-- reason.

-- +goose Up
CREATE TABLE attachments (
  id              uuid        PRIMARY KEY,
  subject_type    text        NOT NULL CHECK (subject_type IN ('household', 'member', 'assessment', 'review', 'enrollment', 'delivery')),
  subject_id      uuid        NOT NULL,
  -- The subject's area when attached: scoping is area_path <@ $scope.
  area_path       ltree       NOT NULL,
  kind            text        NOT NULL CHECK (kind IN ('house_photo', 'minutes', 'decision', 'certificate', 'id_scan', 'other')),
  caption         text        NOT NULL DEFAULT '' CHECK (length(caption) <= 1000),
  taken_at        timestamptz,
  gps_lat         double precision CHECK (gps_lat BETWEEN -90 AND 90),
  gps_lon         double precision CHECK (gps_lon BETWEEN -180 AND 180),
  -- The client's file name, cleaned; shown in Content-Disposition, never a storage path.
  file_name       text        NOT NULL CHECK (file_name <> '' AND length(file_name) <= 255),
  size_bytes      bigint      NOT NULL CHECK (size_bytes > 0),
  sha256          text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  content_type    text        NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp', 'image/heic', 'image/heif', 'application/pdf')),
  storage_key     text        NOT NULL UNIQUE,
  thumbnail_key   text        UNIQUE,
  -- Whether location metadata was removed from the stored bytes.
  metadata_stripped boolean   NOT NULL DEFAULT false,
  status          text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
  archive_reason  text,
  archived_by     uuid,
  archived_at     timestamptz,
  version         integer     NOT NULL DEFAULT 1,
  uploaded_by     uuid,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CHECK ((gps_lat IS NULL) = (gps_lon IS NULL)),
  CHECK ((status = 'archived') = (archive_reason IS NOT NULL)),
  CHECK ((status = 'archived') = (archived_at IS NOT NULL))
);
-- The same file is kept once per subject (archived copies aside).
CREATE UNIQUE INDEX attachments_one_copy ON attachments (subject_type, subject_id, sha256) WHERE status = 'active';
CREATE INDEX attachments_subject ON attachments (subject_type, subject_id, id);
CREATE INDEX attachments_area ON attachments USING gist (area_path);

-- What was stored is written once: only the caption and the archiving change.
REVOKE UPDATE ON attachments FROM ansinh_app;
GRANT UPDATE (caption, status, archive_reason, archived_by, archived_at, version, updated_at) ON attachments TO ansinh_app;

-- A member's attachments (an ID scan) follow the person when they move to
-- a household of another area (transfer, split): the area decides who may
-- see them. The function runs as the table's owner, since the application
-- may not rewrite what was stored.
-- +goose StatementBegin
CREATE FUNCTION attachments_follow_member() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  UPDATE attachments SET area_path = (SELECT area_path FROM households WHERE id = NEW.household_id), updated_at = now()
  WHERE subject_type = 'member' AND subject_id = NEW.id;
  RETURN NULL;
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION attachments_follow_member() FROM PUBLIC;
CREATE TRIGGER members_move_attachments AFTER UPDATE OF household_id ON members
  FOR EACH ROW WHEN (OLD.household_id IS DISTINCT FROM NEW.household_id) EXECUTE FUNCTION attachments_follow_member();

-- +goose Down
DROP TRIGGER members_move_attachments ON members;
DROP FUNCTION attachments_follow_member();
DROP TABLE attachments;
