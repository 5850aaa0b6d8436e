-- accounts.yaml: accounts_all_users_compound
WITH reduce_2 AS (
  SELECT
    e2.profile_id AS k,
    COUNT(*) AS v,
    FALSE AS integral
  FROM shoal_events AS e2
  WHERE
    e2.event_name = 'Shoes Bought'
    AND e2.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
  GROUP BY
    e2.profile_id
), users_1 AS (
  SELECT
    l1.group_id AS k,
    (
      COALESCE(COALESCE(reduce_2.v, 0) >= 1, FALSE)
    )
    AND (
      CASE
        WHEN JSON_TYPE(t3.value) = 'ARRAY'
        THEN COALESCE(
          LEN(
            LIST_FILTER(
              JSON_EXTRACT(t3.value, '$[*]'),
              LAMBDA el : CASE
                WHEN JSON_TYPE(el) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
                THEN CAST(el AS DOUBLE)
                WHEN JSON_TYPE(el) = 'VARCHAR'
                AND REGEXP_FULL_MATCH(
                  JSON_EXTRACT_STRING(el, '$'),
                  '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
                )
                THEN TRY_CAST(JSON_EXTRACT_STRING(el, '$') AS DOUBLE)
              END > 200
            )
          ) > 0,
          FALSE
        )
        ELSE COALESCE(
          CASE
            WHEN JSON_TYPE(t3.value) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
            THEN CAST(t3.value AS DOUBLE)
            WHEN JSON_TYPE(t3.value) = 'VARCHAR'
            AND REGEXP_FULL_MATCH(
              JSON_EXTRACT_STRING(t3.value, '$'),
              '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
            )
            THEN TRY_CAST(JSON_EXTRACT_STRING(t3.value, '$') AS DOUBLE)
          END > 200,
          FALSE
        )
      END
    ) AS ok
  FROM shoal_links AS l1
  LEFT JOIN reduce_2 AS reduce_2
    ON reduce_2.k = l1.profile_id
  LEFT JOIN shoal_traits AS t3
    ON t3.profile_id = l1.profile_id AND t3.key = 'total_spend'
), quantified_1 AS (
  SELECT
    users_1.k AS k,
    BOOL_AND(CAST(users_1.ok AS BOOLEAN)) AS all_v
  FROM users_1 AS users_1
  GROUP BY
    users_1.k
)
SELECT
  a.group_id AS entity_id,
  COALESCE(quantified_1.all_v, FALSE) AS value,
  FALSE AS integral
FROM shoal_accounts AS a
LEFT JOIN quantified_1 AS quantified_1
  ON quantified_1.k = a.group_id
