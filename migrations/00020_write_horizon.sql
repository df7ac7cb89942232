-- compat: previous
-- The horizon of a table (issue 18 item 16): readers that page by
-- transaction id (the sync feed over registry_changes, audit sealing over
-- audit_events) stop below the oldest transaction that may still add rows to
-- that table, not below the oldest transaction of the whole cluster
-- (internal/platform/db/horizon.go explains the rule). A session of another
-- database, or of a role other than the application's, that holds a
-- transaction id but no lock on the table is taken never to write it later.
-- This trigger makes that true: such a session may insert into the table only
-- as its transaction's first write (the table is then locked before the
-- transaction id exists, so readers see the lock) or after
-- ansinh_register_writer(), called before its first write, which locks both
-- tables up front. A maintenance script or a future migration that writes
-- other tables and then these calls ansinh_register_writer() first.
-- The application role (ansinh_app or a member of it) is exempt: readers always wait for its transactions
-- (idle_in_transaction_session_timeout bounds a forgotten one), so the
-- previous release runs on this schema unchanged.

-- +goose Up
-- ansinh_app_role: a login role is the application's when it is ansinh_app or
-- a member of it (README allows either). A superuser is a member of every
-- role to pg_has_role, but is not the application: it counts as another role.
CREATE FUNCTION ansinh_app_role(role oid) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT NOT r.rolsuper AND pg_catalog.pg_has_role(r.oid, 'ansinh_app', 'MEMBER')
                   FROM pg_catalog.pg_roles r WHERE r.oid = role), false)
$$;

-- +goose StatementBegin
CREATE FUNCTION ansinh_register_writer() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF ansinh_app_role((SELECT oid FROM pg_catalog.pg_roles WHERE rolname = session_user)) THEN
    RETURN; -- exempt: readers always wait for the application's transactions
  END IF;
  IF pg_catalog.pg_current_xact_id_if_assigned() IS NOT NULL THEN
    RAISE EXCEPTION 'ansinh_register_writer() must come before the transaction''s first write'
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  LOCK TABLE ONLY public.audit_events, public.registry_changes IN ROW EXCLUSIVE MODE;
  PERFORM pg_catalog.set_config('ansinh.registered_writer', 'on', true);
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION ansinh_horizon_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_catalog.pg_current_xact_id_if_assigned() IS NOT NULL
     AND NOT ansinh_app_role((SELECT oid FROM pg_catalog.pg_roles WHERE rolname = session_user))
     AND coalesce(pg_catalog.current_setting('ansinh.registered_writer', true), '') <> 'on' THEN
    RAISE EXCEPTION 'insert into % after other writes: call ansinh_register_writer() at the start of the transaction', TG_TABLE_NAME
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'readers of the table would otherwise skip this transaction''s rows (see migrations/00020_write_horizon.sql)';
  END IF;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_events_horizon_guard BEFORE INSERT ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION ansinh_horizon_guard();
CREATE TRIGGER registry_changes_horizon_guard BEFORE INSERT ON registry_changes
  FOR EACH STATEMENT EXECUTE FUNCTION ansinh_horizon_guard();

-- +goose Down
DROP TRIGGER registry_changes_horizon_guard ON registry_changes;
DROP TRIGGER audit_events_horizon_guard ON audit_events;
DROP FUNCTION ansinh_horizon_guard();
DROP FUNCTION ansinh_register_writer();
DROP FUNCTION ansinh_app_role(oid);
