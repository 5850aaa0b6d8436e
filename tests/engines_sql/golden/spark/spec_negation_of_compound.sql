-- shop.yaml: spec_negation_of_compound
WITH reduce_1 AS (
  SELECT
    e1.profile_id AS k,
    COUNT(*) AS v,
    FALSE AS integral
  FROM shoal_events AS e1
  WHERE
    e1.event_name = 'Order Completed'
    AND e1.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
  GROUP BY
    e1.profile_id
)
SELECT
  u.profile_id AS entity_id,
  NOT (
    (
      COALESCE(COALESCE(reduce_1.v, 0) >= 1, FALSE)
    )
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
            END > 100
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
          END > 100,
          FALSE
        )
      END
    )
  ) AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN reduce_1 AS reduce_1
  ON reduce_1.k = u.profile_id
LEFT JOIN shoal_traits AS t2
  ON t2.profile_id = u.profile_id AND t2.key = 'avg_spend'
WHERE
  u.is_user
