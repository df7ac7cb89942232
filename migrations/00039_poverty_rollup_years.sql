-- compat: previous
-- The rollup's year ends (issue 21, item 4: the trend report). A trend asks
-- for each key's figures at the end of each of ten or more years; probing
-- poverty_rollup for each (key, year) made some 40 thousand index probes at
-- 500k households. poverty_rollup_years holds, per key and year in which the
-- key has rollup rows, the last of them (its day kept): the figure at a
-- year's end is the latest of these at or before that year, so a trend reads
-- a province's year rows in one pass (about ten a key) and carries them
-- forward.
--
-- It is kept by statement-level triggers on poverty_rollup, so every writer
-- of the rollup (the rebuild, the migration's backfill, the bench generator)
-- keeps it without knowing: a statement that inserts, deletes or updates
-- rollup rows recomputes the year rows of the (key, year)s it touched.

-- +goose Up
CREATE TABLE poverty_rollup_years (
  key_id      integer NOT NULL REFERENCES poverty_rollup_keys (id),
  year        integer NOT NULL,
  day         date    NOT NULL,
  households  integer NOT NULL,
  poor        integer NOT NULL,
  near_poor   integer NOT NULL,
  average     integer NOT NULL,
  newly_poor  integer NOT NULL,
  escaped     integer NOT NULL,
  re_entered  integer NOT NULL,
  PRIMARY KEY (key_id, year)
);
GRANT DELETE ON poverty_rollup_years TO ansinh_app;

-- Recomputes the year rows of keys[i] in years[i] from the rollup.
-- +goose StatementBegin
CREATE FUNCTION poverty_rollup_years_rebuild(keys integer[], years integer[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM poverty_rollup_years y USING unnest(keys, years) AS t (k, yr) WHERE y.key_id = t.k AND y.year = t.yr;
  INSERT INTO poverty_rollup_years (key_id, year, day, households, poor, near_poor, average, newly_poor, escaped, re_entered)
  SELECT DISTINCT ON (r.key_id, t.yr) r.key_id, t.yr, r.day, r.households, r.poor, r.near_poor, r.average,
    r.newly_poor, r.escaped, r.re_entered
  FROM (SELECT DISTINCT k, yr FROM unnest(keys, years) AS t (k, yr)) t
  JOIN poverty_rollup r ON r.key_id = t.k AND r.day BETWEEN make_date(t.yr, 1, 1) AND make_date(t.yr, 12, 31)
  ORDER BY r.key_id, t.yr, r.day DESC;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION poverty_rollup_years_touched() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ks integer[];
  ys integer[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(key_id), array_agg(yr) INTO ks, ys
      FROM (SELECT DISTINCT key_id, extract(year FROM day)::integer AS yr FROM new_rows) t;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(key_id), array_agg(yr) INTO ks, ys
      FROM (SELECT DISTINCT key_id, extract(year FROM day)::integer AS yr FROM old_rows) t;
  ELSE
    SELECT array_agg(key_id), array_agg(yr) INTO ks, ys FROM (
      SELECT key_id, extract(year FROM day)::integer AS yr FROM new_rows
      UNION SELECT key_id, extract(year FROM day)::integer FROM old_rows) t;
  END IF;
  IF ks IS NOT NULL THEN
    PERFORM poverty_rollup_years_rebuild(ks, ys);
  END IF;
  RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER poverty_rollup_years_new AFTER INSERT ON poverty_rollup
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION poverty_rollup_years_touched();
CREATE TRIGGER poverty_rollup_years_changed AFTER UPDATE ON poverty_rollup
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION poverty_rollup_years_touched();
CREATE TRIGGER poverty_rollup_years_gone AFTER DELETE ON poverty_rollup
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION poverty_rollup_years_touched();

-- The year ends of the rollup as it stands.
INSERT INTO poverty_rollup_years (key_id, year, day, households, poor, near_poor, average, newly_poor, escaped, re_entered)
SELECT DISTINCT ON (key_id, extract(year FROM day)) key_id, extract(year FROM day)::integer, day, households, poor,
  near_poor, average, newly_poor, escaped, re_entered
FROM poverty_rollup ORDER BY key_id, extract(year FROM day), day DESC;

-- +goose Down
DROP TRIGGER poverty_rollup_years_gone ON poverty_rollup;
DROP TRIGGER poverty_rollup_years_changed ON poverty_rollup;
DROP TRIGGER poverty_rollup_years_new ON poverty_rollup;
DROP FUNCTION poverty_rollup_years_touched();
DROP FUNCTION poverty_rollup_years_rebuild(integer[], integer[]);
DROP TABLE poverty_rollup_years;
