WITH current_window AS (
  SELECT
    *
  FROM "prediction_outcomes"
  WHERE
    "model_name" = 'fraud'
    AND "role" = 'production'
    AND (
      (
        ts >= CAST('2026-10-01 00:00:00.000000' AS TIMESTAMP)
        AND ts < CAST('2026-10-08 00:00:00.000000' AS TIMESTAMP)
      )
    )
), baseline_window AS (
  SELECT
    *
  FROM "prediction_outcomes"
  WHERE
    "model_name" = 'fraud'
    AND "role" = 'production'
    AND (
      (
        ts >= CAST('2026-09-03 00:00:00.000000' AS TIMESTAMP)
        AND ts < CAST('2026-09-10 00:00:00.000000' AS TIMESTAMP)
      )
      OR (
        ts >= CAST('2026-09-10 00:00:00.000000' AS TIMESTAMP)
        AND ts < CAST('2026-09-17 00:00:00.000000' AS TIMESTAMP)
      )
      OR (
        ts >= CAST('2026-09-17 00:00:00.000000' AS TIMESTAMP)
        AND ts < CAST('2026-09-24 00:00:00.000000' AS TIMESTAMP)
      )
      OR (
        ts >= CAST('2026-09-24 00:00:00.000000' AS TIMESTAMP)
        AND ts < CAST('2026-10-01 00:00:00.000000' AS TIMESTAMP)
      )
    )
), scored /* One row per prediction of each sample: the slice columns, the prediction (NaN, ±inf */ /* as NULL), the target, and whether it has matured at the run's time T */ /* (ts + label_maturity <= T). */ AS (
  SELECT
    'cur' AS sample,
    "country",
    CASE WHEN IS_FINITE(CAST("score" AS DOUBLE)) THEN CAST("score" AS DOUBLE) END AS score,
    CAST("label" AS DOUBLE) AS label,
    ts <= CAST('2026-10-08 06:00:00.000000' AS TIMESTAMP) AS mature
  FROM current_window
  UNION ALL
  SELECT
    'base' AS sample,
    "country",
    CASE WHEN IS_FINITE(CAST("score" AS DOUBLE)) THEN CAST("score" AS DOUBLE) END AS score,
    CAST("label" AS DOUBLE) AS label,
    ts <= CAST('2026-10-08 06:00:00.000000' AS TIMESTAMP) AS mature
  FROM baseline_window
), errors AS (
  /* e = prediction − target on the mature rows that have both; NULL elsewhere. */
  SELECT
    *,
    CASE WHEN mature AND IS_FINITE(label) THEN score - label END AS e,
    CASE WHEN mature AND IS_FINITE(label) AND NOT score IS NULL THEN ABS(label) END AS abs_target
  FROM scored
), segment_stats /* Per sample and segment (every slice set and 'all' in one GROUPING SETS pass), the */ /* sums every metric is written over. */ AS (
  SELECT
    sample,
    CASE
      WHEN GROUPING("country") = 0
      THEN CONCAT(
        CAST('country=' AS VARCHAR),
        CAST(COALESCE(CAST("country" AS VARCHAR), '<null>') AS VARCHAR)
      )
      ELSE 'all'
    END AS segment,
    COUNT(CASE WHEN mature THEN 1 END) AS mature,
    COUNT(CASE WHEN mature AND IS_FINITE(label) THEN 1 END) AS labelled,
    COUNT(e) AS n,
    SUM(ABS(e)) AS abs_error,
    SUM(e * e) AS squared_error,
    SUM(e) AS error,
    SUM(abs_target) AS abs_target
  FROM errors
  GROUP BY
    GROUPING SETS (
      (
        sample
      ),
      ("country", sample)
    )
), sums /* Every segment in every sample, the 'all' segment always (so an empty window says */ /* so): a sample without rows in a segment sums to 0. */ AS (
  SELECT
    k.segment,
    s.sample,
    COALESCE(t.mature, 0) AS mature,
    COALESCE(t.labelled, 0) AS labelled,
    COALESCE(t.n, 0) AS n,
    COALESCE(t.abs_error, 0) AS abs_error,
    COALESCE(t.squared_error, 0) AS squared_error,
    COALESCE(t.error, 0) AS error,
    COALESCE(t.abs_target, 0) AS abs_target
  FROM (
    SELECT
      segment
    FROM segment_stats
    UNION
    SELECT
      'all'
  ) AS k
  CROSS JOIN (VALUES
    ('cur'),
    ('base')) AS s(sample)
  LEFT JOIN segment_stats AS t
    ON t.segment = k.segment AND t.sample = s.sample
), metric_values /* Per sample, segment and metric: the value, its sample size, and why it is undefined. */ AS (
  SELECT
    sample,
    segment,
    metric,
    value,
    n,
    CASE
      WHEN NOT value IS NULL
      THEN NULL
      WHEN mature = 0
      THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
      WHEN labelled = 0
      THEN 'no mature prediction has a target (feedback missing?)'
      WHEN n = 0
      THEN 'no mature prediction with a target has a finite prediction'
      ELSE 'every target is 0: a relative error is undefined' /* wape */
    END AS reason
  FROM (
    SELECT
      sample,
      segment,
      m.metric,
      mature,
      labelled,
      CASE m.metric
        WHEN 'mae'
        THEN CAST(abs_error AS DOUBLE) / NULLIF(n, 0)
        WHEN 'rmse'
        THEN SQRT(CAST(squared_error AS DOUBLE) / NULLIF(n, 0))
        WHEN 'mean_bias'
        THEN CAST(error AS DOUBLE) / NULLIF(n, 0)
        WHEN 'wape'
        THEN CAST(abs_error AS DOUBLE) / NULLIF(abs_target, 0)
        WHEN 'label_coverage'
        THEN CAST(labelled * 1.0 AS DOUBLE) / NULLIF(mature, 0)
      END AS value,
      CASE WHEN m.metric = 'label_coverage' THEN mature ELSE n END AS n
    FROM sums
    CROSS JOIN (VALUES
      ('mae'),
      ('rmse'),
      ('mean_bias'),
      ('wape'),
      ('label_coverage')) AS m(metric)
  ) AS formulas
)
/* The window's value beside the baseline's (when the monitor has a baseline). */
SELECT
  c.segment,
  '' AS feature,
  c.metric,
  c.value,
  c.n AS sample_size,
  b.value AS baseline_value,
  b.n AS baseline_size,
  c.reason
FROM metric_values AS c
LEFT JOIN metric_values AS b
  ON b.segment = c.segment AND b.metric = c.metric AND b.sample = 'base'
WHERE
  c.sample = 'cur'
ORDER BY
  c.segment,
  c.metric
