-- accounts.yaml: accounts_latest_group_trait
SELECT
  a.group_id AS entity_id,
  CASE
    WHEN JSON_TYPE(JSON_EXTRACT(a.traits, '/seats')) = 'ARRAY'
    THEN COALESCE(
      LEN(
        LIST_FILTER(
          JSON_EXTRACT(JSON_EXTRACT(a.traits, '/seats'), '$[*]'),
          LAMBDA el : CASE
            WHEN JSON_TYPE(el) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
            THEN CAST(el AS DOUBLE)
            WHEN JSON_TYPE(el) = 'VARCHAR'
            AND REGEXP_FULL_MATCH(
              JSON_EXTRACT_STRING(el, '$'),
              '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
            )
            THEN TRY_CAST(JSON_EXTRACT_STRING(el, '$') AS DOUBLE)
          END > 55
        )
      ) > 0,
      FALSE
    )
    ELSE COALESCE(
      CASE
        WHEN JSON_TYPE(JSON_EXTRACT(a.traits, '/seats')) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
        THEN CAST(JSON_EXTRACT(a.traits, '/seats') AS DOUBLE)
        WHEN JSON_TYPE(JSON_EXTRACT(a.traits, '/seats')) = 'VARCHAR'
        AND REGEXP_FULL_MATCH(
          JSON_EXTRACT_STRING(JSON_EXTRACT(a.traits, '/seats'), '$'),
          '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
        )
        THEN TRY_CAST(JSON_EXTRACT_STRING(JSON_EXTRACT(a.traits, '/seats'), '$') AS DOUBLE)
      END > 55,
      FALSE
    )
  END AS value,
  FALSE AS integral
FROM shoal_accounts AS a
