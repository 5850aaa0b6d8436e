-- accounts.yaml: accounts_nested_chain_reads_event_owner
WITH reduce_2 AS (
  SELECT
    p2.event_id AS k,
    COUNT(*) AS v,
    FALSE AS integral
  FROM shoal_events AS p2
  JOIN shoal_events AS e2
    ON e2.profile_id = p2.profile_id
  WHERE
    p2.event_name = 'Shoes Bought'
    AND p2.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
    AND e2.event_name = 'Shoes Bought'
    AND e2.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
  GROUP BY
    p2.event_id
), reduce_1 AS (
  SELECT
    l1.group_id AS k,
    COUNT(*) AS v,
    FALSE AS integral
  FROM shoal_links AS l1
  JOIN shoal_events AS e1
    ON e1.profile_id = l1.profile_id
  LEFT JOIN reduce_2 AS reduce_2
    ON reduce_2.k = e1.event_id
  WHERE
    e1.event_name = 'Shoes Bought'
    AND e1.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
    AND (
      COALESCE(COALESCE(reduce_2.v, 0) >= 2, FALSE)
    )
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
