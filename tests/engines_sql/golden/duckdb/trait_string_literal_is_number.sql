-- traits.yaml: trait_string_literal_is_number
SELECT
  u.profile_id AS entity_id,
  CASE
    WHEN JSON_TYPE(t1.value) = 'ARRAY'
    THEN COALESCE(
      LEN(
        LIST_FILTER(
          JSON_EXTRACT(t1.value, '$[*]'),
          LAMBDA el : CASE
            WHEN JSON_TYPE(el) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
            THEN CAST(el AS DOUBLE)
            WHEN JSON_TYPE(el) = 'VARCHAR'
            AND REGEXP_FULL_MATCH(
              JSON_EXTRACT_STRING(el, '$'),
              '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
            )
            THEN TRY_CAST(JSON_EXTRACT_STRING(el, '$') AS DOUBLE)
          END <= 10
        )
      ) > 0,
      FALSE
    )
    ELSE COALESCE(
      CASE
        WHEN JSON_TYPE(t1.value) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
        THEN CAST(t1.value AS DOUBLE)
        WHEN JSON_TYPE(t1.value) = 'VARCHAR'
        AND REGEXP_FULL_MATCH(
          JSON_EXTRACT_STRING(t1.value, '$'),
          '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
        )
        THEN TRY_CAST(JSON_EXTRACT_STRING(t1.value, '$') AS DOUBLE)
      END <= 10,
      FALSE
    )
  END AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_traits AS t1
  ON t1.profile_id = u.profile_id AND t1.key = 'score'
WHERE
  u.is_user
