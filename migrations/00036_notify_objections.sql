-- compat: previous
-- An objection raised while a review's list is posted is work for the
-- commune's workers, to resolve before the list is recognized: it is
-- notified like the other kinds (migration 00033), due by the posting's end.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION notify_objection() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r reviews%ROWTYPE;
BEGIN
  SELECT * INTO r FROM reviews WHERE id = NEW.review_id;
  PERFORM notify_work('objection_open', 'objection', NEW.id, r.area_path, false, NULL, r.posting_end, NULL);
  RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER review_objections_notify AFTER INSERT ON review_objections FOR EACH ROW
  WHEN (NEW.outcome IS NULL) EXECUTE FUNCTION notify_objection();

-- +goose Down
DROP TRIGGER review_objections_notify ON review_objections;
DROP FUNCTION notify_objection();
