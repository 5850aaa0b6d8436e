-- traits.yaml: trait_future_identify_visible_later
SELECT
  u.profile_id AS entity_id,
  (
    CASE
      WHEN STARTSWITH(SCHEMA_OF_VARIANT(t1.value), 'ARRAY<')
      THEN COALESCE(
        EXISTS(
          TRY_VARIANT_GET(t1.value, '$', 'array<variant>'),
          el -> CASE WHEN SCHEMA_OF_VARIANT(el) = 'STRING' THEN CAST(el AS STRING) END = 'future'
          OR CASE WHEN SCHEMA_OF_VARIANT(el) = 'BOOLEAN' THEN CAST(el AS STRING) END = LOWER('future')
        ),
        FALSE
      )
      ELSE COALESCE(
        CASE WHEN SCHEMA_OF_VARIANT(t1.value) = 'STRING' THEN CAST(t1.value AS STRING) END = 'future'
        OR CASE WHEN SCHEMA_OF_VARIANT(t1.value) = 'BOOLEAN' THEN CAST(t1.value AS STRING) END = LOWER('future'),
        FALSE
      )
    END
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
          END = 99
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
        END = 99,
        FALSE
      )
    END
  ) AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_traits AS t1
  ON t1.profile_id = u.profile_id AND t1.key = 'plan'
LEFT JOIN shoal_traits AS t2
  ON t2.profile_id = u.profile_id AND t2.key = 'score'
WHERE
  u.is_user
