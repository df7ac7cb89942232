-- compat: previous
-- Poverty counts kept as a rollup (issue 21, item 4), so that the poverty
-- and trend reports read a few thousand rows instead of every household and
-- classification change of a province.
--
-- For each (commune path, village), numbered in poverty_rollup_keys, and
-- each day on which something changed there, poverty_rollup holds the counts from that day until the key's next
-- row, by valid time and by the reports' own rule: households in existence
-- (established by then, not ended by then), by their classification then
-- (the last recognized change by then, else what it was before its first
-- change, else its current class); and, cumulatively since the beginning,
-- the recognized changes that put a household on the newly-poor, escaped and
-- re-entered lists. A report's figure on a day is, per key, the last row on
-- or before it; a year's movements are the difference of two such rows.
--
-- Writers never wait for each other here: a change to a household or to its
-- classification history appends a row to poverty_rollup_dirty (the key and
-- the first day it may have changed) in its own transaction. The rollup is
-- rebuilt from that day on, from the rows, by every server's worker shortly
-- after, and by a report before it reads (poverty_rollup_refresh), so a
-- report always includes every committed change.

-- +goose Up
-- Every key that ever had a household: a report probes each under its area,
-- by its number (an integer compares far faster than a path and a name).
CREATE TABLE poverty_rollup_keys (
  id        integer GENERATED ALWAYS AS IDENTITY UNIQUE,
  area_path ltree NOT NULL,
  village   text  NOT NULL,
  PRIMARY KEY (area_path, village)
);
CREATE INDEX poverty_rollup_keys_area ON poverty_rollup_keys USING gist (area_path);
CREATE TABLE poverty_rollup (
  key_id      integer NOT NULL REFERENCES poverty_rollup_keys (id),
  day         date    NOT NULL,
  households  integer NOT NULL,
  poor        integer NOT NULL,
  near_poor   integer NOT NULL,
  average     integer NOT NULL,
  newly_poor  integer NOT NULL,
  escaped     integer NOT NULL,
  re_entered  integer NOT NULL,
  PRIMARY KEY (key_id, day)
);
CREATE TABLE poverty_rollup_dirty (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  area_path ltree  NOT NULL,
  village   text   NOT NULL,
  since     date   NOT NULL
);
CREATE INDEX poverty_rollup_dirty_area ON poverty_rollup_dirty USING gist (area_path);
GRANT DELETE ON poverty_rollup, poverty_rollup_dirty TO ansinh_app;

