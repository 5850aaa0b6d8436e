-- shop.yaml: future_events_invisible
WITH reduce_1 AS (
  SELECT
    e1.profile_id AS k,
    COUNT(*) AS v,
    FALSE AS integral
  FROM shoal_events AS e1
  WHERE
    e1.event_name = 'Order Completed'
    AND e1.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
    AND (
      CASE
        WHEN STARTSWITH(
          SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["category"]', 'variant')),
          'ARRAY<'
        )
        THEN COALESCE(
          EXISTS(
            TRY_VARIANT_GET(VARIANT_GET(e1.properties, '$["category"]', 'variant'), '$', 'array<variant>'),
            el -> CASE WHEN SCHEMA_OF_VARIANT(el) = 'STRING' THEN CAST(el AS STRING) END = 'future'
            OR CASE WHEN SCHEMA_OF_VARIANT(el) = 'BOOLEAN' THEN CAST(el AS STRING) END = LOWER('future')
          ),
          FALSE
        )
        ELSE COALESCE(
          CASE
            WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["category"]', 'variant')) = 'STRING'
            THEN CAST(VARIANT_GET(e1.properties, '$["category"]', 'variant') AS STRING)
          END = 'future'
          OR CASE
            WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["category"]', 'variant')) = 'BOOLEAN'
            THEN CAST(VARIANT_GET(e1.properties, '$["category"]', 'variant') AS STRING)
          END = LOWER('future'),
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
