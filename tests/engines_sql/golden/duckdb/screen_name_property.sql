-- shop.yaml: screen_name_property
WITH ranked_1 AS (
  SELECT
    e1.profile_id AS k,
    JSON_EXTRACT(e1.properties, '/name') AS v,
    ROW_NUMBER() OVER (
      PARTITION BY e1.profile_id
      ORDER BY e1.ts DESC, e1.received_at DESC, e1.message_id DESC, e1.event_id DESC
    ) AS rn
  FROM shoal_events AS e1
  WHERE
    (
      e1.event_name = 'Screen Viewed'
      AND e1.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
    )
    AND (
      NOT JSON_EXTRACT(e1.properties, '/name') IS NULL
      AND NOT JSON_TYPE(JSON_EXTRACT(e1.properties, '/name')) = 'NULL'
    )
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
