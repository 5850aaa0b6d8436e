-- traits.yaml: trait_array_equals_any_element
SELECT
  u.profile_id AS entity_id,
  CASE
    WHEN JSON_TYPE(t1.value) = 'ARRAY'
    THEN COALESCE(
      LEN(
        LIST_FILTER(
          JSON_EXTRACT(t1.value, '$[*]'),
          LAMBDA el : CASE WHEN JSON_TYPE(el) = 'VARCHAR' THEN JSON_EXTRACT_STRING(el, '$') END = 'red'
          OR CASE WHEN JSON_TYPE(el) = 'BOOLEAN' THEN JSON_EXTRACT_STRING(el, '$') END = LOWER('red')
        )
      ) > 0,
      FALSE
    )
    ELSE COALESCE(
      CASE
        WHEN JSON_TYPE(t1.value) = 'VARCHAR'
        THEN JSON_EXTRACT_STRING(t1.value, '$')
      END = 'red'
      OR CASE
        WHEN JSON_TYPE(t1.value) = 'BOOLEAN'
        THEN JSON_EXTRACT_STRING(t1.value, '$')
      END = LOWER('red'),
      FALSE
    )
  END AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_traits AS t1
  ON t1.profile_id = u.profile_id AND t1.key = 'tags'
WHERE
  u.is_user
