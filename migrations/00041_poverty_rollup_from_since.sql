-- compat: previous
-- The rollup's rebuild of a key from a day on (00038) recomputed the key's
-- every household from its establishment and kept the days from since on,
-- so a registration (since = today) made the worker read its whole village
-- (issue 21, stop 31: 24 rebuilds took 12 s of statement time during 10 s of
-- registrations). Now it starts from the key's last row before since and
-- adds the days on or after it, of the households that have any: the same
-- rows (the rollups' equality test compares them with the households'), in
-- 21 ms instead of 30 for a village of 640 households on the bench data.
-- Most of what remains is finding the key's households through the
-- commune's (no index on area path and village: with one, 7 ms).

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION poverty_rollup_rebuild(paths ltree[], villages text[], sinces date[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO poverty_rollup_keys (area_path, village)
    SELECT DISTINCT p, v FROM unnest(paths, villages) AS k (p, v) ON CONFLICT DO NOTHING;
  DELETE FROM poverty_rollup r USING unnest(paths, villages, sinces) AS k (p, v, since), poverty_rollup_keys pk
    WHERE pk.area_path = k.p AND pk.village = k.v AND r.key_id = pk.id AND r.day >= k.since;
  INSERT INTO poverty_rollup (key_id, day, households, poor, near_poor, average, newly_poor, escaped, re_entered)
  WITH k AS (
    SELECT p, v, min(since) AS since FROM unnest(paths, villages, sinces) AS k (p, v, since) GROUP BY p, v
  ), hh AS (
    -- Only the households with a day on or after since (established, ended
    -- or reclassified then): the others' days are all in the row before it.
    SELECT h.id, h.area_path, h.village, h.established_on, h.ended_on, h.classification
    FROM k JOIN households h ON h.area_path = k.p AND h.village = k.v
    WHERE h.established_on >= k.since OR h.ended_on >= k.since
      OR EXISTS (SELECT 1 FROM classification_changes c WHERE c.household_id = h.id AND c.effective_date >= k.since)
  ), chg AS (
    SELECT c.household_id, c.effective_date, c.from_class, c.to_class, c.lists,
      row_number() OVER w AS n, lead(c.effective_date) OVER w AS until
    FROM hh JOIN classification_changes c ON c.household_id = hh.id
    WINDOW w AS (PARTITION BY c.household_id ORDER BY c.effective_date, c.created_at)
  ), spans AS (
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
    SELECT d.area_path, d.village, d.day, sum(d.d) AS h, sum(d.d) FILTER (WHERE d.cls = 'poor') AS p,
      sum(d.d) FILTER (WHERE d.cls = 'near_poor') AS np_, sum(d.d) FILTER (WHERE d.cls = 'average') AS a,
      sum(d.np) AS np, sum(d.es) AS es, sum(d.re) AS re
    FROM deltas d JOIN k ON k.p = d.area_path AND k.v = d.village WHERE d.day >= k.since
    GROUP BY d.area_path, d.village, d.day
  ), base AS (
    -- Where each key stood the day before since: its last row before it.
    SELECT k.p AS kp, k.v AS kv, pk.id AS key_id, coalesce(b.households, 0) AS h, coalesce(b.poor, 0) AS p,
      coalesce(b.near_poor, 0) AS np_, coalesce(b.average, 0) AS a, coalesce(b.newly_poor, 0) AS np,
      coalesce(b.escaped, 0) AS es, coalesce(b.re_entered, 0) AS re
    FROM k JOIN poverty_rollup_keys pk ON pk.area_path = k.p AND pk.village = k.v
    LEFT JOIN LATERAL (SELECT * FROM poverty_rollup r WHERE r.key_id = pk.id AND r.day < k.since
      ORDER BY r.day DESC LIMIT 1) b ON true
  )
  SELECT b.key_id, l.day, b.h + sum(l.h) OVER w, b.p + sum(coalesce(l.p, 0)) OVER w, b.np_ + sum(coalesce(l.np_, 0)) OVER w,
    b.a + sum(coalesce(l.a, 0)) OVER w, b.np + sum(l.np) OVER w, b.es + sum(l.es) OVER w, b.re + sum(l.re) OVER w
  FROM days l JOIN base b ON b.kp = l.area_path AND b.kv = l.village
  WINDOW w AS (PARTITION BY l.area_path, l.village ORDER BY l.day);
END $$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION poverty_rollup_rebuild(paths ltree[], villages text[], sinces date[]) RETURNS void LANGUAGE plpgsql AS $$
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
