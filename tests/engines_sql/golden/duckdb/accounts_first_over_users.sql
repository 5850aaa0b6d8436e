-- accounts.yaml: accounts_first_over_users
WITH ranked_1 AS (
  SELECT
    l1.group_id AS k,
    JSON_EXTRACT(e1.properties, '/spend') AS v,
    ROW_NUMBER() OVER (
      PARTITION BY l1.group_id
      ORDER BY e1.ts ASC, e1.received_at ASC, e1.message_id ASC, e1.event_id ASC
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
      NOT JSON_EXTRACT(e1.properties, '/spend') IS NULL
      AND NOT JSON_TYPE(JSON_EXTRACT(e1.properties, '/spend')) = 'NULL'
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
