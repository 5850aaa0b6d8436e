-- funnel.yaml: funnel_between_parent
WITH reduce_2 AS (
  SELECT
    p2.event_id AS k,
    COUNT(*) AS v,
    FALSE AS integral
  FROM shoal_events AS p2
  JOIN shoal_events AS e2
    ON e2.profile_id = p2.profile_id AND e2.event_id <> p2.event_id
  WHERE
    p2.event_name = 'Product Added'
    AND p2.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
    AND e2.event_name = 'Order Completed'
    AND e2.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
    AND e2.ts >= p2.ts + INTERVAL '2' HOUR
    AND e2.ts <= p2.ts + INTERVAL '12' HOUR
  GROUP BY
    p2.event_id
), reduce_1 AS (
  SELECT
    e1.profile_id AS k,
    COUNT(*) AS v,
    FALSE AS integral
  FROM shoal_events AS e1
  LEFT JOIN reduce_2 AS reduce_2
    ON reduce_2.k = e1.event_id
  WHERE
    e1.event_name = 'Product Added'
    AND e1.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
    AND (
      COALESCE(COALESCE(reduce_2.v, 0) >= 1, FALSE)
    )
  GROUP BY
    e1.profile_id
)
SELECT
  u.profile_id AS entity_id,
  COALESCE(COALESCE(reduce_1.v, 0) >= 1, FALSE) AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN reduce_1 AS reduce_1
  ON reduce_1.k = u.profile_id
WHERE
  u.is_user
