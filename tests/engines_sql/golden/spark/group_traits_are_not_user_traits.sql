-- accounts.yaml: group_traits_are_not_user_traits
SELECT
  u.profile_id AS entity_id,
  (
    NOT t1.value IS NULL AND NOT IS_VARIANT_NULL(t1.value)
  )
  OR (
    NOT t2.value IS NULL AND NOT IS_VARIANT_NULL(t2.value)
  ) AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_traits AS t1
  ON t1.profile_id = u.profile_id AND t1.key = 'plan'
LEFT JOIN shoal_traits AS t2
  ON t2.profile_id = u.profile_id AND t2.key = 'seats'
WHERE
  u.is_user
