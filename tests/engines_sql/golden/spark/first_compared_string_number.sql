-- shop.yaml: first_compared_string_number
WITH ranked_1 AS (
  SELECT
    e1.profile_id AS k,
    VARIANT_GET(e1.properties, '$["price"]', 'variant') AS v,
    ROW_NUMBER() OVER (
      PARTITION BY e1.profile_id
      ORDER BY e1.ts ASC NULLS LAST, e1.received_at ASC NULLS LAST, e1.message_id ASC NULLS LAST, e1.event_id ASC NULLS LAST
    ) AS rn
  FROM shoal_events AS e1
  WHERE
    (
      e1.event_name = 'Order Completed'
      AND e1.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
    )
    AND (
      NOT VARIANT_GET(e1.properties, '$["price"]', 'variant') IS NULL
      AND NOT IS_VARIANT_NULL(VARIANT_GET(e1.properties, '$["price"]', 'variant'))
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
    WHEN STARTSWITH(SCHEMA_OF_VARIANT(reduce_1.v), 'ARRAY<')
    THEN COALESCE(
      EXISTS(
        TRY_VARIANT_GET(reduce_1.v, '$', 'array<variant>'),
        el -> CASE
          WHEN SCHEMA_OF_VARIANT(el) IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT')
          OR SCHEMA_OF_VARIANT(el) RLIKE '\\ADECIMAL\\(.*\\z'
          THEN TRY_CAST(el AS DOUBLE)
          WHEN SCHEMA_OF_VARIANT(el) = 'STRING'
          AND CAST(el AS STRING) RLIKE '\\A(?:[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?)\\z'
          THEN TRY_CAST(CAST(el AS STRING) AS DOUBLE)
        END = 200
        OR CASE WHEN SCHEMA_OF_VARIANT(el) = 'STRING' THEN CAST(el AS STRING) END = '200'
        OR CASE WHEN SCHEMA_OF_VARIANT(el) = 'BOOLEAN' THEN CAST(el AS STRING) END = LOWER('200')
      ),
      FALSE
    )
    ELSE COALESCE(
      CASE
        WHEN SCHEMA_OF_VARIANT(reduce_1.v) IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT')
        OR SCHEMA_OF_VARIANT(reduce_1.v) RLIKE '\\ADECIMAL\\(.*\\z'
        THEN TRY_CAST(reduce_1.v AS DOUBLE)
        WHEN SCHEMA_OF_VARIANT(reduce_1.v) = 'STRING'
        AND CAST(reduce_1.v AS STRING) RLIKE '\\A(?:[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?)\\z'
        THEN TRY_CAST(CAST(reduce_1.v AS STRING) AS DOUBLE)
      END = 200
      OR CASE
        WHEN SCHEMA_OF_VARIANT(reduce_1.v) = 'STRING'
        THEN CAST(reduce_1.v AS STRING)
      END = '200'
      OR CASE
        WHEN SCHEMA_OF_VARIANT(reduce_1.v) = 'BOOLEAN'
        THEN CAST(reduce_1.v AS STRING)
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
