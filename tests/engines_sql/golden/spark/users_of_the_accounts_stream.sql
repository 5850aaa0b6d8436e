-- accounts.yaml: users_of_the_accounts_stream
SELECT
  u.profile_id AS entity_id,
  CASE
    WHEN STARTSWITH(SCHEMA_OF_VARIANT(t1.value), 'ARRAY<')
    THEN COALESCE(
      EXISTS(
        TRY_VARIANT_GET(t1.value, '$', 'array<variant>'),
        el -> CASE
          WHEN SCHEMA_OF_VARIANT(el) IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT')
          OR SCHEMA_OF_VARIANT(el) RLIKE '\\ADECIMAL\\(.*\\z'
          THEN TRY_CAST(el AS DOUBLE)
          WHEN SCHEMA_OF_VARIANT(el) = 'STRING'
          AND CAST(el AS STRING) RLIKE '\\A(?:[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?)\\z'
          THEN TRY_CAST(CAST(el AS STRING) AS DOUBLE)
        END >= 300
      ),
      FALSE
    )
    ELSE COALESCE(
      CASE
        WHEN SCHEMA_OF_VARIANT(t1.value) IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT')
        OR SCHEMA_OF_VARIANT(t1.value) RLIKE '\\ADECIMAL\\(.*\\z'
        THEN TRY_CAST(t1.value AS DOUBLE)
        WHEN SCHEMA_OF_VARIANT(t1.value) = 'STRING'
        AND CAST(t1.value AS STRING) RLIKE '\\A(?:[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?)\\z'
        THEN TRY_CAST(CAST(t1.value AS STRING) AS DOUBLE)
      END >= 300,
      FALSE
    )
  END AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_traits AS t1
  ON t1.profile_id = u.profile_id AND t1.key = 'total_spend'
WHERE
  u.is_user
