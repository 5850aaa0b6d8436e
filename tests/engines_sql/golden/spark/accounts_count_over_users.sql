-- accounts.yaml: accounts_count_over_users
WITH reduce_1 AS (
  SELECT
    l1.group_id AS k,
    COUNT(*) AS v,
    FALSE AS integral
  FROM shoal_links AS l1
  JOIN shoal_events AS e1
    ON e1.profile_id = l1.profile_id
  WHERE
    e1.event_name = 'Shoes Bought'
    AND e1.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
  GROUP BY
    l1.group_id
)
SELECT
  a.group_id AS entity_id,
  COALESCE(reduce_1.v, 0) AS value,
  FALSE AS integral
FROM shoal_accounts AS a
LEFT JOIN reduce_1 AS reduce_1
  ON reduce_1.k = a.group_id
