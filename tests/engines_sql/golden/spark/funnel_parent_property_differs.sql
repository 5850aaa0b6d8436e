-- funnel.yaml: funnel_parent_property_differs
WITH reduce_2 AS (
  SELECT
    p2.event_id AS k,
    COUNT(*) AS v,
    FALSE AS integral
  FROM shoal_events AS p2
  JOIN shoal_events AS e2
    ON e2.profile_id = p2.profile_id
  WHERE
    p2.event_name = 'Product Added'
    AND p2.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
    AND e2.event_name = 'Order Completed'
    AND e2.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
    AND (
      CASE
        WHEN STARTSWITH(
          SCHEMA_OF_VARIANT(VARIANT_GET(e2.properties, '$["product_id"]', 'variant')),
          'ARRAY<'
        )
        THEN COALESCE(
          EXISTS(
            TRY_VARIANT_GET(VARIANT_GET(e2.properties, '$["product_id"]', 'variant'), '$', 'array<variant>'),
            el -> (
              NOT el IS NULL AND NOT IS_VARIANT_NULL(el)
            )
            AND (
              NOT VARIANT_GET(p2.properties, '$["product_id"]', 'variant') IS NULL
              AND NOT IS_VARIANT_NULL(VARIANT_GET(p2.properties, '$["product_id"]', 'variant'))
            )
            AND NOT (
              COALESCE(
                CASE
                  WHEN SCHEMA_OF_VARIANT(el) IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT')
                  OR SCHEMA_OF_VARIANT(el) RLIKE '\\ADECIMAL\\(.*\\z'
                  THEN TRY_CAST(el AS DOUBLE)
                  WHEN SCHEMA_OF_VARIANT(el) = 'STRING'
                  AND CAST(el AS STRING) RLIKE '\\A(?:[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?)\\z'
                  THEN TRY_CAST(CAST(el AS STRING) AS DOUBLE)
                END = CASE
                  WHEN SCHEMA_OF_VARIANT(VARIANT_GET(p2.properties, '$["product_id"]', 'variant')) IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT')
                  OR SCHEMA_OF_VARIANT(VARIANT_GET(p2.properties, '$["product_id"]', 'variant')) RLIKE '\\ADECIMAL\\(.*\\z'
                  THEN TRY_CAST(VARIANT_GET(p2.properties, '$["product_id"]', 'variant') AS DOUBLE)
                  WHEN SCHEMA_OF_VARIANT(VARIANT_GET(p2.properties, '$["product_id"]', 'variant')) = 'STRING'
                  AND CAST(VARIANT_GET(p2.properties, '$["product_id"]', 'variant') AS STRING) RLIKE '\\A(?:[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?)\\z'
                  THEN TRY_CAST(CAST(VARIANT_GET(p2.properties, '$["product_id"]', 'variant') AS STRING) AS DOUBLE)
                END
                OR CASE WHEN SCHEMA_OF_VARIANT(el) = 'STRING' THEN CAST(el AS STRING) END = CASE
                  WHEN SCHEMA_OF_VARIANT(VARIANT_GET(p2.properties, '$["product_id"]', 'variant')) = 'STRING'
                  THEN CAST(VARIANT_GET(p2.properties, '$["product_id"]', 'variant') AS STRING)
                END
                OR CASE WHEN SCHEMA_OF_VARIANT(el) = 'BOOLEAN' THEN CAST(el AS STRING) END = LOWER(
                  CASE
                    WHEN SCHEMA_OF_VARIANT(VARIANT_GET(p2.properties, '$["product_id"]', 'variant')) = 'STRING'
                    THEN CAST(VARIANT_GET(p2.properties, '$["product_id"]', 'variant') AS STRING)
                  END
                )
                OR LOWER(CASE WHEN SCHEMA_OF_VARIANT(el) = 'STRING' THEN CAST(el AS STRING) END) = CASE
                  WHEN SCHEMA_OF_VARIANT(VARIANT_GET(p2.properties, '$["product_id"]', 'variant')) = 'BOOLEAN'
                  THEN CAST(VARIANT_GET(p2.properties, '$["product_id"]', 'variant') AS STRING)
                END
                OR CASE WHEN SCHEMA_OF_VARIANT(el) = 'BOOLEAN' THEN CAST(el AS STRING) END = CASE
                  WHEN SCHEMA_OF_VARIANT(VARIANT_GET(p2.properties, '$["product_id"]', 'variant')) = 'BOOLEAN'
                  THEN CAST(VARIANT_GET(p2.properties, '$["product_id"]', 'variant') AS STRING)
                END
                OR (
                  STARTSWITH(SCHEMA_OF_VARIANT(el), 'OBJECT<')
                  AND STARTSWITH(
                    SCHEMA_OF_VARIANT(VARIANT_GET(p2.properties, '$["product_id"]', 'variant')),
                    'OBJECT<'
                  )
                  AND CAST(el AS STRING) = CAST(VARIANT_GET(p2.properties, '$["product_id"]', 'variant') AS STRING)
                )
                OR (
                  STARTSWITH(SCHEMA_OF_VARIANT(el), 'ARRAY<')
                  AND STARTSWITH(
                    SCHEMA_OF_VARIANT(VARIANT_GET(p2.properties, '$["product_id"]', 'variant')),
                    'ARRAY<'
                  )
                  AND CAST(el AS STRING) = CAST(VARIANT_GET(p2.properties, '$["product_id"]', 'variant') AS STRING)
                ),
                FALSE
              )
            )
          ),
          FALSE
        )
        ELSE COALESCE(
          (
            NOT VARIANT_GET(e2.properties, '$["product_id"]', 'variant') IS NULL
            AND NOT IS_VARIANT_NULL(VARIANT_GET(e2.properties, '$["product_id"]', 'variant'))
          )
          AND (
            NOT VARIANT_GET(p2.properties, '$["product_id"]', 'variant') IS NULL
            AND NOT IS_VARIANT_NULL(VARIANT_GET(p2.properties, '$["product_id"]', 'variant'))
          )
          AND NOT (
            COALESCE(
              CASE
                WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e2.properties, '$["product_id"]', 'variant')) IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT')
                OR SCHEMA_OF_VARIANT(VARIANT_GET(e2.properties, '$["product_id"]', 'variant')) RLIKE '\\ADECIMAL\\(.*\\z'
                THEN TRY_CAST(VARIANT_GET(e2.properties, '$["product_id"]', 'variant') AS DOUBLE)
                WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e2.properties, '$["product_id"]', 'variant')) = 'STRING'
                AND CAST(VARIANT_GET(e2.properties, '$["product_id"]', 'variant') AS STRING) RLIKE '\\A(?:[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?)\\z'
                THEN TRY_CAST(CAST(VARIANT_GET(e2.properties, '$["product_id"]', 'variant') AS STRING) AS DOUBLE)
              END = CASE
                WHEN SCHEMA_OF_VARIANT(VARIANT_GET(p2.properties, '$["product_id"]', 'variant')) IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT')
                OR SCHEMA_OF_VARIANT(VARIANT_GET(p2.properties, '$["product_id"]', 'variant')) RLIKE '\\ADECIMAL\\(.*\\z'
                THEN TRY_CAST(VARIANT_GET(p2.properties, '$["product_id"]', 'variant') AS DOUBLE)
                WHEN SCHEMA_OF_VARIANT(VARIANT_GET(p2.properties, '$["product_id"]', 'variant')) = 'STRING'
                AND CAST(VARIANT_GET(p2.properties, '$["product_id"]', 'variant') AS STRING) RLIKE '\\A(?:[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?)\\z'
                THEN TRY_CAST(CAST(VARIANT_GET(p2.properties, '$["product_id"]', 'variant') AS STRING) AS DOUBLE)
              END
              OR CASE
                WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e2.properties, '$["product_id"]', 'variant')) = 'STRING'
                THEN CAST(VARIANT_GET(e2.properties, '$["product_id"]', 'variant') AS STRING)
              END = CASE
                WHEN SCHEMA_OF_VARIANT(VARIANT_GET(p2.properties, '$["product_id"]', 'variant')) = 'STRING'
                THEN CAST(VARIANT_GET(p2.properties, '$["product_id"]', 'variant') AS STRING)
              END
              OR CASE
                WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e2.properties, '$["product_id"]', 'variant')) = 'BOOLEAN'
                THEN CAST(VARIANT_GET(e2.properties, '$["product_id"]', 'variant') AS STRING)
              END = LOWER(
                CASE
                  WHEN SCHEMA_OF_VARIANT(VARIANT_GET(p2.properties, '$["product_id"]', 'variant')) = 'STRING'
                  THEN CAST(VARIANT_GET(p2.properties, '$["product_id"]', 'variant') AS STRING)
                END
              )
              OR LOWER(
                CASE
                  WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e2.properties, '$["product_id"]', 'variant')) = 'STRING'
                  THEN CAST(VARIANT_GET(e2.properties, '$["product_id"]', 'variant') AS STRING)
                END
              ) = CASE
                WHEN SCHEMA_OF_VARIANT(VARIANT_GET(p2.properties, '$["product_id"]', 'variant')) = 'BOOLEAN'
                THEN CAST(VARIANT_GET(p2.properties, '$["product_id"]', 'variant') AS STRING)
              END
              OR CASE
                WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e2.properties, '$["product_id"]', 'variant')) = 'BOOLEAN'
                THEN CAST(VARIANT_GET(e2.properties, '$["product_id"]', 'variant') AS STRING)
              END = CASE
                WHEN SCHEMA_OF_VARIANT(VARIANT_GET(p2.properties, '$["product_id"]', 'variant')) = 'BOOLEAN'
                THEN CAST(VARIANT_GET(p2.properties, '$["product_id"]', 'variant') AS STRING)
              END
              OR (
                STARTSWITH(
                  SCHEMA_OF_VARIANT(VARIANT_GET(e2.properties, '$["product_id"]', 'variant')),
                  'OBJECT<'
                )
                AND STARTSWITH(
                  SCHEMA_OF_VARIANT(VARIANT_GET(p2.properties, '$["product_id"]', 'variant')),
                  'OBJECT<'
                )
                AND CAST(VARIANT_GET(e2.properties, '$["product_id"]', 'variant') AS STRING) = CAST(VARIANT_GET(p2.properties, '$["product_id"]', 'variant') AS STRING)
              )
              OR (
                STARTSWITH(
                  SCHEMA_OF_VARIANT(VARIANT_GET(e2.properties, '$["product_id"]', 'variant')),
                  'ARRAY<'
                )
                AND STARTSWITH(
                  SCHEMA_OF_VARIANT(VARIANT_GET(p2.properties, '$["product_id"]', 'variant')),
                  'ARRAY<'
                )
                AND CAST(VARIANT_GET(e2.properties, '$["product_id"]', 'variant') AS STRING) = CAST(VARIANT_GET(p2.properties, '$["product_id"]', 'variant') AS STRING)
              ),
              FALSE
            )
          ),
          FALSE
        )
      END
    )
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
  COALESCE(reduce_1.v, 0) AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN reduce_1 AS reduce_1
  ON reduce_1.k = u.profile_id
WHERE
  u.is_user
