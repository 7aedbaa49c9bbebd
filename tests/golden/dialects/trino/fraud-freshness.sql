WITH newest AS (
  /* The newest prediction of the model and role before the reference time. */
  SELECT
    MAX(ts) AS newest_ts
  FROM "prediction_outcomes"
  WHERE
    "model_name" = 'fraud'
    AND "role" = 'production'
    AND ts < CAST('2026-10-22 06:00:00.000000' AS TIMESTAMP)
)
SELECT
  'all' AS segment,
  '' AS feature,
  'freshness' AS metric,
  CAST(DATE_DIFF(
    'MICROSECOND',
    DATE_TRUNC('MICROSECOND', newest_ts),
    DATE_TRUNC('MICROSECOND', CAST('2026-10-22 06:00:00.000000' AS TIMESTAMP))
  ) AS DOUBLE) / 1e6 AS value,
  CAST(NULL AS BIGINT) AS sample_size,
  CASE
    WHEN newest_ts IS NULL
    THEN 'no prediction of this model before 2026-10-22T06:00:00+00:00'
  END AS reason,
  JSON_OBJECT('newest': CAST(newest_ts AS VARCHAR), 'reference': '2026-10-22T06:00:00+00:00') AS detail
FROM newest
