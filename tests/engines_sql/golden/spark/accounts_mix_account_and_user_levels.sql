-- accounts.yaml: accounts_mix_account_and_user_levels
WITH users_1 AS (
  SELECT
    l1.group_id AS k,
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
          END >= 1000
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
        END >= 1000,
        FALSE
      )
    END AS ok
  FROM shoal_links AS l1
  LEFT JOIN shoal_traits AS t2
    ON t2.profile_id = l1.profile_id AND t2.key = 'total_spend'
), quantified_1 AS (
  SELECT
    users_1.k AS k,
    BOOL_OR(users_1.ok) AS any_v
  FROM users_1 AS users_1
  GROUP BY
    users_1.k
)
SELECT
  a.group_id AS entity_id,
  (
    CASE
      WHEN STARTSWITH(SCHEMA_OF_VARIANT(VARIANT_GET(a.traits, '$["plan"]', 'variant')), 'ARRAY<')
      THEN COALESCE(
        EXISTS(
          TRY_VARIANT_GET(VARIANT_GET(a.traits, '$["plan"]', 'variant'), '$', 'array<variant>'),
          el -> CASE WHEN SCHEMA_OF_VARIANT(el) = 'STRING' THEN CAST(el AS STRING) END = 'startup'
          OR CASE WHEN SCHEMA_OF_VARIANT(el) = 'BOOLEAN' THEN CAST(el AS STRING) END = LOWER('startup')
        ),
        FALSE
      )
      ELSE COALESCE(
        CASE
          WHEN SCHEMA_OF_VARIANT(VARIANT_GET(a.traits, '$["plan"]', 'variant')) = 'STRING'
          THEN CAST(VARIANT_GET(a.traits, '$["plan"]', 'variant') AS STRING)
        END = 'startup'
        OR CASE
          WHEN SCHEMA_OF_VARIANT(VARIANT_GET(a.traits, '$["plan"]', 'variant')) = 'BOOLEAN'
          THEN CAST(VARIANT_GET(a.traits, '$["plan"]', 'variant') AS STRING)
        END = LOWER('startup'),
        FALSE
      )
    END
  )
  OR (
    COALESCE(quantified_1.any_v, FALSE)
  ) AS value,
  FALSE AS integral
FROM shoal_accounts AS a
LEFT JOIN quantified_1 AS quantified_1
  ON quantified_1.k = a.group_id
