-- traits.yaml: trait_non_numeric_strings_not_ordered
SELECT
  u.profile_id AS entity_id,
  CASE
    WHEN JSON_TYPE(t1.value) = 'ARRAY'
    THEN COALESCE(LEN(LIST_FILTER(JSON_EXTRACT(t1.value, '$[*]'), LAMBDA el : FALSE)) > 0, FALSE)
    ELSE FALSE
  END AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_traits AS t1
  ON t1.profile_id = u.profile_id AND t1.key = 'plan'
WHERE
  u.is_user
