-- shop.yaml: mode_as_string
WITH counted_1 AS (
  SELECT
    e1.profile_id AS k,
    CASE
      WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/category')) = 'DOUBLE'
      THEN CAST(CAST(JSON_EXTRACT(e1.properties, '/category') AS DOUBLE) AS TEXT)
      WHEN NOT JSON_EXTRACT(e1.properties, '/category') IS NULL
      AND NOT JSON_TYPE(JSON_EXTRACT(e1.properties, '/category')) = 'NULL'
      THEN JSON_EXTRACT_STRING(JSON_EXTRACT(e1.properties, '/category'), '$')
    END AS v,
    COUNT(*) AS c
  FROM shoal_events AS e1
  WHERE
    (
      e1.event_name = 'Order Completed'
      AND e1.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
    )
    AND NOT CASE
      WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/category')) = 'DOUBLE'
      THEN CAST(CAST(JSON_EXTRACT(e1.properties, '/category') AS DOUBLE) AS TEXT)
      WHEN NOT JSON_EXTRACT(e1.properties, '/category') IS NULL
      AND NOT JSON_TYPE(JSON_EXTRACT(e1.properties, '/category')) = 'NULL'
      THEN JSON_EXTRACT_STRING(JSON_EXTRACT(e1.properties, '/category'), '$')
    END IS NULL
  GROUP BY
    e1.profile_id,
    CASE
      WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/category')) = 'DOUBLE'
      THEN CAST(CAST(JSON_EXTRACT(e1.properties, '/category') AS DOUBLE) AS TEXT)
      WHEN NOT JSON_EXTRACT(e1.properties, '/category') IS NULL
      AND NOT JSON_TYPE(JSON_EXTRACT(e1.properties, '/category')) = 'NULL'
      THEN JSON_EXTRACT_STRING(JSON_EXTRACT(e1.properties, '/category'), '$')
    END
  HAVING
    COUNT(*) >= 2
), ranked_1 AS (
  SELECT
    counted_1.k,
    counted_1.v,
    ROW_NUMBER() OVER (PARTITION BY counted_1.k ORDER BY counted_1.c DESC, counted_1.v ASC) AS rn
  FROM counted_1 AS counted_1
), reduce_1 AS (
  SELECT
    ranked_1.k,
    ranked_1.v
  FROM ranked_1 AS ranked_1
  WHERE
    ranked_1.rn = 1
)
SELECT
  u.profile_id AS entity_id,
  reduce_1.v AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN reduce_1 AS reduce_1
  ON reduce_1.k = u.profile_id
WHERE
  u.is_user
