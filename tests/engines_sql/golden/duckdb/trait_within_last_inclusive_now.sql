-- traits.yaml: trait_within_last_inclusive_now
SELECT
  u.profile_id AS entity_id,
  CASE
    WHEN JSON_TYPE(t1.value) = 'ARRAY'
    THEN COALESCE(
      LEN(
        LIST_FILTER(
          JSON_EXTRACT(t1.value, '$[*]'),
          LAMBDA el : CASE
            WHEN REGEXP_FULL_MATCH(
              CASE WHEN JSON_TYPE(el) = 'VARCHAR' THEN JSON_EXTRACT_STRING(el, '$') END,
              '[0-9]{4}-[0-9]{2}-[0-9]{2}'
            )
            OR REGEXP_FULL_MATCH(
              CASE WHEN JSON_TYPE(el) = 'VARCHAR' THEN JSON_EXTRACT_STRING(el, '$') END,
              '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})'
            )
            THEN TIMEZONE(
              'UTC',
              TRY_CAST(CASE WHEN JSON_TYPE(el) = 'VARCHAR' THEN JSON_EXTRACT_STRING(el, '$') END AS TIMESTAMPTZ)
            )
          END >= CAST('2024-06-23 12:00:00.000000' AS TIMESTAMP)
          AND CASE
            WHEN REGEXP_FULL_MATCH(
              CASE WHEN JSON_TYPE(el) = 'VARCHAR' THEN JSON_EXTRACT_STRING(el, '$') END,
              '[0-9]{4}-[0-9]{2}-[0-9]{2}'
            )
            OR REGEXP_FULL_MATCH(
              CASE WHEN JSON_TYPE(el) = 'VARCHAR' THEN JSON_EXTRACT_STRING(el, '$') END,
              '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})'
            )
            THEN TIMEZONE(
              'UTC',
              TRY_CAST(CASE WHEN JSON_TYPE(el) = 'VARCHAR' THEN JSON_EXTRACT_STRING(el, '$') END AS TIMESTAMPTZ)
            )
          END <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
        )
      ) > 0,
      FALSE
    )
    ELSE COALESCE(
      CASE
        WHEN REGEXP_FULL_MATCH(
          CASE
            WHEN JSON_TYPE(t1.value) = 'VARCHAR'
            THEN JSON_EXTRACT_STRING(t1.value, '$')
          END,
          '[0-9]{4}-[0-9]{2}-[0-9]{2}'
        )
        OR REGEXP_FULL_MATCH(
          CASE
            WHEN JSON_TYPE(t1.value) = 'VARCHAR'
            THEN JSON_EXTRACT_STRING(t1.value, '$')
          END,
          '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})'
        )
        THEN TIMEZONE(
          'UTC',
          TRY_CAST(CASE
            WHEN JSON_TYPE(t1.value) = 'VARCHAR'
            THEN JSON_EXTRACT_STRING(t1.value, '$')
          END AS TIMESTAMPTZ)
        )
      END >= CAST('2024-06-23 12:00:00.000000' AS TIMESTAMP)
      AND CASE
        WHEN REGEXP_FULL_MATCH(
          CASE
            WHEN JSON_TYPE(t1.value) = 'VARCHAR'
            THEN JSON_EXTRACT_STRING(t1.value, '$')
          END,
          '[0-9]{4}-[0-9]{2}-[0-9]{2}'
        )
        OR REGEXP_FULL_MATCH(
          CASE
            WHEN JSON_TYPE(t1.value) = 'VARCHAR'
            THEN JSON_EXTRACT_STRING(t1.value, '$')
          END,
          '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})'
        )
        THEN TIMEZONE(
          'UTC',
          TRY_CAST(CASE
            WHEN JSON_TYPE(t1.value) = 'VARCHAR'
            THEN JSON_EXTRACT_STRING(t1.value, '$')
          END AS TIMESTAMPTZ)
        )
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
