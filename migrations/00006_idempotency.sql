-- Responses to writes sent with an Idempotency-Key, so that a mobile client's
-- retry on a flaky network gets the first answer instead of a second change.

-- +goose Up
CREATE TABLE idempotency_keys (
  owner         text        NOT NULL,   -- who sent it: keys are per caller
  key           text        NOT NULL CHECK (length(key) BETWEEN 1 AND 128),
  request_hash  bytea       NOT NULL,   -- method, route and body: a key reused for another request is refused
  status        integer     NOT NULL DEFAULT 0,  -- 0 while the first request runs
  content_type  text,
  body          bytea,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
