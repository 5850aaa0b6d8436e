-- shop.yaml: literal_subject_reducer_operand
WITH reduce_1 AS (
  SELECT
    e1.profile_id AS k,
    MAX(
      CASE
        WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["price"]', 'variant')) IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT')
        OR SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["price"]', 'variant')) RLIKE '\\ADECIMAL\\(.*\\z'
        THEN TRY_CAST(VARIANT_GET(e1.properties, '$["price"]', 'variant') AS DOUBLE)
        WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["price"]', 'variant')) = 'STRING'
        AND CAST(VARIANT_GET(e1.properties, '$["price"]', 'variant') AS STRING) RLIKE '\\A(?:[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?)\\z'
        THEN TRY_CAST(CAST(VARIANT_GET(e1.properties, '$["price"]', 'variant') AS STRING) AS DOUBLE)
      END
    ) AS v,
    MAX(
      CASE
        WHEN (
          SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["price"]', 'variant')) IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT')
          OR SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["price"]', 'variant')) RLIKE '\\ADECIMAL\\([0-9]+,0\\)\\z'
        )
        OR (
          SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["price"]', 'variant')) = 'STRING'
          AND CAST(VARIANT_GET(e1.properties, '$["price"]', 'variant') AS STRING) RLIKE '\\A(?:[+-]?[0-9]+)\\z'
        )
        THEN CASE
          WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["price"]', 'variant')) IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT')
          OR SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["price"]', 'variant')) RLIKE '\\ADECIMAL\\(.*\\z'
          THEN TRY_CAST(VARIANT_GET(e1.properties, '$["price"]', 'variant') AS DOUBLE)
          WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["price"]', 'variant')) = 'STRING'
          AND CAST(VARIANT_GET(e1.properties, '$["price"]', 'variant') AS STRING) RLIKE '\\A(?:[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?)\\z'
          THEN TRY_CAST(CAST(VARIANT_GET(e1.properties, '$["price"]', 'variant') AS STRING) AS DOUBLE)
        END
      END
    ) = MAX(
      CASE
        WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["price"]', 'variant')) IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT')
        OR SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["price"]', 'variant')) RLIKE '\\ADECIMAL\\(.*\\z'
        THEN TRY_CAST(VARIANT_GET(e1.properties, '$["price"]', 'variant') AS DOUBLE)
        WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["price"]', 'variant')) = 'STRING'
        AND CAST(VARIANT_GET(e1.properties, '$["price"]', 'variant') AS STRING) RLIKE '\\A(?:[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?)\\z'
        THEN TRY_CAST(CAST(VARIANT_GET(e1.properties, '$["price"]', 'variant') AS STRING) AS DOUBLE)
      END
    ) AS integral
  FROM shoal_events AS e1
  WHERE
    e1.event_name = 'Order Completed'
    AND e1.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
  GROUP BY
    e1.profile_id
)
SELECT
  u.profile_id AS entity_id,
  COALESCE(100 <= reduce_1.v, FALSE) AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN reduce_1 AS reduce_1
  ON reduce_1.k = u.profile_id
WHERE
  u.is_user
