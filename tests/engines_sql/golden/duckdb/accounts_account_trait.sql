-- accounts.yaml: accounts_account_trait
SELECT
  a.group_id AS entity_id,
  CASE
    WHEN JSON_TYPE(JSON_EXTRACT(a.traits, '/plan')) = 'ARRAY'
    THEN COALESCE(
      LEN(
        LIST_FILTER(
          JSON_EXTRACT(JSON_EXTRACT(a.traits, '/plan'), '$[*]'),
          LAMBDA el : CASE WHEN JSON_TYPE(el) = 'VARCHAR' THEN JSON_EXTRACT_STRING(el, '$') END = 'enterprise'
          OR CASE WHEN JSON_TYPE(el) = 'BOOLEAN' THEN JSON_EXTRACT_STRING(el, '$') END = LOWER('enterprise')
        )
      ) > 0,
      FALSE
    )
    ELSE COALESCE(
      CASE
        WHEN JSON_TYPE(JSON_EXTRACT(a.traits, '/plan')) = 'VARCHAR'
        THEN JSON_EXTRACT_STRING(JSON_EXTRACT(a.traits, '/plan'), '$')
      END = 'enterprise'
      OR CASE
        WHEN JSON_TYPE(JSON_EXTRACT(a.traits, '/plan')) = 'BOOLEAN'
        THEN JSON_EXTRACT_STRING(JSON_EXTRACT(a.traits, '/plan'), '$')
      END = LOWER('enterprise'),
      FALSE
    )
  END AS value,
  FALSE AS integral
FROM shoal_accounts AS a
