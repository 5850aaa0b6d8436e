-- accounts.yaml: accounts_latest_group_trait
SELECT
  a.group_id AS entity_id,
  CASE
    WHEN STARTSWITH(SCHEMA_OF_VARIANT(VARIANT_GET(a.traits, '$["seats"]', 'variant')), 'ARRAY<')
    THEN COALESCE(
      EXISTS(
        TRY_VARIANT_GET(VARIANT_GET(a.traits, '$["seats"]', 'variant'), '$', 'array<variant>'),
        el -> CASE
          WHEN SCHEMA_OF_VARIANT(el) IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT')
          OR SCHEMA_OF_VARIANT(el) RLIKE '\\ADECIMAL\\(.*\\z'
          THEN TRY_CAST(el AS DOUBLE)
          WHEN SCHEMA_OF_VARIANT(el) = 'STRING'
          AND CAST(el AS STRING) RLIKE '\\A(?:[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?)\\z'
          THEN TRY_CAST(CAST(el AS STRING) AS DOUBLE)
        END > 55
      ),
      FALSE
    )
    ELSE COALESCE(
      CASE
        WHEN SCHEMA_OF_VARIANT(VARIANT_GET(a.traits, '$["seats"]', 'variant')) IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT')
        OR SCHEMA_OF_VARIANT(VARIANT_GET(a.traits, '$["seats"]', 'variant')) RLIKE '\\ADECIMAL\\(.*\\z'
        THEN TRY_CAST(VARIANT_GET(a.traits, '$["seats"]', 'variant') AS DOUBLE)
        WHEN SCHEMA_OF_VARIANT(VARIANT_GET(a.traits, '$["seats"]', 'variant')) = 'STRING'
        AND CAST(VARIANT_GET(a.traits, '$["seats"]', 'variant') AS STRING) RLIKE '\\A(?:[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?)\\z'
        THEN TRY_CAST(CAST(VARIANT_GET(a.traits, '$["seats"]', 'variant') AS STRING) AS DOUBLE)
      END > 55,
      FALSE
    )
  END AS value,
  FALSE AS integral
FROM shoal_accounts AS a
