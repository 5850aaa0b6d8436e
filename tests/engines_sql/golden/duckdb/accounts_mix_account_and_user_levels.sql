-- accounts.yaml: accounts_mix_account_and_user_levels
WITH users_1 AS (
  SELECT
    l1.group_id AS k,
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
            END >= 1000
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
        END >= 1000,
        FALSE
      )
    END AS ok
  FROM shoal_links AS l1
  LEFT JOIN shoal_traits AS t2
    ON t2.profile_id = l1.profile_id AND t2.key = 'total_spend'
), quantified_1 AS (
  SELECT
    users_1.k AS k,
    BOOL_OR(CAST(users_1.ok AS BOOLEAN)) AS any_v
  FROM users_1 AS users_1
  GROUP BY
    users_1.k
)
SELECT
  a.group_id AS entity_id,
  (
    CASE
      WHEN JSON_TYPE(JSON_EXTRACT(a.traits, '/plan')) = 'ARRAY'
      THEN COALESCE(
        LEN(
          LIST_FILTER(
            JSON_EXTRACT(JSON_EXTRACT(a.traits, '/plan'), '$[*]'),
            LAMBDA el : CASE WHEN JSON_TYPE(el) = 'VARCHAR' THEN JSON_EXTRACT_STRING(el, '$') END = 'startup'
            OR CASE WHEN JSON_TYPE(el) = 'BOOLEAN' THEN JSON_EXTRACT_STRING(el, '$') END = LOWER('startup')
          )
        ) > 0,
        FALSE
      )
      ELSE COALESCE(
        CASE
          WHEN JSON_TYPE(JSON_EXTRACT(a.traits, '/plan')) = 'VARCHAR'
          THEN JSON_EXTRACT_STRING(JSON_EXTRACT(a.traits, '/plan'), '$')
        END = 'startup'
        OR CASE
          WHEN JSON_TYPE(JSON_EXTRACT(a.traits, '/plan')) = 'BOOLEAN'
          THEN JSON_EXTRACT_STRING(JSON_EXTRACT(a.traits, '/plan'), '$')
        END = LOWER('startup'),
        FALSE
      )
    END
  )
  OR (
    COALESCE(quantified_1.any_v, FALSE)
  ) AS value,
  FALSE AS integral
FROM shoal_accounts AS a
LEFT JOIN quantified_1 AS quantified_1
  ON quantified_1.k = a.group_id
