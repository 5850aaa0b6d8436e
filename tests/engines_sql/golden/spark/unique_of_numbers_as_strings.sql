-- shop.yaml: unique_of_numbers_as_strings
WITH reduce_1 AS (
  SELECT
    e1.profile_id AS k,
    CASE
      WHEN COUNT(
        CASE
          WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["price"]', 'variant')) IN ('DOUBLE', 'FLOAT')
          OR SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["price"]', 'variant')) RLIKE '\\ADECIMAL\\([0-9]+,[1-9][0-9]*\\)\\z'
          THEN TRANSFORM(
            ARRAY(TRY_CAST(VARIANT_GET(e1.properties, '$["price"]', 'variant') AS DOUBLE)),
            num -> TRANSFORM(
              ARRAY(
                CASE
                  WHEN TRY_CAST(FORMAT_STRING('%.0e', num) AS DOUBLE) = num
                  THEN FORMAT_STRING('%.0e', num)
                  WHEN TRY_CAST(FORMAT_STRING('%.1e', num) AS DOUBLE) = num
                  THEN FORMAT_STRING('%.1e', num)
                  WHEN TRY_CAST(FORMAT_STRING('%.2e', num) AS DOUBLE) = num
                  THEN FORMAT_STRING('%.2e', num)
                  WHEN TRY_CAST(FORMAT_STRING('%.3e', num) AS DOUBLE) = num
                  THEN FORMAT_STRING('%.3e', num)
                  WHEN TRY_CAST(FORMAT_STRING('%.4e', num) AS DOUBLE) = num
                  THEN FORMAT_STRING('%.4e', num)
                  WHEN TRY_CAST(FORMAT_STRING('%.5e', num) AS DOUBLE) = num
                  THEN FORMAT_STRING('%.5e', num)
                  WHEN TRY_CAST(FORMAT_STRING('%.6e', num) AS DOUBLE) = num
                  THEN FORMAT_STRING('%.6e', num)
                  WHEN TRY_CAST(FORMAT_STRING('%.7e', num) AS DOUBLE) = num
                  THEN FORMAT_STRING('%.7e', num)
                  WHEN TRY_CAST(FORMAT_STRING('%.8e', num) AS DOUBLE) = num
                  THEN FORMAT_STRING('%.8e', num)
                  WHEN TRY_CAST(FORMAT_STRING('%.9e', num) AS DOUBLE) = num
                  THEN FORMAT_STRING('%.9e', num)
                  WHEN TRY_CAST(FORMAT_STRING('%.10e', num) AS DOUBLE) = num
                  THEN FORMAT_STRING('%.10e', num)
                  WHEN TRY_CAST(FORMAT_STRING('%.11e', num) AS DOUBLE) = num
                  THEN FORMAT_STRING('%.11e', num)
                  WHEN TRY_CAST(FORMAT_STRING('%.12e', num) AS DOUBLE) = num
                  THEN FORMAT_STRING('%.12e', num)
                  WHEN TRY_CAST(FORMAT_STRING('%.13e', num) AS DOUBLE) = num
                  THEN FORMAT_STRING('%.13e', num)
                  WHEN TRY_CAST(FORMAT_STRING('%.14e', num) AS DOUBLE) = num
                  THEN FORMAT_STRING('%.14e', num)
                  WHEN TRY_CAST(FORMAT_STRING('%.15e', num) AS DOUBLE) = num
                  THEN FORMAT_STRING('%.15e', num)
                  ELSE FORMAT_STRING('%.16e', num)
                END
              ),
              sci -> CASE
                WHEN num = 0
                THEN '0.0'
                WHEN ABS(num) >= 1e-4 AND ABS(num) < 1e16
                THEN REGEXP_REPLACE(
                  REGEXP_REPLACE(CAST(TRY_CAST(sci AS DECIMAL(38, 20)) AS STRING), '0+$', ''),
                  '[.]$',
                  '.0'
                )
                ELSE sci
              END
            )[0]
          )[0]
          WHEN NOT VARIANT_GET(e1.properties, '$["price"]', 'variant') IS NULL
          AND NOT IS_VARIANT_NULL(VARIANT_GET(e1.properties, '$["price"]', 'variant'))
          THEN CAST(VARIANT_GET(e1.properties, '$["price"]', 'variant') AS STRING)
        END
      ) > 0
      THEN ARRAY_SORT(
        COLLECT_SET(
          CASE
            WHEN SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["price"]', 'variant')) IN ('DOUBLE', 'FLOAT')
            OR SCHEMA_OF_VARIANT(VARIANT_GET(e1.properties, '$["price"]', 'variant')) RLIKE '\\ADECIMAL\\([0-9]+,[1-9][0-9]*\\)\\z'
            THEN TRANSFORM(
              ARRAY(TRY_CAST(VARIANT_GET(e1.properties, '$["price"]', 'variant') AS DOUBLE)),
              num -> TRANSFORM(
                ARRAY(
                  CASE
                    WHEN TRY_CAST(FORMAT_STRING('%.0e', num) AS DOUBLE) = num
                    THEN FORMAT_STRING('%.0e', num)
                    WHEN TRY_CAST(FORMAT_STRING('%.1e', num) AS DOUBLE) = num
                    THEN FORMAT_STRING('%.1e', num)
                    WHEN TRY_CAST(FORMAT_STRING('%.2e', num) AS DOUBLE) = num
                    THEN FORMAT_STRING('%.2e', num)
                    WHEN TRY_CAST(FORMAT_STRING('%.3e', num) AS DOUBLE) = num
                    THEN FORMAT_STRING('%.3e', num)
                    WHEN TRY_CAST(FORMAT_STRING('%.4e', num) AS DOUBLE) = num
                    THEN FORMAT_STRING('%.4e', num)
                    WHEN TRY_CAST(FORMAT_STRING('%.5e', num) AS DOUBLE) = num
                    THEN FORMAT_STRING('%.5e', num)
                    WHEN TRY_CAST(FORMAT_STRING('%.6e', num) AS DOUBLE) = num
                    THEN FORMAT_STRING('%.6e', num)
                    WHEN TRY_CAST(FORMAT_STRING('%.7e', num) AS DOUBLE) = num
                    THEN FORMAT_STRING('%.7e', num)
                    WHEN TRY_CAST(FORMAT_STRING('%.8e', num) AS DOUBLE) = num
                    THEN FORMAT_STRING('%.8e', num)
                    WHEN TRY_CAST(FORMAT_STRING('%.9e', num) AS DOUBLE) = num
                    THEN FORMAT_STRING('%.9e', num)
                    WHEN TRY_CAST(FORMAT_STRING('%.10e', num) AS DOUBLE) = num
                    THEN FORMAT_STRING('%.10e', num)
                    WHEN TRY_CAST(FORMAT_STRING('%.11e', num) AS DOUBLE) = num
                    THEN FORMAT_STRING('%.11e', num)
                    WHEN TRY_CAST(FORMAT_STRING('%.12e', num) AS DOUBLE) = num
                    THEN FORMAT_STRING('%.12e', num)
                    WHEN TRY_CAST(FORMAT_STRING('%.13e', num) AS DOUBLE) = num
                    THEN FORMAT_STRING('%.13e', num)
                    WHEN TRY_CAST(FORMAT_STRING('%.14e', num) AS DOUBLE) = num
                    THEN FORMAT_STRING('%.14e', num)
                    WHEN TRY_CAST(FORMAT_STRING('%.15e', num) AS DOUBLE) = num
                    THEN FORMAT_STRING('%.15e', num)
                    ELSE FORMAT_STRING('%.16e', num)
                  END
                ),
                sci -> CASE
                  WHEN num = 0
                  THEN '0.0'
                  WHEN ABS(num) >= 1e-4 AND ABS(num) < 1e16
                  THEN REGEXP_REPLACE(
                    REGEXP_REPLACE(CAST(TRY_CAST(sci AS DECIMAL(38, 20)) AS STRING), '0+$', ''),
                    '[.]$',
                    '.0'
                  )
                  ELSE sci
                END
              )[0]
            )[0]
            WHEN NOT VARIANT_GET(e1.properties, '$["price"]', 'variant') IS NULL
            AND NOT IS_VARIANT_NULL(VARIANT_GET(e1.properties, '$["price"]', 'variant'))
            THEN CAST(VARIANT_GET(e1.properties, '$["price"]', 'variant') AS STRING)
          END
        )
      )
    END AS v
  FROM shoal_events AS e1
  WHERE
    e1.event_name = 'Order Completed'
    AND e1.ts <= CAST('2024-06-30 12:00:00.000000' AS TIMESTAMP)
  GROUP BY
    e1.profile_id
)
SELECT
  u.profile_id AS entity_id,
  reduce_1.v AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN reduce_1 AS reduce_1
  ON reduce_1.k = u.profile_id
WHERE
  u.is_user
