-- shop.yaml: first_keeps_stored_string
WITH ranked_1 AS (
  SELECT
    e1.profile_id AS k,
    VARIANT_GET(e1.properties, '$["price"]', 'variant') AS v,
    ROW_NUMBER() OVER (
      PARTITION BY e1.profile_id
      ORDER BY e1.ts ASC NULLS LAST, e1.received_at ASC NULLS LAST, e1.message_id ASC NULLS LAST, e1.event_id ASC NULLS LAST
    ) AS rn
  FROM shoal_events AS e1
  WHERE
    (
      e1.event_name = 'Order Completed'
      AND e1.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
    )
    AND (
      NOT VARIANT_GET(e1.properties, '$["price"]', 'variant') IS NULL
      AND NOT IS_VARIANT_NULL(VARIANT_GET(e1.properties, '$["price"]', 'variant'))
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
