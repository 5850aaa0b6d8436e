-- accounts.yaml: accounts_any_user_audience
WITH users_1 AS (
  SELECT
    l1.group_id AS k,
    CASE
      WHEN STARTSWITH(SCHEMA_OF_VARIANT(t2.value), 'ARRAY<')
      THEN COALESCE(
        EXISTS(
          TRY_VARIANT_GET(t2.value, '$', 'array<variant>'),
          el -> CASE WHEN SCHEMA_OF_VARIANT(el) = 'STRING' THEN CAST(el AS STRING) END = 'true'
          OR CASE WHEN SCHEMA_OF_VARIANT(el) = 'BOOLEAN' THEN CAST(el AS STRING) END = LOWER('true')
        ),
        FALSE
      )
      ELSE COALESCE(
        CASE WHEN SCHEMA_OF_VARIANT(t2.value) = 'STRING' THEN CAST(t2.value AS STRING) END = 'true'
        OR CASE WHEN SCHEMA_OF_VARIANT(t2.value) = 'BOOLEAN' THEN CAST(t2.value AS STRING) END = LOWER('true'),
        FALSE
      )
    END AS ok
  FROM shoal_links AS l1
  LEFT JOIN shoal_values AS t2
    ON t2.target = 'users' AND t2.entity_id = l1.profile_id AND t2.key = 'big_spender'
), quantified_1 AS (
  SELECT
    users_1.k AS k,
    BOOL_OR(users_1.ok) AS any_v
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
