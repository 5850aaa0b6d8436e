-- accounts.yaml: accounts_account_trait
SELECT
  a.group_id AS entity_id,
  CASE
    WHEN STARTSWITH(SCHEMA_OF_VARIANT(VARIANT_GET(a.traits, '$["plan"]', 'variant')), 'ARRAY<')
    THEN COALESCE(
      EXISTS(
        TRY_VARIANT_GET(VARIANT_GET(a.traits, '$["plan"]', 'variant'), '$', 'array<variant>'),
        el -> CASE WHEN SCHEMA_OF_VARIANT(el) = 'STRING' THEN CAST(el AS STRING) END = 'enterprise'
        OR CASE WHEN SCHEMA_OF_VARIANT(el) = 'BOOLEAN' THEN CAST(el AS STRING) END = LOWER('enterprise')
      ),
      FALSE
    )
    ELSE COALESCE(
      CASE
        WHEN SCHEMA_OF_VARIANT(VARIANT_GET(a.traits, '$["plan"]', 'variant')) = 'STRING'
        THEN CAST(VARIANT_GET(a.traits, '$["plan"]', 'variant') AS STRING)
      END = 'enterprise'
      OR CASE
        WHEN SCHEMA_OF_VARIANT(VARIANT_GET(a.traits, '$["plan"]', 'variant')) = 'BOOLEAN'
        THEN CAST(VARIANT_GET(a.traits, '$["plan"]', 'variant') AS STRING)
      END = LOWER('enterprise'),
      FALSE
    )
  END AS value,
  FALSE AS integral
FROM shoal_accounts AS a
