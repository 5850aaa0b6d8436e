-- references.yaml: ref_audience_of_audiences
SELECT
  u.profile_id AS entity_id,
  (
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
    END
  )
  AND (
    NOT (
      CASE
        WHEN STARTSWITH(SCHEMA_OF_VARIANT(t2.value), 'ARRAY<')
        THEN COALESCE(
          EXISTS(
            TRY_VARIANT_GET(t2.value, '$', 'array<variant>'),
            el -> CASE WHEN SCHEMA_OF_VARIANT(el) = 'STRING' THEN CAST(el AS STRING) END = 'true'
            OR CASE WHEN SCHEMA_OF_VARIANT(el) = 'BOOLEAN' THEN CAST(el AS STRING) END = LOWER('true')
          ),
          FALSE
        )
        ELSE COALESCE(
          CASE WHEN SCHEMA_OF_VARIANT(t2.value) = 'STRING' THEN CAST(t2.value AS STRING) END = 'true'
          OR CASE WHEN SCHEMA_OF_VARIANT(t2.value) = 'BOOLEAN' THEN CAST(t2.value AS STRING) END = LOWER('true'),
          FALSE
        )
      END
    )
  ) AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_values AS t1
  ON t1.target = 'users' AND t1.entity_id = u.profile_id AND t1.key = 'recent'
LEFT JOIN shoal_values AS t2
  ON t2.target = 'users' AND t2.entity_id = u.profile_id AND t2.key = 'big'
WHERE
  u.is_user
