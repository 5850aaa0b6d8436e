-- accounts.yaml: accounts_first_over_users
WITH ranked_1 AS (
  SELECT
    l1.group_id AS k,
    VARIANT_GET(e1.properties, '$["spend"]', 'variant') AS v,
    ROW_NUMBER() OVER (
      PARTITION BY l1.group_id
      ORDER BY e1.ts ASC NULLS LAST, e1.received_at ASC NULLS LAST, e1.message_id ASC NULLS LAST, e1.event_id ASC NULLS LAST
    ) AS rn
  FROM shoal_links AS l1
  JOIN shoal_events AS e1
    ON e1.profile_id = l1.profile_id
  WHERE
    (
      e1.event_name = 'Shoes Bought'
      AND e1.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
    )
    AND (
      NOT VARIANT_GET(e1.properties, '$["spend"]', 'variant') IS NULL
      AND NOT IS_VARIANT_NULL(VARIANT_GET(e1.properties, '$["spend"]', 'variant'))
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
  a.group_id AS entity_id,
  reduce_1.v AS value,
  FALSE AS integral
FROM shoal_accounts AS a
LEFT JOIN reduce_1 AS reduce_1
  ON reduce_1.k = a.group_id
