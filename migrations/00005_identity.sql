-- Identity: users, their role assignments at administrative areas, refresh
-- tokens (stored only as hashes, rotated, revoked by family), login throttling.

-- +goose Up
CREATE TABLE users (
  id                    uuid        PRIMARY KEY,
  username              text        NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
  full_name             text        NOT NULL CHECK (full_name <> ''),
  phone                 text,
  email                 text,
  status                text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  password_hash         text        NOT NULL,
  must_change_password  boolean     NOT NULL DEFAULT false,
  -- access tokens issued before this instant are void (disable, password change)
  valid_after           timestamptz NOT NULL DEFAULT now(),
  last_login_at         timestamptz,
  version               integer     NOT NULL DEFAULT 1,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE role_assignments (
  id          uuid        PRIMARY KEY,
  user_id     uuid        NOT NULL REFERENCES users (id),
  role        text        NOT NULL CHECK (role IN ('commune_worker', 'district_approver', 'province_auditor',
                                                   'program_manager', 'system_admin')),
  area_code   text        NOT NULL REFERENCES areas (code),
  granted_by  uuid        REFERENCES users (id),
  granted_at  timestamptz NOT NULL DEFAULT now(),
  revoked_by  uuid        REFERENCES users (id),
  revoked_at  timestamptz
);
CREATE UNIQUE INDEX role_assignments_active ON role_assignments (user_id, role, area_code) WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
  id          uuid        PRIMARY KEY,
  family_id   uuid        NOT NULL,
  user_id     uuid        NOT NULL REFERENCES users (id),
  token_hash  bytea       NOT NULL UNIQUE,
  issued_at   timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,  -- rotated: presenting it again revokes the family
  revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- Failed logins per key ("user:<name>", "ip:<address>") with a growing lock.
CREATE TABLE login_throttle (
  key              text        PRIMARY KEY,
  failures         integer     NOT NULL DEFAULT 0,
  last_failure_at  timestamptz,
  locked_until     timestamptz
);

-- +goose Down
DROP TABLE login_throttle;
DROP TABLE refresh_tokens;
DROP TABLE role_assignments;
DROP TABLE users;
