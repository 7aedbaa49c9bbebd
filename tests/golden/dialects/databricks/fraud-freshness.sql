WITH newest AS (
  /* The newest prediction of the model and role before the reference time. */
  SELECT
    MAX(ts) AS newest_ts
  FROM `prediction_outcomes`
  WHERE
    `model_name` = 'fraud'
    AND `role` = 'production'
    AND ts < CAST('2026-10-22 06:00:00.000000' AS TIMESTAMP_NTZ)
)
SELECT
  'all' AS segment,
  '' AS feature,
  'freshness' AS metric,
  DATEDIFF(MICROSECOND, newest_ts, CAST('2026-10-22 06:00:00.000000' AS TIMESTAMP_NTZ)) / 1e6 AS value,
  CAST(NULL AS BIGINT) AS sample_size,
  CASE
    WHEN newest_ts IS NULL
    THEN 'no prediction of this model before 2026-10-22T06:00:00+00:00'
  END AS reason,
  TO_JSON(
    NAMED_STRUCT('newest', CAST(newest_ts AS STRING), 'reference', '2026-10-22T06:00:00+00:00'),
    MAP('ignoreNullFields', 'false')
  ) AS detail
FROM newest