-- Rebuilds the rollup of the keys (paths[i], villages[i]) from sinces[i] on,
-- from the households and their classification changes.
-- +goose StatementBegin
CREATE FUNCTION poverty_rollup_rebuild(paths ltree[], villages text[], sinces date[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO poverty_rollup_keys (area_path, village)
    SELECT DISTINCT p, v FROM unnest(paths, villages) AS k (p, v) ON CONFLICT DO NOTHING;
  DELETE FROM poverty_rollup r USING unnest(paths, villages, sinces) AS k (p, v, since), poverty_rollup_keys pk
    WHERE pk.area_path = k.p AND pk.village = k.v AND r.key_id = pk.id AND r.day >= k.since;
  INSERT INTO poverty_rollup (key_id, day, households, poor, near_poor, average, newly_poor, escaped, re_entered)
  WITH k AS (
    SELECT p, v, min(since) AS since FROM unnest(paths, villages, sinces) AS k (p, v, since) GROUP BY p, v
  ), hh AS (
    SELECT h.id, h.area_path, h.village, h.established_on, h.ended_on, h.classification
    FROM k JOIN households h ON h.area_path = k.p AND h.village = k.v
  ), chg AS (
    SELECT c.household_id, c.effective_date, c.from_class, c.to_class, c.lists,
      row_number() OVER w AS n, lead(c.effective_date) OVER w AS until
    FROM hh JOIN classification_changes c ON c.household_id = hh.id
    WINDOW w AS (PARTITION BY c.household_id ORDER BY c.effective_date, c.created_at)
  ), spans AS (
    -- Before the first change (a household's whole life when it has none),
    -- then each change's class until the next; both within its existence.
    SELECT hh.area_path, hh.village, coalesce(f.from_class, hh.classification) AS cls, hh.established_on AS s,
      least(f.effective_date, hh.ended_on) AS e
    FROM hh LEFT JOIN chg f ON f.household_id = hh.id AND f.n = 1
    UNION ALL
    SELECT hh.area_path, hh.village, c.to_class, greatest(c.effective_date, hh.established_on), least(c.until, hh.ended_on)
    FROM hh JOIN chg c ON c.household_id = hh.id
  ), deltas AS (
    SELECT area_path, village, s AS day, cls, 1 AS d, 0 AS np, 0 AS es, 0 AS re FROM spans WHERE e IS NULL OR e > s
    UNION ALL
    SELECT area_path, village, e, cls, -1, 0, 0, 0 FROM spans WHERE e > s
    UNION ALL
    SELECT hh.area_path, hh.village, c.effective_date, NULL, 0, ('newly_poor' = ANY (c.lists))::int,
      ('escaped_poverty' = ANY (c.lists))::int, ('re_entered_poverty' = ANY (c.lists))::int
    FROM hh JOIN chg c ON c.household_id = hh.id
  ), days AS (
    SELECT area_path, village, day, sum(d) AS h, sum(d) FILTER (WHERE cls = 'poor') AS p,
      sum(d) FILTER (WHERE cls = 'near_poor') AS np_, sum(d) FILTER (WHERE cls = 'average') AS a,
      sum(np) AS np, sum(es) AS es, sum(re) AS re
    FROM deltas GROUP BY area_path, village, day
  ), levels AS (
    SELECT area_path, village, day, sum(h) OVER w AS h, sum(coalesce(p, 0)) OVER w AS p, sum(coalesce(np_, 0)) OVER w AS np_,
      sum(coalesce(a, 0)) OVER w AS a, sum(np) OVER w AS np, sum(es) OVER w AS es, sum(re) OVER w AS re
    FROM days WINDOW w AS (PARTITION BY area_path, village ORDER BY day)
  )
  SELECT pk.id, l.day, l.h, l.p, l.np_, l.a, l.np, l.es, l.re
  FROM levels l JOIN k ON k.p = l.area_path AND k.v = l.village
  JOIN poverty_rollup_keys pk ON pk.area_path = l.area_path AND pk.village = l.village WHERE l.day >= k.since;
END $$;
-- +goose StatementEnd

-- Rebuilds the rollup of the dirty keys under an area (all, when NULL), at
-- most lim of their rows; wait: whether to wait for rows another
-- transaction holds (a report must see every change) or skip them (the
-- worker). Rebuilds are serialized by an advisory lock, so two never
-- deadlock over the same keys. Returns how many dirty rows it took.
-- +goose StatementBegin
CREATE FUNCTION poverty_rollup_refresh(under ltree, lim integer, wait boolean) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  taken integer;
  ps ltree[];
  vs text[];
  ss date[];
BEGIN
  IF NOT EXISTS (SELECT 1 FROM poverty_rollup_dirty WHERE under IS NULL OR area_path <@ under) THEN
    RETURN 0;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('poverty_rollup'));
  IF wait THEN
    WITH t AS (DELETE FROM poverty_rollup_dirty WHERE id IN (SELECT id FROM poverty_rollup_dirty
        WHERE under IS NULL OR area_path <@ under ORDER BY id LIMIT lim FOR UPDATE) RETURNING area_path, village, since),
      k AS (SELECT area_path, village, min(since) AS since, sum(count(*)) OVER () AS n FROM t GROUP BY 1, 2)
    SELECT array_agg(area_path), array_agg(village), array_agg(since), coalesce(max(n), 0) INTO ps, vs, ss, taken FROM k;
  ELSE
    WITH t AS (DELETE FROM poverty_rollup_dirty WHERE id IN (SELECT id FROM poverty_rollup_dirty
        WHERE under IS NULL OR area_path <@ under ORDER BY id LIMIT lim FOR UPDATE SKIP LOCKED) RETURNING area_path, village, since),
      k AS (SELECT area_path, village, min(since) AS since, sum(count(*)) OVER () AS n FROM t GROUP BY 1, 2)
    SELECT array_agg(area_path), array_agg(village), array_agg(since), coalesce(max(n), 0) INTO ps, vs, ss, taken FROM k;
  END IF;
  IF taken > 0 THEN
    PERFORM poverty_rollup_rebuild(ps, vs, ss);
  END IF;
  RETURN taken;
END $$;
-- +goose StatementEnd

-- The triggers: the key and the first day a change may alter.
-- +goose StatementBegin
CREATE FUNCTION poverty_rollup_new_households() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO poverty_rollup_dirty (area_path, village, since)
    SELECT area_path, village, min(established_on) FROM new_households GROUP BY 1, 2;
  RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER households_poverty_rollup_new AFTER INSERT ON households
  REFERENCING NEW TABLE AS new_households FOR EACH STATEMENT EXECUTE FUNCTION poverty_rollup_new_households();

-- +goose StatementBegin
CREATE FUNCTION poverty_rollup_changed_household() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  since date := least(OLD.established_on, NEW.established_on);
BEGIN
  IF (OLD.area_path, OLD.village) IS DISTINCT FROM (NEW.area_path, NEW.village) THEN
    -- Its movements move with it, from the first.
    since := least(since, (SELECT min(effective_date) FROM classification_changes WHERE household_id = NEW.id));
    INSERT INTO poverty_rollup_dirty (area_path, village, since) VALUES (NEW.area_path, NEW.village, since);
  END IF;
  INSERT INTO poverty_rollup_dirty (area_path, village, since) VALUES (OLD.area_path, OLD.village, since);
  RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER households_poverty_rollup_changed AFTER UPDATE OF area_path, village, established_on, ended_on, classification
  ON households FOR EACH ROW
  WHEN ((OLD.area_path, OLD.village, OLD.established_on, OLD.ended_on, OLD.classification)
        IS DISTINCT FROM (NEW.area_path, NEW.village, NEW.established_on, NEW.ended_on, NEW.classification))
  EXECUTE FUNCTION poverty_rollup_changed_household();

-- A change to a household's classification history: from its
-- establishment (a first change decides its class before it) or the
-- change's date, whichever is earlier (a movement dated before it counts).
-- +goose StatementBegin
CREATE FUNCTION poverty_rollup_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO poverty_rollup_dirty (area_path, village, since)
      SELECT h.area_path, h.village, least(min(h.established_on), min(c.effective_date))
      FROM changed c JOIN households h ON h.id = c.household_id GROUP BY 1, 2;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO poverty_rollup_dirty (area_path, village, since)
      SELECT h.area_path, h.village, least(min(h.established_on), min(c.effective_date))
      FROM gone c JOIN households h ON h.id = c.household_id GROUP BY 1, 2;
  ELSE
    INSERT INTO poverty_rollup_dirty (area_path, village, since)
      SELECT h.area_path, h.village, least(min(h.established_on), min(c.effective_date))
      FROM (SELECT household_id, effective_date FROM gone UNION ALL SELECT household_id, effective_date FROM changed) c
      JOIN households h ON h.id = c.household_id GROUP BY 1, 2;
  END IF;
  RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER classification_changes_rollup_new AFTER INSERT ON classification_changes
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION poverty_rollup_changes();
CREATE TRIGGER classification_changes_rollup_changed AFTER UPDATE ON classification_changes
  REFERENCING OLD TABLE AS gone NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION poverty_rollup_changes();
CREATE TRIGGER classification_changes_rollup_gone AFTER DELETE ON classification_changes
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION poverty_rollup_changes();

-- The rollup of the registry as it stands.
SELECT poverty_rollup_rebuild(array_agg(area_path), array_agg(village), array_agg('-infinity'::date))
  FROM (SELECT DISTINCT area_path, village FROM households) k HAVING count(*) > 0;

-- +goose Down
DROP TRIGGER classification_changes_rollup_gone ON classification_changes;
DROP TRIGGER classification_changes_rollup_changed ON classification_changes;
DROP TRIGGER classification_changes_rollup_new ON classification_changes;
DROP TRIGGER households_poverty_rollup_changed ON households;
DROP TRIGGER households_poverty_rollup_new ON households;
DROP FUNCTION poverty_rollup_changes();
DROP FUNCTION poverty_rollup_changed_household();
DROP FUNCTION poverty_rollup_new_households();
DROP FUNCTION poverty_rollup_refresh(ltree, integer, boolean);
DROP FUNCTION poverty_rollup_rebuild(ltree[], text[], date[]);
DROP TABLE poverty_rollup_dirty;
DROP TABLE poverty_rollup;
DROP TABLE poverty_rollup_keys;
