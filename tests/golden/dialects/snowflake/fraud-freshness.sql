WITH newest AS (
  /* In one scan of the model and role's rows: the newest before the reference time, */
  /* and those dated more than future_tolerance after the clock (wall_clock: T, or */
  /* later for a catch-up, whose rows logged since T are not from the future), with */
  /* the latest of them. */
  SELECT
    MAX(CASE WHEN ts < CAST('2026-10-22 06:00:00.000000' AS TIMESTAMPNTZ) THEN ts END) AS newest_ts,
    COUNT(
      CASE
        WHEN ts > CAST('2026-10-22 06:00:00.000000' AS TIMESTAMPNTZ) + INTERVAL '300 SECOND'
        THEN 1
      END
    ) AS future_rows,
    MAX(ts) AS latest_ts
  FROM "prediction_outcomes"
  WHERE
    "model_name" = 'fraud' AND "role" = 'production'
)
SELECT
  'all' AS segment,
  '' AS feature,
  'freshness' AS metric,
  DATEDIFF(MICROSECOND, newest_ts, CAST('2026-10-22 06:00:00.000000' AS TIMESTAMPNTZ)) / 1e6 AS value,
  CAST(NULL AS BIGINT) AS sample_size,
  CASE
    WHEN newest_ts IS NULL
    THEN 'no prediction of this model before 2026-10-22T06:00:00+00:00'
  END AS reason,
  TO_JSON(
    OBJECT_CONSTRUCT_KEEP_NULL('newest', CAST(newest_ts AS VARCHAR), 'reference', '2026-10-22T06:00:00+00:00')
  ) AS detail
FROM newest
UNION ALL
SELECT
  'all',
  '',
  'future_rows',
  CAST(future_rows AS DOUBLE),
  CAST(NULL AS BIGINT),
  CAST(NULL AS VARCHAR),
  TO_JSON(OBJECT_CONSTRUCT_KEEP_NULL('latest', CAST(latest_ts AS VARCHAR)))
FROM newest
