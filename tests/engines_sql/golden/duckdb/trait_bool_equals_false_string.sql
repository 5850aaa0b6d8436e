-- traits.yaml: trait_bool_equals_false_string
SELECT
  u.profile_id AS entity_id,
  CASE
    WHEN JSON_TYPE(t1.value) = 'ARRAY'
    THEN COALESCE(
      LEN(
        LIST_FILTER(
          JSON_EXTRACT(t1.value, '$[*]'),
          LAMBDA el : CASE WHEN JSON_TYPE(el) = 'VARCHAR' THEN JSON_EXTRACT_STRING(el, '$') END = 'false'
          OR CASE WHEN JSON_TYPE(el) = 'BOOLEAN' THEN JSON_EXTRACT_STRING(el, '$') END = LOWER('false')
        )
      ) > 0,
      FALSE
    )
    ELSE COALESCE(
      CASE
        WHEN JSON_TYPE(t1.value) = 'VARCHAR'
        THEN JSON_EXTRACT_STRING(t1.value, '$')
      END = 'false'
      OR CASE
        WHEN JSON_TYPE(t1.value) = 'BOOLEAN'
        THEN JSON_EXTRACT_STRING(t1.value, '$')
      END = LOWER('false'),
      FALSE
    )
  END AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_traits AS t1
  ON t1.profile_id = u.profile_id AND t1.key = 'vip'
WHERE
  u.is_user
