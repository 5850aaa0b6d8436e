-- traits.yaml: trait_within_last_inclusive_now
SELECT
  u.profile_id AS entity_id,
  CASE
    WHEN STARTSWITH(SCHEMA_OF_VARIANT(t1.value), 'ARRAY<')
    THEN COALESCE(
      EXISTS(
        TRY_VARIANT_GET(t1.value, '$', 'array<variant>'),
        el -> CASE
          WHEN CASE WHEN SCHEMA_OF_VARIANT(el) = 'STRING' THEN CAST(el AS STRING) END RLIKE '\\A(?:[0-9]{4}-[0-9]{2}-[0-9]{2})\\z'
          OR CASE WHEN SCHEMA_OF_VARIANT(el) = 'STRING' THEN CAST(el AS STRING) END RLIKE '\\A(?:[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2}))\\z'
          THEN TRY_CAST(REGEXP_REPLACE(
            REGEXP_REPLACE(
              CASE WHEN SCHEMA_OF_VARIANT(el) = 'STRING' THEN CAST(el AS STRING) END,
              '\\A([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2})(?=[Z+-])',
              '$1:00'
            ),
            '([+-][0-9]{2})([0-9]{2})\\z',
            '$1:$2'
          ) AS TIMESTAMP)
        END >= CAST('2024-06-23 12:00:00.000000' AS TIMESTAMP)
        AND CASE
          WHEN CASE WHEN SCHEMA_OF_VARIANT(el) = 'STRING' THEN CAST(el AS STRING) END RLIKE '\\A(?:[0-9]{4}-[0-9]{2}-[0-9]{2})\\z'
          OR CASE WHEN SCHEMA_OF_VARIANT(el) = 'STRING' THEN CAST(el AS STRING) END RLIKE '\\A(?:[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2}))\\z'
          THEN TRY_CAST(REGEXP_REPLACE(
            REGEXP_REPLACE(
              CASE WHEN SCHEMA_OF_VARIANT(el) = 'STRING' THEN CAST(el AS STRING) END,
              '\\A([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2})(?=[Z+-])',
              '$1:00'
            ),
            '([+-][0-9]{2})([0-9]{2})\\z',
            '$1:$2'
          ) AS TIMESTAMP)
        END <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
      ),
      FALSE
    )
    ELSE COALESCE(
      CASE
        WHEN CASE WHEN SCHEMA_OF_VARIANT(t1.value) = 'STRING' THEN CAST(t1.value AS STRING) END RLIKE '\\A(?:[0-9]{4}-[0-9]{2}-[0-9]{2})\\z'
        OR CASE WHEN SCHEMA_OF_VARIANT(t1.value) = 'STRING' THEN CAST(t1.value AS STRING) END RLIKE '\\A(?:[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2}))\\z'
        THEN TRY_CAST(REGEXP_REPLACE(
          REGEXP_REPLACE(
            CASE WHEN SCHEMA_OF_VARIANT(t1.value) = 'STRING' THEN CAST(t1.value AS STRING) END,
            '\\A([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2})(?=[Z+-])',
            '$1:00'
          ),
          '([+-][0-9]{2})([0-9]{2})\\z',
          '$1:$2'
        ) AS TIMESTAMP)
      END >= CAST('2024-06-23 12:00:00.000000' AS TIMESTAMP)
      AND CASE
        WHEN CASE WHEN SCHEMA_OF_VARIANT(t1.value) = 'STRING' THEN CAST(t1.value AS STRING) END RLIKE '\\A(?:[0-9]{4}-[0-9]{2}-[0-9]{2})\\z'
        OR CASE WHEN SCHEMA_OF_VARIANT(t1.value) = 'STRING' THEN CAST(t1.value AS STRING) END RLIKE '\\A(?:[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2}))\\z'
        THEN TRY_CAST(REGEXP_REPLACE(
          REGEXP_REPLACE(
            CASE WHEN SCHEMA_OF_VARIANT(t1.value) = 'STRING' THEN CAST(t1.value AS STRING) END,
            '\\A([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2})(?=[Z+-])',
            '$1:00'
          ),
          '([+-][0-9]{2})([0-9]{2})\\z',
          '$1:$2'
        ) AS TIMESTAMP)
      END <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP),
      FALSE
    )
  END AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_traits AS t1
  ON t1.profile_id = u.profile_id AND t1.key = 'signup'
WHERE
  u.is_user
