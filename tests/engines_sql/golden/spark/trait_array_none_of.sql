-- traits.yaml: trait_array_none_of
SELECT
  u.profile_id AS entity_id,
  (
    NOT t1.value IS NULL AND NOT IS_VARIANT_NULL(t1.value)
  )
  AND NOT (
    CASE
      WHEN STARTSWITH(SCHEMA_OF_VARIANT(t1.value), 'ARRAY<')
      THEN COALESCE(
        EXISTS(
          TRY_VARIANT_GET(t1.value, '$', 'array<variant>'),
          el -> COALESCE(
            CASE WHEN SCHEMA_OF_VARIANT(el) = 'STRING' THEN CAST(el AS STRING) END = 'red'
            OR CASE WHEN SCHEMA_OF_VARIANT(el) = 'BOOLEAN' THEN CAST(el AS STRING) END = LOWER('red'),
            FALSE
          )
          OR COALESCE(
            CASE WHEN SCHEMA_OF_VARIANT(el) = 'STRING' THEN CAST(el AS STRING) END = 'green'
            OR CASE WHEN SCHEMA_OF_VARIANT(el) = 'BOOLEAN' THEN CAST(el AS STRING) END = LOWER('green'),
            FALSE
          )
        ),
        FALSE
      )
      ELSE COALESCE(
        COALESCE(
          CASE WHEN SCHEMA_OF_VARIANT(t1.value) = 'STRING' THEN CAST(t1.value AS STRING) END = 'red'
          OR CASE WHEN SCHEMA_OF_VARIANT(t1.value) = 'BOOLEAN' THEN CAST(t1.value AS STRING) END = LOWER('red'),
          FALSE
        )
        OR COALESCE(
          CASE WHEN SCHEMA_OF_VARIANT(t1.value) = 'STRING' THEN CAST(t1.value AS STRING) END = 'green'
          OR CASE WHEN SCHEMA_OF_VARIANT(t1.value) = 'BOOLEAN' THEN CAST(t1.value AS STRING) END = LOWER('green'),
          FALSE
        ),
        FALSE
      )
    END
  ) AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_traits AS t1
  ON t1.profile_id = u.profile_id AND t1.key = 'tags'
WHERE
  u.is_user
