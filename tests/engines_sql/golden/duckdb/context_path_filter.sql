-- shop.yaml: context_path_filter
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
        WHEN JSON_TYPE(JSON_EXTRACT(e1.context, '/page/url')) = 'ARRAY'
        THEN COALESCE(
          LEN(
            LIST_FILTER(
              JSON_EXTRACT(JSON_EXTRACT(e1.context, '/page/url'), '$[*]'),
              LAMBDA el : STRPOS(
                CASE
                  WHEN JSON_TYPE(el) = 'DOUBLE'
                  THEN CAST(CAST(el AS DOUBLE) AS TEXT)
                  WHEN NOT el IS NULL AND NOT JSON_TYPE(el) = 'NULL'
                  THEN JSON_EXTRACT_STRING(el, '$')
                END,
                'pricing'
              ) > 0
            )
          ) > 0,
          FALSE
        )
        ELSE COALESCE(
          STRPOS(
            CASE
              WHEN JSON_TYPE(JSON_EXTRACT(e1.context, '/page/url')) = 'DOUBLE'
              THEN CAST(CAST(JSON_EXTRACT(e1.context, '/page/url') AS DOUBLE) AS TEXT)
              WHEN NOT JSON_EXTRACT(e1.context, '/page/url') IS NULL
              AND NOT JSON_TYPE(JSON_EXTRACT(e1.context, '/page/url')) = 'NULL'
              THEN JSON_EXTRACT_STRING(JSON_EXTRACT(e1.context, '/page/url'), '$')
            END,
            'pricing'
          ) > 0,
          FALSE
        )
      END
    )
  GROUP BY
    e1.profile_id
)
SELECT
  u.profile_id AS entity_id,
  COALESCE(reduce_1.v, 0) AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN reduce_1 AS reduce_1
  ON reduce_1.k = u.profile_id
WHERE
  u.is_user
