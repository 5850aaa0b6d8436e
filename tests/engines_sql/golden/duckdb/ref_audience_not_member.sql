-- references.yaml: ref_audience_not_member
SELECT
  u.profile_id AS entity_id,
  NOT (
    CASE
      WHEN JSON_TYPE(t1.value) = 'ARRAY'
      THEN COALESCE(
        LEN(
          LIST_FILTER(
            JSON_EXTRACT(t1.value, '$[*]'),
            LAMBDA el : CASE WHEN JSON_TYPE(el) = 'VARCHAR' THEN JSON_EXTRACT_STRING(el, '$') END = 'true'
            OR CASE WHEN JSON_TYPE(el) = 'BOOLEAN' THEN JSON_EXTRACT_STRING(el, '$') END = LOWER('true')
          )
        ) > 0,
        FALSE
      )
      ELSE COALESCE(
        CASE
          WHEN JSON_TYPE(t1.value) = 'VARCHAR'
          THEN JSON_EXTRACT_STRING(t1.value, '$')
        END = 'true'
        OR CASE
          WHEN JSON_TYPE(t1.value) = 'BOOLEAN'
          THEN JSON_EXTRACT_STRING(t1.value, '$')
        END = LOWER('true'),
        FALSE
      )
    END
  ) AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_values AS t1
  ON t1.target = 'users' AND t1.entity_id = u.profile_id AND t1.key = 'recent'
WHERE
  u.is_user
