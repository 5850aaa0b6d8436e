-- references.yaml: ref_cycle_self
SELECT
  u.profile_id AS entity_id,
  (
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
  )
  OR (
    CASE
      WHEN JSON_TYPE(t2.value) = 'ARRAY'
      THEN COALESCE(
        LEN(
          LIST_FILTER(
            JSON_EXTRACT(t2.value, '$[*]'),
            LAMBDA el : CASE
              WHEN JSON_TYPE(el) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
              THEN CAST(el AS DOUBLE)
              WHEN JSON_TYPE(el) = 'VARCHAR'
              AND REGEXP_FULL_MATCH(
                JSON_EXTRACT_STRING(el, '$'),
                '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
              )
              THEN TRY_CAST(JSON_EXTRACT_STRING(el, '$') AS DOUBLE)
            END > 100
          )
        ) > 0,
        FALSE
      )
      ELSE COALESCE(
        CASE
          WHEN JSON_TYPE(t2.value) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
          THEN CAST(t2.value AS DOUBLE)
          WHEN JSON_TYPE(t2.value) = 'VARCHAR'
          AND REGEXP_FULL_MATCH(
            JSON_EXTRACT_STRING(t2.value, '$'),
            '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
          )
          THEN TRY_CAST(JSON_EXTRACT_STRING(t2.value, '$') AS DOUBLE)
        END > 100,
        FALSE
      )
    END
  ) AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_values AS t1
  ON t1.target = 'users' AND t1.entity_id = u.profile_id AND t1.key = 'ref_cycle_self'
LEFT JOIN shoal_traits AS t2
  ON t2.profile_id = u.profile_id AND t2.key = 'avg_spend'
WHERE
  u.is_user
