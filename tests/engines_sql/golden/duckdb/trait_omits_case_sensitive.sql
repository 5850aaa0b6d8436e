-- traits.yaml: trait_omits_case_sensitive
SELECT
  u.profile_id AS entity_id,
  (
    NOT t1.value IS NULL AND NOT JSON_TYPE(t1.value) = 'NULL'
  )
  AND NOT (
    CASE
      WHEN JSON_TYPE(t1.value) = 'ARRAY'
      THEN COALESCE(
        LEN(
          LIST_FILTER(
            JSON_EXTRACT(t1.value, '$[*]'),
            LAMBDA el : STRPOS(
              CASE
                WHEN JSON_TYPE(el) = 'DOUBLE'
                THEN CAST(CAST(el AS DOUBLE) AS TEXT)
                WHEN NOT el IS NULL AND NOT JSON_TYPE(el) = 'NULL'
                THEN JSON_EXTRACT_STRING(el, '$')
              END,
              'pro'
            ) > 0
          )
        ) > 0,
        FALSE
      )
      ELSE COALESCE(
        STRPOS(
          CASE
            WHEN JSON_TYPE(t1.value) = 'DOUBLE'
            THEN CAST(CAST(t1.value AS DOUBLE) AS TEXT)
            WHEN NOT t1.value IS NULL AND NOT JSON_TYPE(t1.value) = 'NULL'
            THEN JSON_EXTRACT_STRING(t1.value, '$')
          END,
          'pro'
        ) > 0,
        FALSE
      )
    END
  ) AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_traits AS t1
  ON t1.profile_id = u.profile_id AND t1.key = 'plan'
WHERE
  u.is_user
