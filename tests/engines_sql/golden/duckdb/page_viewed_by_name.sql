-- shop.yaml: page_viewed_by_name
WITH reduce_1 AS (
  SELECT
    e1.profile_id AS k,
    COUNT(*) AS v,
    FALSE AS integral
  FROM shoal_events AS e1
  WHERE
    e1.event_name = 'Page Viewed'
    AND e1.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
    AND (
      CASE
        WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/name')) = 'ARRAY'
        THEN COALESCE(
          LEN(
            LIST_FILTER(
              JSON_EXTRACT(JSON_EXTRACT(e1.properties, '/name'), '$[*]'),
              LAMBDA el : CASE WHEN JSON_TYPE(el) = 'VARCHAR' THEN JSON_EXTRACT_STRING(el, '$') END = 'Pricing'
              OR CASE WHEN JSON_TYPE(el) = 'BOOLEAN' THEN JSON_EXTRACT_STRING(el, '$') END = LOWER('Pricing')
            )
          ) > 0,
          FALSE
        )
        ELSE COALESCE(
          CASE
            WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/name')) = 'VARCHAR'
            THEN JSON_EXTRACT_STRING(JSON_EXTRACT(e1.properties, '/name'), '$')
          END = 'Pricing'
          OR CASE
            WHEN JSON_TYPE(JSON_EXTRACT(e1.properties, '/name')) = 'BOOLEAN'
            THEN JSON_EXTRACT_STRING(JSON_EXTRACT(e1.properties, '/name'), '$')
          END = LOWER('Pricing'),
          FALSE
        )
      END
    )
  GROUP BY
    e1.profile_id
)
SELECT
  u.profile_id AS entity_id,
  COALESCE(COALESCE(reduce_1.v, 0) >= 1, FALSE) AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN reduce_1 AS reduce_1
  ON reduce_1.k = u.profile_id
WHERE
  u.is_user
