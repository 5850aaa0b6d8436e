-- accounts.yaml: accounts_audience_never_member_absent
SELECT
  a.group_id AS entity_id,
  NOT (
    NOT t1.value IS NULL AND NOT IS_VARIANT_NULL(t1.value)
  ) AS value,
  FALSE AS integral
FROM shoal_accounts AS a
LEFT JOIN shoal_values AS t1
  ON t1.target = 'accounts'
  AND t1.entity_id = a.group_id
  AND t1.key = 'recent_buyer_account'
