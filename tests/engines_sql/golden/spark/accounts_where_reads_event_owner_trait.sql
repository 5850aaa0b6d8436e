-- accounts.yaml: accounts_where_reads_event_owner_trait
WITH reduce_1 AS (
  SELECT
    l1.group_id AS k,
    COUNT(*) AS v,
    FALSE AS integral
  FROM shoal_links AS l1
  JOIN shoal_events AS e1
    ON e1.profile_id = l1.profile_id
  LEFT JOIN shoal_traits AS t2
    ON t2.profile_id = e1.profile_id AND t2.key = 'total_spend'
  WHERE
    e1.event_name = 'Shoes Bought'
    AND e1.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
    AND (
      CASE
        WHEN STARTSWITH(SCHEMA_OF_VARIANT(t2.value), 'ARRAY<')
        THEN COALESCE(
          EXISTS(
            TRY_VARIANT_GET(t2.value, '$', 'array<variant>'),
            el -> CASE
              WHEN SCHEMA_OF_VARIANT(el) IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT')
              OR SCHEMA_OF_VARIANT(el) RLIKE '\\ADECIMAL\\(.*\\z'
              THEN TRY_CAST(el AS DOUBLE)
              WHEN SCHEMA_OF_VARIANT(el) = 'STRING'
              AND CAST(el AS STRING) RLIKE '\\A(?:[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?)\\z'
              THEN TRY_CAST(CAST(el AS STRING) AS DOUBLE)
            END > 200
          ),
          FALSE
        )
        ELSE COALESCE(
          CASE
            WHEN SCHEMA_OF_VARIANT(t2.value) IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT')
            OR SCHEMA_OF_VARIANT(t2.value) RLIKE '\\ADECIMAL\\(.*\\z'
            THEN TRY_CAST(t2.value AS DOUBLE)
            WHEN SCHEMA_OF_VARIANT(t2.value) = 'STRING'
            AND CAST(t2.value AS STRING) RLIKE '\\A(?:[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?)\\z'
            THEN TRY_CAST(CAST(t2.value AS STRING) AS DOUBLE)
          END > 200,
          FALSE
        )
      END
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
