-- compat: previous
-- The year ends of each commune (issue 21, item 4: the trend report). A
-- province's or a district's trend needs nothing finer than a commune, but
-- the year rows (00039) are per (commune, village): 18 thousand rows a
-- province, carried forward per key in every request. poverty_rollup_commune_years
-- holds, per commune and year from the commune's first year row to its last,
-- the sum over its villages of each one's figures at that year's end (the
-- latest year row at or before it): a trend of a province reads about 2
-- thousand rows, one per commune and year, by equality. After a commune's
-- last row its figures stay those of the last.
--
-- Kept like the year rows: statement-level triggers on poverty_rollup_years
-- recompute the communes a statement touched, from the earliest year it
-- touched.

-- +goose Up
CREATE TABLE poverty_rollup_commune_years (
  area_path   ltree   NOT NULL,
  year        integer NOT NULL,
  households  integer NOT NULL,
  poor        integer NOT NULL,
  near_poor   integer NOT NULL,
  average     integer NOT NULL,
  newly_poor  integer NOT NULL,
  escaped     integer NOT NULL,
  re_entered  integer NOT NULL,
  PRIMARY KEY (area_path, year)
);
CREATE INDEX poverty_rollup_commune_years_area ON poverty_rollup_commune_years USING gist (area_path);
GRANT DELETE ON poverty_rollup_commune_years TO ansinh_app;

-- Recomputes the year rows of the communes paths[i] from the years froms[i] on.
-- +goose StatementBegin
CREATE FUNCTION poverty_rollup_commune_years_rebuild(paths ltree[], froms integer[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM poverty_rollup_commune_years c USING unnest(paths, froms) AS t (p, f) WHERE c.area_path = t.p AND c.year >= t.f;
  INSERT INTO poverty_rollup_commune_years (area_path, year, households, poor, near_poor, average, newly_poor, escaped, re_entered)
  WITH t AS (SELECT p, min(f) AS f FROM unnest(paths, froms) AS t (p, f) GROUP BY p),
  span AS (
    SELECT t.p, greatest(t.f, min(y.year)) AS first, max(y.year) AS last
    FROM t JOIN poverty_rollup_keys k ON k.area_path = t.p JOIN poverty_rollup_years y ON y.key_id = k.id
    GROUP BY t.p, t.f)
  SELECT span.p, g.yr, sum(l.households), sum(l.poor), sum(l.near_poor), sum(l.average),
    sum(l.newly_poor), sum(l.escaped), sum(l.re_entered)
  FROM span CROSS JOIN LATERAL generate_series(span.first, span.last) AS g (yr)
  JOIN poverty_rollup_keys k ON k.area_path = span.p
  CROSS JOIN LATERAL (SELECT * FROM poverty_rollup_years y WHERE y.key_id = k.id AND y.year <= g.yr
    ORDER BY y.year DESC LIMIT 1) l
  GROUP BY span.p, g.yr;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION poverty_rollup_commune_years_touched() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ps ltree[];
  fs integer[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(area_path), array_agg(f) INTO ps, fs FROM (
      SELECT k.area_path, min(n.year) AS f FROM new_rows n JOIN poverty_rollup_keys k ON k.id = n.key_id GROUP BY k.area_path) t;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(area_path), array_agg(f) INTO ps, fs FROM (
      SELECT k.area_path, min(o.year) AS f FROM old_rows o JOIN poverty_rollup_keys k ON k.id = o.key_id GROUP BY k.area_path) t;
  ELSE
    SELECT array_agg(area_path), array_agg(f) INTO ps, fs FROM (
      SELECT k.area_path, min(x.year) AS f FROM (SELECT key_id, year FROM new_rows UNION ALL SELECT key_id, year FROM old_rows) x
      JOIN poverty_rollup_keys k ON k.id = x.key_id GROUP BY k.area_path) t;
  END IF;
  IF ps IS NOT NULL THEN
    PERFORM poverty_rollup_commune_years_rebuild(ps, fs);
  END IF;
  RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER poverty_rollup_commune_years_new AFTER INSERT ON poverty_rollup_years
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION poverty_rollup_commune_years_touched();
CREATE TRIGGER poverty_rollup_commune_years_changed AFTER UPDATE ON poverty_rollup_years
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION poverty_rollup_commune_years_touched();
CREATE TRIGGER poverty_rollup_commune_years_gone AFTER DELETE ON poverty_rollup_years
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION poverty_rollup_commune_years_touched();

-- The communes' year rows as the rollup stands.
SELECT poverty_rollup_commune_years_rebuild(array_agg(area_path), array_agg(0))
  FROM (SELECT DISTINCT area_path FROM poverty_rollup_keys) k HAVING count(*) > 0;

-- +goose Down
DROP TRIGGER poverty_rollup_commune_years_gone ON poverty_rollup_years;
DROP TRIGGER poverty_rollup_commune_years_changed ON poverty_rollup_years;
DROP TRIGGER poverty_rollup_commune_years_new ON poverty_rollup_years;
DROP FUNCTION poverty_rollup_commune_years_touched();
DROP FUNCTION poverty_rollup_commune_years_rebuild(ltree[], integer[]);
DROP TABLE poverty_rollup_commune_years;
