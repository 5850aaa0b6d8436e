-- accounts.yaml: accounts_all_user_trait_exists
WITH users_1 AS (
  SELECT
    l1.group_id AS k,
    NOT t2.value IS NULL AND NOT JSON_TYPE(t2.value) = 'NULL' AS ok
  FROM shoal_links AS l1
  LEFT JOIN shoal_traits AS t2
    ON t2.profile_id = l1.profile_id AND t2.key = 'total_spend'
), quantified_1 AS (
  SELECT
    users_1.k AS k,
    BOOL_AND(CAST(users_1.ok AS BOOLEAN)) AS all_v
  FROM users_1 AS users_1
  GROUP BY
    users_1.k
)
SELECT
  a.group_id AS entity_id,
  COALESCE(quantified_1.all_v, FALSE) AS value,
  FALSE AS integral
FROM shoal_accounts AS a
LEFT JOIN quantified_1 AS quantified_1
  ON quantified_1.k = a.group_id
