-- accounts.yaml: accounts_any_user_audience
WITH users_1 AS (
  SELECT
    l1.group_id AS k,
    CASE
      WHEN JSON_TYPE(t2.value) = 'ARRAY'
      THEN COALESCE(
        LEN(
          LIST_FILTER(
            JSON_EXTRACT(t2.value, '$[*]'),
            LAMBDA el : CASE WHEN JSON_TYPE(el) = 'VARCHAR' THEN JSON_EXTRACT_STRING(el, '$') END = 'true'
            OR CASE WHEN JSON_TYPE(el) = 'BOOLEAN' THEN JSON_EXTRACT_STRING(el, '$') END = LOWER('true')
          )
        ) > 0,
        FALSE
      )
      ELSE COALESCE(
        CASE
          WHEN JSON_TYPE(t2.value) = 'VARCHAR'
          THEN JSON_EXTRACT_STRING(t2.value, '$')
        END = 'true'
        OR CASE
          WHEN JSON_TYPE(t2.value) = 'BOOLEAN'
          THEN JSON_EXTRACT_STRING(t2.value, '$')
        END = LOWER('true'),
        FALSE
      )
    END AS ok
  FROM shoal_links AS l1
  LEFT JOIN shoal_values AS t2
    ON t2.target = 'users' AND t2.entity_id = l1.profile_id AND t2.key = 'big_spender'
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
  COALESCE(quantified_1.any_v, FALSE) AS value,
  FALSE AS integral
FROM shoal_accounts AS a
LEFT JOIN quantified_1 AS quantified_1
  ON quantified_1.k = a.group_id
