-- windows.yaml: between_zero_lower_bound
WITH reduce_1 AS (
  SELECT
    e1.profile_id AS k,
    COUNT(*) AS v,
    FALSE AS integral
  FROM shoal_events AS e1
  WHERE
    e1.event_name = 'Ping'
    AND e1.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
    AND e1.ts >= CAST('2024-06-30 11:00:00.000000' AS TIMESTAMP)
  GROUP BY
    e1.profile_id
)
SELECT
  u.profile_id AS entity_id,
  COALESCE(reduce_1.v, 0) AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN reduce_1 AS reduce_1
  ON reduce_1.k = u.profile_id
WHERE
  u.is_user
