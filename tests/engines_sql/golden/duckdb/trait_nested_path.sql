-- traits.yaml: trait_nested_path
SELECT
  u.profile_id AS entity_id,
  CASE
    WHEN JSON_TYPE(JSON_EXTRACT(t1.value, '/city')) = 'ARRAY'
    THEN COALESCE(
      LEN(
        LIST_FILTER(
          JSON_EXTRACT(JSON_EXTRACT(t1.value, '/city'), '$[*]'),
          LAMBDA el : CASE WHEN JSON_TYPE(el) = 'VARCHAR' THEN JSON_EXTRACT_STRING(el, '$') END = 'Paris'
          OR CASE WHEN JSON_TYPE(el) = 'BOOLEAN' THEN JSON_EXTRACT_STRING(el, '$') END = LOWER('Paris')
        )
      ) > 0,
      FALSE
    )
    ELSE COALESCE(
      CASE
        WHEN JSON_TYPE(JSON_EXTRACT(t1.value, '/city')) = 'VARCHAR'
        THEN JSON_EXTRACT_STRING(JSON_EXTRACT(t1.value, '/city'), '$')
      END = 'Paris'
      OR CASE
        WHEN JSON_TYPE(JSON_EXTRACT(t1.value, '/city')) = 'BOOLEAN'
        THEN JSON_EXTRACT_STRING(JSON_EXTRACT(t1.value, '/city'), '$')
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
