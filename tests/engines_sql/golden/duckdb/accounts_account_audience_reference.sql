-- accounts.yaml: accounts_account_audience_reference
WITH reduce_3 AS (
  SELECT
    e3.profile_id AS k,
    COUNT(*) AS v,
    FALSE AS integral
  FROM shoal_events AS e3
  WHERE
    e3.event_name = 'Shoes Bought'
    AND e3.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
    AND e3.ts >= CAST('2024-06-23 12:00:00.000000' AS TIMESTAMP)
  GROUP BY
    e3.profile_id
), users_2 AS (
  SELECT
    l2.group_id AS k,
    COALESCE(COALESCE(reduce_3.v, 0) >= 1, FALSE) AS ok
  FROM shoal_links AS l2
  LEFT JOIN reduce_3 AS reduce_3
    ON reduce_3.k = l2.profile_id
), quantified_2 AS (
  SELECT
    users_2.k AS k,
    BOOL_OR(CAST(users_2.ok AS BOOLEAN)) AS any_v
  FROM users_2 AS users_2
  GROUP BY
    users_2.k
)
SELECT
  a.group_id AS entity_id,
  (
    CASE
      WHEN JSON_TYPE(t1.value) = 'ARRAY'
      THEN COALESCE(
        LEN(
          LIST_FILTER(
            JSON_EXTRACT(t1.value, '$[*]'),
            LAMBDA el : CASE WHEN JSON_TYPE(el) = 'VARCHAR' THEN JSON_EXTRACT_STRING(el, '$') END = 'true'
            OR CASE WHEN JSON_TYPE(el) = 'BOOLEAN' THEN JSON_EXTRACT_STRING(el, '$') END = LOWER('true')
          )
        ) > 0,
        FALSE
      )
      ELSE COALESCE(
        CASE
          WHEN JSON_TYPE(t1.value) = 'VARCHAR'
          THEN JSON_EXTRACT_STRING(t1.value, '$')
        END = 'true'
        OR CASE
          WHEN JSON_TYPE(t1.value) = 'BOOLEAN'
          THEN JSON_EXTRACT_STRING(t1.value, '$')
        END = LOWER('true'),
        FALSE
      )
    END
  )
  AND (
    COALESCE(quantified_2.any_v, FALSE)
  ) AS value,
  FALSE AS integral
FROM shoal_accounts AS a
LEFT JOIN shoal_values AS t1
  ON t1.target = 'accounts' AND t1.entity_id = a.group_id AND t1.key = 'enterprise'
LEFT JOIN quantified_2 AS quantified_2
  ON quantified_2.k = a.group_id
