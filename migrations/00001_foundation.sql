-- Foundation: extensions, the application role's grants, and an immutable
-- accent-folding function for indexes on names.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS ltree;
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- The application role that `serve` connects as (or a group its login role is
-- a member of). scripts/db.sh creates it as a login role; in production a DBA
-- creates it, else this creates it as a group role when the owner may.
-- +goose StatementBegin
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ansinh_app') THEN
    CREATE ROLE ansinh_app NOLOGIN;
  END IF;
END
$$;
-- +goose StatementEnd

-- The application reads and writes rows; it never changes the schema and never
-- deletes (records are archived, not deleted). Tables that are stricter (the
-- audit trail) revoke more in their own migration.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO ansinh_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE ON TABLES TO ansinh_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ansinh_app;
-- serve checks at start that the schema is not behind the binary.
GRANT SELECT ON goose_db_version TO ansinh_app;

-- f_unaccent folds Vietnamese diacritics (and đ/Đ, which unaccent's rules also
-- cover, made explicit here) so that "Đông Hưng" matches "dong hung". The
-- SQL-standard body binds the dictionary at creation, which makes IMMUTABLE
-- truthful and the function usable in expression indexes.
-- +goose StatementBegin
CREATE FUNCTION f_unaccent(text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  SELECT public.unaccent('public.unaccent'::regdictionary, translate($1, 'đĐ', 'dD'));
END;
-- +goose StatementEnd

-- f_search_key is the folded, lower-cased form used by name search indexes.
-- +goose StatementBegin
CREATE FUNCTION f_search_key(text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  SELECT lower(public.f_unaccent($1));
END;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION IF EXISTS f_search_key(text);
DROP FUNCTION IF EXISTS f_unaccent(text);
REVOKE SELECT ON goose_db_version FROM ansinh_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM ansinh_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE ON TABLES FROM ansinh_app;
REVOKE USAGE ON SCHEMA public FROM ansinh_app;
