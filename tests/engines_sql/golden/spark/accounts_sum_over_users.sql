-- accounts.yaml: accounts_sum_over_users
WITH reduce_1 AS (
  SELECT
    l1.group_id AS k,
    SUM(
      CASE
        WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["spend"]', 'variant')) IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT')
        OR SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["spend"]', 'variant')) RLIKE '\\ADECIMAL\\(.*\\z'
        THEN TRY_CAST(VARIANT_GET(e1.properties, '$["spend"]', 'variant') AS DOUBLE)
        WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["spend"]', 'variant')) = 'STRING'
        AND CAST(VARIANT_GET(e1.properties, '$["spend"]', 'variant') AS STRING) RLIKE '\\A(?:[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?)\\z'
        THEN TRY_CAST(CAST(VARIANT_GET(e1.properties, '$["spend"]', 'variant') AS STRING) AS DOUBLE)
      END
    ) AS v,
    COUNT(
      CASE
        WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["spend"]', 'variant')) IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT')
        OR SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["spend"]', 'variant')) RLIKE '\\ADECIMAL\\(.*\\z'
        THEN TRY_CAST(VARIANT_GET(e1.properties, '$["spend"]', 'variant') AS DOUBLE)
        WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["spend"]', 'variant')) = 'STRING'
        AND CAST(VARIANT_GET(e1.properties, '$["spend"]', 'variant') AS STRING) RLIKE '\\A(?:[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?)\\z'
        THEN TRY_CAST(CAST(VARIANT_GET(e1.properties, '$["spend"]', 'variant') AS STRING) AS DOUBLE)
      END
    ) = COUNT(
      CASE
        WHEN (
          SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["spend"]', 'variant')) IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT')
          OR SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["spend"]', 'variant')) RLIKE '\\ADECIMAL\\([0-9]+,0\\)\\z'
        )
        OR (
          SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["spend"]', 'variant')) = 'STRING'
          AND CAST(VARIANT_GET(e1.properties, '$["spend"]', 'variant') AS STRING) RLIKE '\\A(?:[+-]?[0-9]+)\\z'
        )
        THEN CASE
          WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["spend"]', 'variant')) IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT')
          OR SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["spend"]', 'variant')) RLIKE '\\ADECIMAL\\(.*\\z'
          THEN TRY_CAST(VARIANT_GET(e1.properties, '$["spend"]', 'variant') AS DOUBLE)
          WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["spend"]', 'variant')) = 'STRING'
          AND CAST(VARIANT_GET(e1.properties, '$["spend"]', 'variant') AS STRING) RLIKE '\\A(?:[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?)\\z'
          THEN TRY_CAST(CAST(VARIANT_GET(e1.properties, '$["spend"]', 'variant') AS STRING) AS DOUBLE)
        END
      END
    ) AS integral
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
  reduce_1.v AS value,
  reduce_1.integral AS integral
FROM shoal_accounts AS a
LEFT JOIN reduce_1 AS reduce_1
  ON reduce_1.k = a.group_id
