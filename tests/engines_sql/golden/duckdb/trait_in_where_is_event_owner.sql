-- shop.yaml: trait_in_where_is_event_owner
WITH reduce_1 AS (
  SELECT
    e1.profile_id AS k,
    COUNT(*) AS v,
    FALSE AS integral
  FROM shoal_events AS e1
  LEFT JOIN shoal_traits AS t2
    ON t2.profile_id = e1.profile_id AND t2.key = 'avg_spend'
  WHERE
    e1.event_name = 'Order Completed'
    AND e1.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
    AND (
      CASE
        WHEN JSON_TYPE(t2.value) = 'ARRAY'
        THEN COALESCE(
          LEN(
            LIST_FILTER(
              JSON_EXTRACT(t2.value, '$[*]'),
              LAMBDA el : CASE
                WHEN JSON_TYPE(el) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
                THEN CAST(el AS DOUBLE)
                WHEN JSON_TYPE(el) = 'VARCHAR'
                AND REGEXP_FULL_MATCH(
                  JSON_EXTRACT_STRING(el, '$'),
                  '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
                )
                THEN TRY_CAST(JSON_EXTRACT_STRING(el, '$') AS DOUBLE)
              END >= 100
            )
          ) > 0,
          FALSE
        )
        ELSE COALESCE(
          CASE
            WHEN JSON_TYPE(t2.value) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
            THEN CAST(t2.value AS DOUBLE)
            WHEN JSON_TYPE(t2.value) = 'VARCHAR'
            AND REGEXP_FULL_MATCH(
              JSON_EXTRACT_STRING(t2.value, '$'),
              '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
            )
            THEN TRY_CAST(JSON_EXTRACT_STRING(t2.value, '$') AS DOUBLE)
          END >= 100,
          FALSE
        )
      END
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
