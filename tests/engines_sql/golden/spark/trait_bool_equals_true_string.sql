-- traits.yaml: trait_bool_equals_true_string
SELECT
  u.profile_id AS entity_id,
  CASE
    WHEN STARTSWITH(SCHEMA_OF_VARIANT(t1.value), 'ARRAY<')
    THEN COALESCE(
      EXISTS(
        TRY_VARIANT_GET(t1.value, '$', 'array<variant>'),
        el -> CASE WHEN SCHEMA_OF_VARIANT(el) = 'STRING' THEN CAST(el AS STRING) END = 'true'
        OR CASE WHEN SCHEMA_OF_VARIANT(el) = 'BOOLEAN' THEN CAST(el AS STRING) END = LOWER('true')
      ),
      FALSE
    )
    ELSE COALESCE(
      CASE WHEN SCHEMA_OF_VARIANT(t1.value) = 'STRING' THEN CAST(t1.value AS STRING) END = 'true'
      OR CASE WHEN SCHEMA_OF_VARIANT(t1.value) = 'BOOLEAN' THEN CAST(t1.value AS STRING) END = LOWER('true'),
      FALSE
    )
  END AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_traits AS t1
  ON t1.profile_id = u.profile_id AND t1.key = 'vip'
WHERE
  u.is_user
