-- shop.yaml: sum_of_nothing_is_null
WITH reduce_1 AS (
  SELECT
    e1.profile_id AS k,
    SUM(
      CASE
        WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/amount')) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
        THEN CAST(JSON_EXTRACT(e1.properties, '/amount') AS DOUBLE)
        WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/amount')) = 'VARCHAR'
        AND REGEXP_FULL_MATCH(
          JSON_EXTRACT_STRING(JSON_EXTRACT(e1.properties, '/amount'), '$'),
          '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
        )
        THEN TRY_CAST(JSON_EXTRACT_STRING(JSON_EXTRACT(e1.properties, '/amount'), '$') AS DOUBLE)
      END
    ) AS v,
    COUNT(
      CASE
        WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/amount')) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
        THEN CAST(JSON_EXTRACT(e1.properties, '/amount') AS DOUBLE)
        WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/amount')) = 'VARCHAR'
        AND REGEXP_FULL_MATCH(
          JSON_EXTRACT_STRING(JSON_EXTRACT(e1.properties, '/amount'), '$'),
          '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
        )
        THEN TRY_CAST(JSON_EXTRACT_STRING(JSON_EXTRACT(e1.properties, '/amount'), '$') AS DOUBLE)
      END
    ) = COUNT(
      CASE
        WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/amount')) IN ('BIGINT', 'UBIGINT', 'HUGEINT')
        OR (
          JSON_TYPE(JSON_EXTRACT(e1.properties, '/amount')) = 'VARCHAR'
          AND REGEXP_FULL_MATCH(JSON_EXTRACT_STRING(JSON_EXTRACT(e1.properties, '/amount'), '$'), '[+-]?[0-9]+')
        )
        THEN CASE
          WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/amount')) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
          THEN CAST(JSON_EXTRACT(e1.properties, '/amount') AS DOUBLE)
          WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/amount')) = 'VARCHAR'
          AND REGEXP_FULL_MATCH(
            JSON_EXTRACT_STRING(JSON_EXTRACT(e1.properties, '/amount'), '$'),
            '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'
          )
          THEN TRY_CAST(JSON_EXTRACT_STRING(JSON_EXTRACT(e1.properties, '/amount'), '$') AS DOUBLE)
        END
      END
    ) AS integral
  FROM shoal_events AS e1
  WHERE
    e1.event_name = 'Refund Issued'
    AND e1.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
  GROUP BY
    e1.profile_id
)
SELECT
  u.profile_id AS entity_id,
  reduce_1.v AS value,
  reduce_1.integral AS integral
FROM shoal_profiles AS u
LEFT JOIN reduce_1 AS reduce_1
  ON reduce_1.k = u.profile_id
WHERE
  u.is_user
