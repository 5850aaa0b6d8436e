-- traits.yaml: trait_nested_missing_is_null
SELECT
  u.profile_id AS entity_id,
  NOT (
    NOT VARIANT_GET(t1.value, '$["city"]', 'variant') IS NULL
    AND NOT IS_VARIANT_NULL(VARIANT_GET(t1.value, '$["city"]', 'variant'))
  ) AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_traits AS t1
  ON t1.profile_id = u.profile_id AND t1.key = 'address'
WHERE
  u.is_user
