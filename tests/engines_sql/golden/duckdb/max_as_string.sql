-- shop.yaml: max_as_string
WITH reduce_1 AS (
  SELECT
    e1.profile_id AS k,
    MAX(
      CASE
        WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/price')) = 'DOUBLE'
        THEN CAST(CAST(JSON_EXTRACT(e1.properties, '/price') AS DOUBLE) AS TEXT)
        WHEN NOT JSON_EXTRACT(e1.properties, '/price') IS NULL
        AND NOT JSON_TYPE(JSON_EXTRACT(e1.properties, '/price')) = 'NULL'
        THEN JSON_EXTRACT_STRING(JSON_EXTRACT(e1.properties, '/price'), '$')
      END
    ) AS v
  FROM shoal_events AS e1
  WHERE
    e1.event_name = 'Order Completed'
    AND e1.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
  GROUP BY
    e1.profile_id
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
