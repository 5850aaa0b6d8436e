-- traits.yaml: trait_array_one_of
SELECT
  u.profile_id AS entity_id,
  CASE
    WHEN JSON_TYPE(t1.value) = 'ARRAY'
    THEN COALESCE(
      LEN(
        LIST_FILTER(
          JSON_EXTRACT(t1.value, '$[*]'),
          LAMBDA el : COALESCE(
            CASE WHEN JSON_TYPE(el) = 'VARCHAR' THEN JSON_EXTRACT_STRING(el, '$') END = 'blue'
            OR CASE WHEN JSON_TYPE(el) = 'BOOLEAN' THEN JSON_EXTRACT_STRING(el, '$') END = LOWER('blue'),
            FALSE
          )
          OR COALESCE(
            CASE WHEN JSON_TYPE(el) = 'VARCHAR' THEN JSON_EXTRACT_STRING(el, '$') END = 'green'
            OR CASE WHEN JSON_TYPE(el) = 'BOOLEAN' THEN JSON_EXTRACT_STRING(el, '$') END = LOWER('green'),
            FALSE
          )
        )
      ) > 0,
      FALSE
    )
    ELSE COALESCE(
      COALESCE(
        CASE
          WHEN JSON_TYPE(t1.value) = 'VARCHAR'
          THEN JSON_EXTRACT_STRING(t1.value, '$')
        END = 'blue'
        OR CASE
          WHEN JSON_TYPE(t1.value) = 'BOOLEAN'
          THEN JSON_EXTRACT_STRING(t1.value, '$')
        END = LOWER('blue'),
        FALSE
      )
      OR COALESCE(
        CASE
          WHEN JSON_TYPE(t1.value) = 'VARCHAR'
          THEN JSON_EXTRACT_STRING(t1.value, '$')
        END = 'green'
        OR CASE
          WHEN JSON_TYPE(t1.value) = 'BOOLEAN'
          THEN JSON_EXTRACT_STRING(t1.value, '$')
        END = LOWER('green'),
        FALSE
      ),
      FALSE
    )
  END AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_traits AS t1
  ON t1.profile_id = u.profile_id AND t1.key = 'tags'
WHERE
  u.is_user
