-- Candidate duplicates of a person, found when a member is registered or
-- changed (or, for heads, by their household's phone), for a
-- worker to resolve: the same person (one record retires into the other) or
-- different people (the pair is never proposed again).

-- +goose Up
ALTER TABLE members ADD COLUMN merged_into uuid REFERENCES members (id);
ALTER TABLE members DROP CONSTRAINT members_status_check;
ALTER TABLE members ADD CONSTRAINT members_status_check CHECK (status IN ('present', 'moved_out', 'deceased', 'merged'));
ALTER TABLE members ADD CONSTRAINT members_merged_check CHECK ((status = 'merged') = (merged_into IS NOT NULL));

CREATE INDEX members_name_birth ON members (name_key, birth_date);
CREATE INDEX households_phone ON households (phone) WHERE phone IS NOT NULL;

CREATE TABLE duplicate_candidates (
  id           uuid        PRIMARY KEY,
  member_a     uuid        NOT NULL REFERENCES members (id),
  member_b     uuid        NOT NULL REFERENCES members (id),
  reason       text        NOT NULL CHECK (reason IN ('same_name_and_birth_date', 'similar_name_same_year_and_commune',
                                                        'same_phone')),
  area_path    ltree       NOT NULL,  -- the newer member's household: who may resolve it
  status       text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'same', 'different')),
  resolved_by  uuid,
  resolved_at  timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (member_a < member_b),
  UNIQUE (member_a, member_b)
);
CREATE INDEX duplicate_candidates_open ON duplicate_candidates USING gist (area_path) WHERE status = 'open';

-- +goose Down
DROP TABLE duplicate_candidates;
DROP INDEX members_name_birth;
DROP INDEX households_phone;
ALTER TABLE members DROP CONSTRAINT members_merged_check;
ALTER TABLE members DROP CONSTRAINT members_status_check;
ALTER TABLE members ADD CONSTRAINT members_status_check CHECK (status IN ('present', 'moved_out', 'deceased'));
ALTER TABLE members DROP COLUMN merged_into;
