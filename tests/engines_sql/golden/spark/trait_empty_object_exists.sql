-- traits.yaml: trait_empty_object_exists
SELECT
  u.profile_id AS entity_id,
  NOT t1.value IS NULL AND NOT IS_VARIANT_NULL(t1.value) AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_traits AS t1
  ON t1.profile_id = u.profile_id AND t1.key = 'address'
WHERE
  u.is_user
