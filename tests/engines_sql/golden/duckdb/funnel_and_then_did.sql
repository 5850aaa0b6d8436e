-- funnel.yaml: funnel_and_then_did
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
    AND (
      CASE
        WHEN JSON_TYPE(JSON_EXTRACT(e2.properties, '/product_id')) = 'ARRAY'
        THEN COALESCE(
          LEN(
            LIST_FILTER(
              JSON_EXTRACT(JSON_EXTRACT(e2.properties, '/product_id'), '$[*]'),
              LAMBDA el : CASE
                WHEN JSON_TYPE(el) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
                THEN CAST(el AS DOUBLE)
                WHEN JSON_TYPE(el) = 'VARCHAR'
                AND REGEXP_FULL_MATCH(
                  JSON_EXTRACT_STRING(el, '$'),
                  '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
                )
                THEN TRY_CAST(JSON_EXTRACT_STRING(el, '$') AS DOUBLE)
              END = CASE
                WHEN JSON_TYPE(JSON_EXTRACT(p2.properties, '/product_id')) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
                THEN CAST(JSON_EXTRACT(p2.properties, '/product_id') AS DOUBLE)
                WHEN JSON_TYPE(JSON_EXTRACT(p2.properties, '/product_id')) = 'VARCHAR'
                AND REGEXP_FULL_MATCH(
                  JSON_EXTRACT_STRING(JSON_EXTRACT(p2.properties, '/product_id'), '$'),
                  '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
                )
                THEN TRY_CAST(JSON_EXTRACT_STRING(JSON_EXTRACT(p2.properties, '/product_id'), '$') AS DOUBLE)
              END
              OR CASE WHEN JSON_TYPE(el) = 'VARCHAR' THEN JSON_EXTRACT_STRING(el, '$') END = CASE
                WHEN JSON_TYPE(JSON_EXTRACT(p2.properties, '/product_id')) = 'VARCHAR'
                THEN JSON_EXTRACT_STRING(JSON_EXTRACT(p2.properties, '/product_id'), '$')
              END
              OR CASE WHEN JSON_TYPE(el) = 'BOOLEAN' THEN JSON_EXTRACT_STRING(el, '$') END = LOWER(
                CASE
                  WHEN JSON_TYPE(JSON_EXTRACT(p2.properties, '/product_id')) = 'VARCHAR'
                  THEN JSON_EXTRACT_STRING(JSON_EXTRACT(p2.properties, '/product_id'), '$')
                END
              )
              OR LOWER(CASE WHEN JSON_TYPE(el) = 'VARCHAR' THEN JSON_EXTRACT_STRING(el, '$') END) = CASE
                WHEN JSON_TYPE(JSON_EXTRACT(p2.properties, '/product_id')) = 'BOOLEAN'
                THEN JSON_EXTRACT_STRING(JSON_EXTRACT(p2.properties, '/product_id'), '$')
              END
              OR CASE WHEN JSON_TYPE(el) = 'BOOLEAN' THEN JSON_EXTRACT_STRING(el, '$') END = CASE
                WHEN JSON_TYPE(JSON_EXTRACT(p2.properties, '/product_id')) = 'BOOLEAN'
                THEN JSON_EXTRACT_STRING(JSON_EXTRACT(p2.properties, '/product_id'), '$')
              END
              OR (
                JSON_TYPE(el) = 'OBJECT'
                AND JSON_TYPE(JSON_EXTRACT(p2.properties, '/product_id')) = 'OBJECT'
                AND JSON_EXTRACT_STRING(el, '$') = JSON_EXTRACT_STRING(JSON_EXTRACT(p2.properties, '/product_id'), '$')
              )
              OR (
                JSON_TYPE(el) = 'ARRAY'
                AND JSON_TYPE(JSON_EXTRACT(p2.properties, '/product_id')) = 'ARRAY'
                AND JSON_EXTRACT_STRING(el, '$') = JSON_EXTRACT_STRING(JSON_EXTRACT(p2.properties, '/product_id'), '$')
              )
            )
          ) > 0,
          FALSE
        )
        ELSE COALESCE(
          CASE
            WHEN JSON_TYPE(JSON_EXTRACT(e2.properties, '/product_id')) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
            THEN CAST(JSON_EXTRACT(e2.properties, '/product_id') AS DOUBLE)
            WHEN JSON_TYPE(JSON_EXTRACT(e2.properties, '/product_id')) = 'VARCHAR'
            AND REGEXP_FULL_MATCH(
              JSON_EXTRACT_STRING(JSON_EXTRACT(e2.properties, '/product_id'), '$'),
              '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
            )
            THEN TRY_CAST(JSON_EXTRACT_STRING(JSON_EXTRACT(e2.properties, '/product_id'), '$') AS DOUBLE)
          END = CASE
            WHEN JSON_TYPE(JSON_EXTRACT(p2.properties, '/product_id')) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
            THEN CAST(JSON_EXTRACT(p2.properties, '/product_id') AS DOUBLE)
            WHEN JSON_TYPE(JSON_EXTRACT(p2.properties, '/product_id')) = 'VARCHAR'
            AND REGEXP_FULL_MATCH(
              JSON_EXTRACT_STRING(JSON_EXTRACT(p2.properties, '/product_id'), '$'),
              '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
            )
            THEN TRY_CAST(JSON_EXTRACT_STRING(JSON_EXTRACT(p2.properties, '/product_id'), '$') AS DOUBLE)
          END
          OR CASE
            WHEN JSON_TYPE(JSON_EXTRACT(e2.properties, '/product_id')) = 'VARCHAR'
            THEN JSON_EXTRACT_STRING(JSON_EXTRACT(e2.properties, '/product_id'), '$')
          END = CASE
            WHEN JSON_TYPE(JSON_EXTRACT(p2.properties, '/product_id')) = 'VARCHAR'
            THEN JSON_EXTRACT_STRING(JSON_EXTRACT(p2.properties, '/product_id'), '$')
          END
          OR CASE
            WHEN JSON_TYPE(JSON_EXTRACT(e2.properties, '/product_id')) = 'BOOLEAN'
            THEN JSON_EXTRACT_STRING(JSON_EXTRACT(e2.properties, '/product_id'), '$')
          END = LOWER(
            CASE
              WHEN JSON_TYPE(JSON_EXTRACT(p2.properties, '/product_id')) = 'VARCHAR'
              THEN JSON_EXTRACT_STRING(JSON_EXTRACT(p2.properties, '/product_id'), '$')
            END
          )
          OR LOWER(
            CASE
              WHEN JSON_TYPE(JSON_EXTRACT(e2.properties, '/product_id')) = 'VARCHAR'
              THEN JSON_EXTRACT_STRING(JSON_EXTRACT(e2.properties, '/product_id'), '$')
            END
          ) = CASE
            WHEN JSON_TYPE(JSON_EXTRACT(p2.properties, '/product_id')) = 'BOOLEAN'
            THEN JSON_EXTRACT_STRING(JSON_EXTRACT(p2.properties, '/product_id'), '$')
          END
          OR CASE
            WHEN JSON_TYPE(JSON_EXTRACT(e2.properties, '/product_id')) = 'BOOLEAN'
            THEN JSON_EXTRACT_STRING(JSON_EXTRACT(e2.properties, '/product_id'), '$')
          END = CASE
            WHEN JSON_TYPE(JSON_EXTRACT(p2.properties, '/product_id')) = 'BOOLEAN'
            THEN JSON_EXTRACT_STRING(JSON_EXTRACT(p2.properties, '/product_id'), '$')
          END
          OR (
            JSON_TYPE(JSON_EXTRACT(e2.properties, '/product_id')) = 'OBJECT'
            AND JSON_TYPE(JSON_EXTRACT(p2.properties, '/product_id')) = 'OBJECT'
            AND JSON_EXTRACT_STRING(JSON_EXTRACT(e2.properties, '/product_id'), '$') = JSON_EXTRACT_STRING(JSON_EXTRACT(p2.properties, '/product_id'), '$')
          )
          OR (
            JSON_TYPE(JSON_EXTRACT(e2.properties, '/product_id')) = 'ARRAY'
            AND JSON_TYPE(JSON_EXTRACT(p2.properties, '/product_id')) = 'ARRAY'
            AND JSON_EXTRACT_STRING(JSON_EXTRACT(e2.properties, '/product_id'), '$') = JSON_EXTRACT_STRING(JSON_EXTRACT(p2.properties, '/product_id'), '$')
          ),
          FALSE
        )
      END
    )
    AND e2.ts >= p2.ts
    AND e2.ts <= p2.ts + INTERVAL '1' DAY
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
