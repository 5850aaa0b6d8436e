-- traits.yaml: trait_array_contains_substring
SELECT
  u.profile_id AS entity_id,
  CASE
    WHEN STARTSWITH(SCHEMA_OF_VARIANT(t1.value), 'ARRAY<')
    THEN COALESCE(
      EXISTS(
        TRY_VARIANT_GET(t1.value, '$', 'array<variant>'),
        el -> LOCATE(
          'ee',
          CASE
            WHEN SCHEMA_OF_VARIANT(el) IN ('DOUBLE', 'FLOAT')
            OR SCHEMA_OF_VARIANT(el) RLIKE '\\ADECIMAL\\([0-9]+,[1-9][0-9]*\\)\\z'
            THEN TRANSFORM(
              ARRAY(TRY_CAST(el AS DOUBLE)),
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
            WHEN NOT el IS NULL AND NOT IS_VARIANT_NULL(el)
            THEN CAST(el AS STRING)
          END
        ) > 0
      ),
      FALSE
    )
    ELSE COALESCE(
      LOCATE(
        'ee',
        CASE
          WHEN SCHEMA_OF_VARIANT(t1.value) IN ('DOUBLE', 'FLOAT')
          OR SCHEMA_OF_VARIANT(t1.value) RLIKE '\\ADECIMAL\\([0-9]+,[1-9][0-9]*\\)\\z'
          THEN TRANSFORM(
            ARRAY(TRY_CAST(t1.value AS DOUBLE)),
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
          WHEN NOT t1.value IS NULL AND NOT IS_VARIANT_NULL(t1.value)
          THEN CAST(t1.value AS STRING)
        END
      ) > 0,
      FALSE
    )
  END AS value,
  FALSE AS integral
FROM shoal_profiles AS u
LEFT JOIN shoal_traits AS t1
  ON t1.profile_id = u.profile_id AND t1.key = 'tags'
WHERE
  u.is_user
