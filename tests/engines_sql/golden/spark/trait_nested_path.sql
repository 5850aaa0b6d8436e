-- traits.yaml: trait_nested_path
SELECT
  u.profile_id AS entity_id,
  CASE
    WHEN STARTSWITH(SCHEMA_OF_VARIANT(VARIANT_GET(t1.value, '$["city"]', 'variant')), 'ARRAY<')
    THEN COALESCE(
      EXISTS(
        TRY_VARIANT_GET(VARIANT_GET(t1.value, '$["city"]', 'variant'), '$', 'array<variant>'),
        el -> CASE WHEN SCHEMA_OF_VARIANT(el) = 'STRING' THEN CAST(el AS STRING) END = 'Paris'
        OR CASE WHEN SCHEMA_OF_VARIANT(el) = 'BOOLEAN' THEN CAST(el AS STRING) END = LOWER('Paris')
      ),
      FALSE
    )
    ELSE COALESCE(
      CASE
        WHEN SCHEMA_OF_VARIANT(VARIANT_GET(t1.value, '$["city"]', 'variant')) = 'STRING'
        THEN CAST(VARIANT_GET(t1.value, '$["city"]', 'variant') AS STRING)
      END = 'Paris'
      OR CASE
        WHEN SCHEMA_OF_VARIANT(VARIANT_GET(t1.value, '$["city"]', 'variant')) = 'BOOLEAN'
        THEN CAST(VARIANT_GET(t1.value, '$["city"]', 'variant') AS STRING)
      END = LOWER('Paris'),
      FALSE
    )
  END AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_traits AS t1
  ON t1.profile_id = u.profile_id AND t1.key = 'address'
WHERE
  u.is_user
