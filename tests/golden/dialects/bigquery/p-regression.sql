WITH current_window AS (
  SELECT
    *
  FROM `prediction_outcomes`
  WHERE
    `model_name` = 'fraud'
    AND `role` = 'production'
    AND ts >= CAST('2026-10-01 00:00:00.000000' AS DATETIME)
    AND ts < CAST('2026-10-08 00:00:00.000000' AS DATETIME)
), baseline_window AS (
  SELECT
    *
  FROM `prediction_outcomes`
  WHERE
    `model_name` = 'fraud'
    AND `role` = 'production'
    AND (
      (
        ts >= CAST('2026-09-03 00:00:00.000000' AS DATETIME)
        AND ts < CAST('2026-09-10 00:00:00.000000' AS DATETIME)
      )
      OR (
        ts >= CAST('2026-09-10 00:00:00.000000' AS DATETIME)
        AND ts < CAST('2026-09-17 00:00:00.000000' AS DATETIME)
      )
      OR (
        ts >= CAST('2026-09-17 00:00:00.000000' AS DATETIME)
        AND ts < CAST('2026-09-24 00:00:00.000000' AS DATETIME)
      )
      OR (
        ts >= CAST('2026-09-24 00:00:00.000000' AS DATETIME)
        AND ts < CAST('2026-10-01 00:00:00.000000' AS DATETIME)
      )
    )
), scored AS (
  SELECT
    'cur' AS sample,
    `country`,
    CASE
      WHEN NOT IS_INF(CAST(`score` AS FLOAT64)) AND NOT IS_NAN(CAST(`score` AS FLOAT64))
      THEN CAST(`score` AS FLOAT64)
    END AS score,
    CAST(NULL AS FLOAT64) AS cut,
    CAST(`label` AS FLOAT64) AS label,
    ts <= CAST('2026-10-08 06:00:00.000000' AS DATETIME) AS mature
  FROM current_window
  UNION ALL
  SELECT
    'base' AS sample,
    `country`,
    CASE
      WHEN NOT IS_INF(CAST(`score` AS FLOAT64)) AND NOT IS_NAN(CAST(`score` AS FLOAT64))
      THEN CAST(`score` AS FLOAT64)
    END AS score,
    CAST(NULL AS FLOAT64) AS cut,
    CAST(`label` AS FLOAT64) AS label,
    ts <= CAST('2026-10-08 06:00:00.000000' AS DATETIME) AS mature
  FROM baseline_window
), errors AS (
  /* e = prediction − target on the mature rows that have both; NULL elsewhere. */
  SELECT
    *,
    CASE WHEN mature AND NOT IS_INF(label) AND NOT IS_NAN(label) THEN score - label END AS e,
    CASE
      WHEN mature AND NOT IS_INF(label) AND NOT IS_NAN(label) AND NOT score IS NULL
      THEN ABS(label)
    END AS abs_target
  FROM scored
), segment_stats AS (
  SELECT
    sample,
    CASE
      WHEN GROUPING(`country`) = 0
      THEN 'country=' || COALESCE(CAST(`country` AS STRING), '<null>')
      ELSE 'all'
    END AS segment,
    COUNT(CASE WHEN mature THEN 1 END) AS mature,
    COUNT(CASE WHEN mature AND NOT IS_INF(label) AND NOT IS_NAN(label) THEN 1 END) AS labelled,
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
      (`country`, sample)
    )
), paired AS (
  /* One row per segment, the window's sums (cur_) beside the baseline's (base_); the */
  /* 'all' segment always exists, so an empty window says so. */
  SELECT
    k.segment,
    COALESCE(c.`mature`, 0) AS `cur_mature`,
    COALESCE(b.`mature`, 0) AS `base_mature`,
    COALESCE(c.`labelled`, 0) AS `cur_labelled`,
    COALESCE(b.`labelled`, 0) AS `base_labelled`,
    COALESCE(c.`n`, 0) AS `cur_n`,
    COALESCE(b.`n`, 0) AS `base_n`,
    COALESCE(c.`abs_error`, 0) AS `cur_abs_error`,
    COALESCE(b.`abs_error`, 0) AS `base_abs_error`,
    COALESCE(c.`squared_error`, 0) AS `cur_squared_error`,
    COALESCE(b.`squared_error`, 0) AS `base_squared_error`,
    COALESCE(c.`error`, 0) AS `cur_error`,
    COALESCE(b.`error`, 0) AS `base_error`,
    COALESCE(c.`abs_target`, 0) AS `cur_abs_target`,
    COALESCE(b.`abs_target`, 0) AS `base_abs_target`
  FROM (
    SELECT
      segment
    FROM segment_stats
    UNION DISTINCT
    SELECT
      'all'
  ) AS k
  LEFT JOIN segment_stats AS c
    ON c.segment = k.segment AND c.sample = 'cur'
  LEFT JOIN segment_stats AS b
    ON b.segment = k.segment AND b.sample = 'base'
), metric_rows AS (
  SELECT
    segment,
    'mae' AS metric,
    cur_abs_error / NULLIF(cur_n, 0) AS value,
    cur_n AS sample_size,
    base_abs_error / NULLIF(base_n, 0) AS baseline_value,
    base_n AS baseline_size,
    CASE
      WHEN cur_abs_error / NULLIF(cur_n, 0) IS NULL
      THEN CASE
        WHEN cur_mature = 0
        THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
        WHEN cur_labelled = 0
        THEN 'no mature prediction has a target (feedback missing?)'
        ELSE 'no mature prediction with a target has a finite prediction'
      END
    END AS reason
  FROM paired
  UNION ALL
  SELECT
    segment,
    'rmse' AS metric,
    SQRT(cur_squared_error / NULLIF(cur_n, 0)) AS value,
    cur_n AS sample_size,
    SQRT(base_squared_error / NULLIF(base_n, 0)) AS baseline_value,
    base_n AS baseline_size,
    CASE
      WHEN SQRT(cur_squared_error / NULLIF(cur_n, 0)) IS NULL
      THEN CASE
        WHEN cur_mature = 0
        THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
        WHEN cur_labelled = 0
        THEN 'no mature prediction has a target (feedback missing?)'
        ELSE 'no mature prediction with a target has a finite prediction'
      END
    END AS reason
  FROM paired
  UNION ALL
  SELECT
    segment,
    'mean_bias' AS metric,
    cur_error / NULLIF(cur_n, 0) AS value,
    cur_n AS sample_size,
    base_error / NULLIF(base_n, 0) AS baseline_value,
    base_n AS baseline_size,
    CASE
      WHEN cur_error / NULLIF(cur_n, 0) IS NULL
      THEN CASE
        WHEN cur_mature = 0
        THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
        WHEN cur_labelled = 0
        THEN 'no mature prediction has a target (feedback missing?)'
        ELSE 'no mature prediction with a target has a finite prediction'
      END
    END AS reason
  FROM paired
  UNION ALL
  SELECT
    segment,
    'wape' AS metric,
    cur_abs_error / NULLIF(cur_abs_target, 0) AS value,
    cur_n AS sample_size,
    base_abs_error / NULLIF(base_abs_target, 0) AS baseline_value,
    base_n AS baseline_size,
    CASE
      WHEN cur_abs_error / NULLIF(cur_abs_target, 0) IS NULL
      THEN CASE
        WHEN cur_n = 0
        THEN CASE
          WHEN cur_mature = 0
          THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
          WHEN cur_labelled = 0
          THEN 'no mature prediction has a target (feedback missing?)'
          ELSE 'no mature prediction with a target has a finite prediction'
        END
        ELSE 'every target is 0: a relative error is undefined'
      END
    END AS reason
  FROM paired
  UNION ALL
  SELECT
    segment,
    'label_coverage' AS metric,
    cur_labelled * 1.0 / NULLIF(cur_mature, 0) AS value,
    cur_mature AS sample_size,
    base_labelled * 1.0 / NULLIF(base_mature, 0) AS baseline_value,
    base_mature AS baseline_size,
    CASE
      WHEN cur_labelled * 1.0 / NULLIF(cur_mature, 0) IS NULL
      THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
    END AS reason
  FROM paired
)
SELECT
  segment,
  '' AS feature,
  metric,
  value,
  sample_size,
  baseline_value,
  baseline_size,
  reason
FROM metric_rows
ORDER BY
  segment NULLS LAST,
  metric NULLS LAST
