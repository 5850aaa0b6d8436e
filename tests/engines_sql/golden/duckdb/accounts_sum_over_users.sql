-- accounts.yaml: accounts_sum_over_users
WITH reduce_1 AS (
  SELECT
    l1.group_id AS k,
    SUM(
      CASE
        WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/spend')) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
        THEN CAST(JSON_EXTRACT(e1.properties, '/spend') AS DOUBLE)
        WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/spend')) = 'VARCHAR'
        AND REGEXP_FULL_MATCH(
          JSON_EXTRACT_STRING(JSON_EXTRACT(e1.properties, '/spend'), '$'),
          '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
        )
        THEN TRY_CAST(JSON_EXTRACT_STRING(JSON_EXTRACT(e1.properties, '/spend'), '$') AS DOUBLE)
      END
    ) AS v,
    COUNT(
      CASE
        WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/spend')) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
        THEN CAST(JSON_EXTRACT(e1.properties, '/spend') AS DOUBLE)
        WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/spend')) = 'VARCHAR'
        AND REGEXP_FULL_MATCH(
          JSON_EXTRACT_STRING(JSON_EXTRACT(e1.properties, '/spend'), '$'),
          '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
        )
        THEN TRY_CAST(JSON_EXTRACT_STRING(JSON_EXTRACT(e1.properties, '/spend'), '$') AS DOUBLE)
      END
    ) = COUNT(
      CASE
        WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/spend')) IN ('BIGINT', 'UBIGINT', 'HUGEINT')
        OR (
          JSON_TYPE(JSON_EXTRACT(e1.properties, '/spend')) = 'VARCHAR'
          AND REGEXP_FULL_MATCH(JSON_EXTRACT_STRING(JSON_EXTRACT(e1.properties, '/spend'), '$'), '[+-]?[0-9]+')
        )
        THEN CASE
          WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/spend')) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
          THEN CAST(JSON_EXTRACT(e1.properties, '/spend') AS DOUBLE)
          WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/spend')) = 'VARCHAR'
          AND REGEXP_FULL_MATCH(
            JSON_EXTRACT_STRING(JSON_EXTRACT(e1.properties, '/spend'), '$'),
            '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
          )
          THEN TRY_CAST(JSON_EXTRACT_STRING(JSON_EXTRACT(e1.properties, '/spend'), '$') AS DOUBLE)
        END
      END
    ) AS integral
  FROM shoal_links AS l1
  JOIN shoal_events AS e1
    ON e1.profile_id = l1.profile_id
  WHERE
    e1.event_name = 'Shoes Bought'
    AND e1.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
  GROUP BY
    l1.group_id
)
SELECT
  a.group_id AS entity_id,
  reduce_1.v AS value,
  reduce_1.integral AS integral
FROM shoal_accounts AS a
LEFT JOIN reduce_1 AS reduce_1
  ON reduce_1.k = a.group_id
