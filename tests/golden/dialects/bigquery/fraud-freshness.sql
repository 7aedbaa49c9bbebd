WITH newest AS (
  /* The newest prediction of the model and role before the reference time. */
  SELECT
    MAX(ts) AS newest_ts
  FROM `prediction_outcomes`
  WHERE
    `model_name` = 'fraud'
    AND `role` = 'production'
    AND ts < CAST('2026-10-22 06:00:00.000000' AS DATETIME)
)
SELECT
  'all' AS segment,
  '' AS feature,
  'freshness' AS metric,
  DATE_DIFF(CAST('2026-10-22 06:00:00.000000' AS DATETIME), newest_ts, MICROSECOND) / 1e6 AS value,
  CAST(NULL AS INT64) AS sample_size,
  CASE
    WHEN newest_ts IS NULL
    THEN 'no prediction of this model before 2026-10-22T06:00:00+00:00'
  END AS reason,
  TO_JSON_STRING(
    JSON_OBJECT('newest', CAST(newest_ts AS STRING), 'reference', '2026-10-22T06:00:00+00:00')
  ) AS detail
FROM newest
