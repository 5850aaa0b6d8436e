-- shop.yaml: first_compared_string_number
WITH ranked_1 AS (
  SELECT
    e1.profile_id AS k,
    JSON_EXTRACT(e1.properties, '/price') AS v,
    ROW_NUMBER() OVER (
      PARTITION BY e1.profile_id
      ORDER BY e1.ts ASC, e1.received_at ASC, e1.message_id ASC, e1.event_id ASC
    ) AS rn
  FROM shoal_events AS e1
  WHERE
    (
      e1.event_name = 'Order Completed'
      AND e1.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
    )
    AND (
      NOT JSON_EXTRACT(e1.properties, '/price') IS NULL
      AND NOT JSON_TYPE(JSON_EXTRACT(e1.properties, '/price')) = 'NULL'
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
  CASE
    WHEN JSON_TYPE(reduce_1.v) = 'ARRAY'
    THEN COALESCE(
      LEN(
        LIST_FILTER(
          JSON_EXTRACT(reduce_1.v, '$[*]'),
          LAMBDA el : CASE
            WHEN JSON_TYPE(el) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
            THEN CAST(el AS DOUBLE)
            WHEN JSON_TYPE(el) = 'VARCHAR'
            AND REGEXP_FULL_MATCH(
              JSON_EXTRACT_STRING(el, '$'),
              '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
            )
            THEN TRY_CAST(JSON_EXTRACT_STRING(el, '$') AS DOUBLE)
          END = 200
          OR CASE WHEN JSON_TYPE(el) = 'VARCHAR' THEN JSON_EXTRACT_STRING(el, '$') END = '200'
          OR CASE WHEN JSON_TYPE(el) = 'BOOLEAN' THEN JSON_EXTRACT_STRING(el, '$') END = LOWER('200')
        )
      ) > 0,
      FALSE
    )
    ELSE COALESCE(
      CASE
        WHEN JSON_TYPE(reduce_1.v) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
        THEN CAST(reduce_1.v AS DOUBLE)
        WHEN JSON_TYPE(reduce_1.v) = 'VARCHAR'
        AND REGEXP_FULL_MATCH(
          JSON_EXTRACT_STRING(reduce_1.v, '$'),
          '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
        )
        THEN TRY_CAST(JSON_EXTRACT_STRING(reduce_1.v, '$') AS DOUBLE)
      END = 200
      OR CASE
        WHEN JSON_TYPE(reduce_1.v) = 'VARCHAR'
        THEN JSON_EXTRACT_STRING(reduce_1.v, '$')
      END = '200'
      OR CASE
        WHEN JSON_TYPE(reduce_1.v) = 'BOOLEAN'
        THEN JSON_EXTRACT_STRING(reduce_1.v, '$')
      END = LOWER('200'),
      FALSE
    )
  END AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN reduce_1 AS reduce_1
  ON reduce_1.k = u.profile_id
WHERE
  u.is_user
