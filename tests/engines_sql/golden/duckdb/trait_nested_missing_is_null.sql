-- traits.yaml: trait_nested_missing_is_null
SELECT
  u.profile_id AS entity_id,
  NOT (
    NOT JSON_EXTRACT(t1.value, '/city') IS NULL
    AND NOT JSON_TYPE(JSON_EXTRACT(t1.value, '/city')) = 'NULL'
  ) AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_traits AS t1
  ON t1.profile_id = u.profile_id AND t1.key = 'address'
WHERE
  u.is_user
