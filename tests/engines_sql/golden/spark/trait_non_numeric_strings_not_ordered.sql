-- traits.yaml: trait_non_numeric_strings_not_ordered
SELECT
  u.profile_id AS entity_id,
  CASE
    WHEN STARTSWITH(SCHEMA_OF_VARIANT(t1.value), 'ARRAY<')
    THEN COALESCE(EXISTS(TRY_VARIANT_GET(t1.value, '$', 'array<variant>'), el -> FALSE), FALSE)
    ELSE FALSE
  END AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_traits AS t1
  ON t1.profile_id = u.profile_id AND t1.key = 'plan'
WHERE
  u.is_user
