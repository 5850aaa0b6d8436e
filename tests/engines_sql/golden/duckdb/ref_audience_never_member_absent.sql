-- references.yaml: ref_audience_never_member_absent
SELECT
  u.profile_id AS entity_id,
  NOT (
    NOT t1.value IS NULL AND NOT JSON_TYPE(t1.value) = 'NULL'
  ) AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_values AS t1
  ON t1.target = 'users' AND t1.entity_id = u.profile_id AND t1.key = 'recent'
WHERE
  u.is_user
