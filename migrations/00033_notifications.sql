-- compat: previous
-- Notifications through a transactional outbox (issue 19, item 2). A
-- notification is written by a trigger in the transaction of the change that
-- causes it (a review submitted or returned, a regular review requested, an
-- enrollment proposed, returned or flagged, a complaint received or
-- accepted, an import finished with problems), so it exists if and only if
-- the change committed, whichever code path made it. The dispatcher
-- (internal/notify) fans each one out to the users whose roles act on that
-- work, by their preferences, and delivers with retries.
--
-- Each change writes its own row (a plain INSERT: writers never wait for
-- each other here). The dispatcher gathers the rows of one kind and place
-- waiting together into one message: a designation that proposes 300
-- enrollments in one commune is one message to each approver ("300
-- enrollments await approval"), not 300.

-- +goose Up
-- A UUIDv7 minted in SQL (PostgreSQL 15 has none): the millisecond time over
-- the first 48 bits of a random (v4) UUID, its version bits set to 7.
-- +goose StatementBegin
CREATE FUNCTION uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
  SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
    PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
$$;
-- +goose StatementEnd

CREATE TABLE notifications (
  id            uuid        PRIMARY KEY DEFAULT uuid_v7(),
  kind          text        NOT NULL,  -- an inbox kind
  subject_type  text        NOT NULL,
  subject_id    uuid        NOT NULL,
  area_path     ltree,                 -- where the work is; NULL for a user's own (owner_id)
  exact         boolean     NOT NULL DEFAULT false, -- only the unit at area_path itself acts (a complaint's handler)
  owner_id      uuid        REFERENCES users (id),  -- the one recipient of a user's own work (their import)
  actor_id      uuid,                  -- who caused it: not told of their own act
  due           date,
  reference     text,                  -- a complaint's reference, a program's code: never a name or an ID number
  created_at    timestamptz NOT NULL DEFAULT now(),
  -- The dispatcher takes it, then writes its deliveries; a dispatcher that
  -- died between the two leaves it to be taken again after the lease.
  claimed_at    timestamptz,
  fanned_out_at timestamptz,
  -- The row whose message tells of this one with the others of its kind and
  -- place waiting then (how many, the earliest due date).
  gathered_into uuid,
  CHECK (fanned_out_at IS NULL OR claimed_at IS NOT NULL)
);
CREATE INDEX notifications_to_fan_out ON notifications (kind, area_path, created_at) WHERE fanned_out_at IS NULL;
CREATE INDEX notifications_gathered ON notifications (gathered_into) WHERE gathered_into IS NOT NULL;
CREATE INDEX notifications_created ON notifications (created_at);

-- A user's choices: channels on or off, their addresses (none: the user's
-- own email, phone), the language, the kinds they do not want to hear of.
CREATE TABLE notification_preferences (
  user_id          uuid        PRIMARY KEY REFERENCES users (id),
  language         text        NOT NULL DEFAULT 'vi' CHECK (language IN ('vi', 'en')),
  email            boolean     NOT NULL DEFAULT true,
  email_address    text        CHECK (email_address ~ '^[^@\s]+@[^@\s]+$'),
  webhook          boolean     NOT NULL DEFAULT false,
  webhook_address  text        CHECK (length(webhook_address) BETWEEN 3 AND 100),
  muted_kinds      text[]      NOT NULL DEFAULT '{}',
  version          integer     NOT NULL DEFAULT 1,
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- One message to one user on one channel. Its id is the idempotency key the
-- receiver sees: a retry after a crash between sending and marking sends the
-- same key again.
CREATE TABLE notification_deliveries (
  id               uuid        PRIMARY KEY,
  notification_id  uuid        NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
  user_id          uuid        NOT NULL REFERENCES users (id),
  channel          text        NOT NULL CHECK (channel IN ('email', 'webhook')),
  address          text        NOT NULL,
  endpoint         text,       -- the configured webhook endpoint (by name)
  language         text        NOT NULL CHECK (language IN ('vi', 'en')),
  status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts         integer     NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_error       text,
  sent_at          timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (notification_id, user_id, channel),
  CHECK ((channel = 'webhook') = (endpoint IS NOT NULL))
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notification_deliveries_user ON notification_deliveries (user_id, created_at);
-- Kept for the retention (90 days), then removed by the dispatcher.
GRANT DELETE ON notifications, notification_deliveries TO ansinh_app;

-- notify_work writes a notification in the caller's transaction. Its
-- actor is who the transaction acts for, as the application says at its
-- start (ansinh.actor; none from other clients).
-- +goose StatementBegin
-- (PL/pgSQL, so that the INSERT's plan is kept for the session, not made
-- again on every row of a bulk change.)
CREATE FUNCTION notify_work(p_kind text, p_subject_type text, p_subject uuid, p_path ltree, p_exact boolean,
                            p_owner uuid, p_due date, p_reference text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO notifications (kind, subject_type, subject_id, area_path, exact, owner_id, actor_id, due, reference)
  VALUES (p_kind, p_subject_type, p_subject, p_path, p_exact, p_owner, nullif(current_setting('ansinh.actor', true), '')::uuid,
          p_due, p_reference);
END $$;

CREATE FUNCTION notify_review() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM notify_work('regular_review_due', 'review', NEW.id, NEW.area_path, false, NULL, NEW.decide_by, NULL);
  ELSE
    PERFORM notify_work(CASE NEW.state WHEN 'submitted' THEN 'review_submitted' ELSE 'review_returned' END, 'review', NEW.id,
                        NEW.area_path, false, NULL, NEW.decide_by, NULL);
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION notify_enrollment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM notify_work(CASE WHEN NEW.state = 'approved' THEN 'enrollment_flagged'
                           WHEN NEW.state = 'proposed' THEN 'enrollment_proposed' ELSE 'enrollment_returned' END,
                      'enrollment', NEW.id, NEW.area_path, false, NULL, NULL, NEW.program_code);
  RETURN NULL;
END $$;

CREATE FUNCTION notify_complaint() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.state = 'received' THEN
    PERFORM notify_work('complaint_to_accept', 'complaint', NEW.id, NEW.handler_path, true, NULL, NEW.accept_by, NEW.reference);
  ELSE
    PERFORM notify_work('complaint_to_settle', 'complaint', NEW.id, NEW.handler_path, true, NULL, NEW.settle_by, NEW.reference);
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION notify_import() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM notify_work('import_problems', 'import', NEW.id, NULL, false, NEW.actor_id, NULL, NULL);
  RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER reviews_notify_regular AFTER INSERT ON reviews FOR EACH ROW
  WHEN (NEW.kind = 'regular') EXECUTE FUNCTION notify_review();
CREATE TRIGGER reviews_notify_state AFTER UPDATE OF state ON reviews FOR EACH ROW
  WHEN (NEW.state IS DISTINCT FROM OLD.state AND NEW.state IN ('submitted', 'returned')) EXECUTE FUNCTION notify_review();
CREATE TRIGGER enrollments_notify_new AFTER INSERT ON enrollments FOR EACH ROW
  WHEN (NEW.state = 'proposed') EXECUTE FUNCTION notify_enrollment();
CREATE TRIGGER enrollments_notify_state AFTER UPDATE OF state, flagged_on ON enrollments FOR EACH ROW
  WHEN (NEW.state IS DISTINCT FROM OLD.state AND NEW.state IN ('proposed', 'returned')
        OR NEW.state = 'approved' AND OLD.flagged_on IS NULL AND NEW.flagged_on IS NOT NULL) EXECUTE FUNCTION notify_enrollment();
CREATE TRIGGER complaints_notify_new AFTER INSERT ON complaints FOR EACH ROW
  WHEN (NEW.state = 'received') EXECUTE FUNCTION notify_complaint();
CREATE TRIGGER complaints_notify_state AFTER UPDATE OF state ON complaints FOR EACH ROW
  WHEN (NEW.state IS DISTINCT FROM OLD.state AND NEW.state = 'accepted') EXECUTE FUNCTION notify_complaint();
CREATE TRIGGER import_jobs_notify AFTER UPDATE OF finished_at ON import_jobs FOR EACH ROW
  WHEN (OLD.finished_at IS NULL AND NEW.finished_at IS NOT NULL AND NEW.problem_count > 0 AND NEW.actor_id IS NOT NULL)
  EXECUTE FUNCTION notify_import();

-- The units of earlier editions an area took in whole, through every
-- reorganization: the past its role assignments reach (internal/auth) and
-- the past of the work a notification's recipients cover (internal/notify).
-- +goose StatementBegin
CREATE FUNCTION area_past_paths(p_edition text, p_code text) RETURNS SETOF ltree LANGUAGE sql STABLE AS $$
  WITH RECURSIVE past (edition, code) AS (
    SELECT s.from_edition, s.from_code FROM area_successions s
    WHERE s.to_edition = p_edition AND s.to_code = p_code AND NOT s.divided
    UNION
    SELECT s.from_edition, s.from_code FROM past p JOIN area_successions s
      ON s.to_edition = p.edition AND s.to_code = p.code AND NOT s.divided)
  SELECT o.path FROM past p JOIN areas o ON o.edition = p.edition AND o.code = p.code
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION area_past_paths(text, text);
DROP TRIGGER import_jobs_notify ON import_jobs;
DROP TRIGGER complaints_notify_state ON complaints;
DROP TRIGGER complaints_notify_new ON complaints;
DROP TRIGGER enrollments_notify_state ON enrollments;
DROP TRIGGER enrollments_notify_new ON enrollments;
DROP TRIGGER reviews_notify_state ON reviews;
DROP TRIGGER reviews_notify_regular ON reviews;
DROP FUNCTION notify_import();
DROP FUNCTION notify_complaint();
DROP FUNCTION notify_enrollment();
DROP FUNCTION notify_review();
DROP FUNCTION notify_work(text, text, uuid, ltree, boolean, uuid, date, text);
DROP TABLE notification_deliveries;
DROP TABLE notification_preferences;
DROP TABLE notifications;
DROP FUNCTION uuid_v7();
