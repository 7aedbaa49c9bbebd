WITH current_window AS (
  SELECT
    *
  FROM "prediction_outcomes"
  WHERE
    "model_name" = 'fraud'
    AND "role" = 'production'
    AND (
      (
        ts >= CAST('2026-10-21 00:00:00.000000' AS TIMESTAMP)
        AND ts < CAST('2026-10-22 00:00:00.000000' AS TIMESTAMP)
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
        ts >= CAST('2026-09-23 00:00:00.000000' AS TIMESTAMP)
        AND ts < CAST('2026-09-24 00:00:00.000000' AS TIMESTAMP)
      )
      OR (
        ts >= CAST('2026-09-30 00:00:00.000000' AS TIMESTAMP)
        AND ts < CAST('2026-10-01 00:00:00.000000' AS TIMESTAMP)
      )
      OR (
        ts >= CAST('2026-10-07 00:00:00.000000' AS TIMESTAMP)
        AND ts < CAST('2026-10-08 00:00:00.000000' AS TIMESTAMP)
      )
      OR (
        ts >= CAST('2026-10-14 00:00:00.000000' AS TIMESTAMP)
        AND ts < CAST('2026-10-15 00:00:00.000000' AS TIMESTAMP)
      )
    )
), observations /* One row per row of each sample, per slice of `by` ('all' first) and per column: */ /* flagged is 1 when the column is NULL. */ AS (
  SELECT
    'cur' AS sample,
    'all' AS segment,
    'amount' AS feature,
    CASE WHEN "amount" IS NULL THEN 1 ELSE 0 END AS flagged
  FROM current_window
  UNION ALL
  SELECT
    'base' AS sample,
    'all' AS segment,
    'amount' AS feature,
    CASE WHEN "amount" IS NULL THEN 1 ELSE 0 END AS flagged
  FROM baseline_window
  UNION ALL
  SELECT
    'cur' AS sample,
    'all' AS segment,
    'merchant_category' AS feature,
    CASE WHEN "merchant_category" IS NULL THEN 1 ELSE 0 END AS flagged
  FROM current_window
  UNION ALL
  SELECT
    'base' AS sample,
    'all' AS segment,
    'merchant_category' AS feature,
    CASE WHEN "merchant_category" IS NULL THEN 1 ELSE 0 END AS flagged
  FROM baseline_window
  UNION ALL
  SELECT
    'cur' AS sample,
    CONCAT(
      CAST('country=' AS VARCHAR),
      CAST(COALESCE(CAST("country" AS VARCHAR), '<null>') AS VARCHAR)
    ) AS segment,
    'amount' AS feature,
    CASE WHEN "amount" IS NULL THEN 1 ELSE 0 END AS flagged
  FROM current_window
  UNION ALL
  SELECT
    'base' AS sample,
    CONCAT(
      CAST('country=' AS VARCHAR),
      CAST(COALESCE(CAST("country" AS VARCHAR), '<null>') AS VARCHAR)
    ) AS segment,
    'amount' AS feature,
    CASE WHEN "amount" IS NULL THEN 1 ELSE 0 END AS flagged
  FROM baseline_window
  UNION ALL
  SELECT
    'cur' AS sample,
    CONCAT(
      CAST('country=' AS VARCHAR),
      CAST(COALESCE(CAST("country" AS VARCHAR), '<null>') AS VARCHAR)
    ) AS segment,
    'merchant_category' AS feature,
    CASE WHEN "merchant_category" IS NULL THEN 1 ELSE 0 END AS flagged
  FROM current_window
  UNION ALL
  SELECT
    'base' AS sample,
    CONCAT(
      CAST('country=' AS VARCHAR),
      CAST(COALESCE(CAST("country" AS VARCHAR), '<null>') AS VARCHAR)
    ) AS segment,
    'merchant_category' AS feature,
    CASE WHEN "merchant_category" IS NULL THEN 1 ELSE 0 END AS flagged
  FROM baseline_window
  /* The 'all' segment of every column exists even when the windows are empty. */
  UNION ALL
  SELECT
    'none',
    'all',
    'amount',
    0
  /* The 'all' segment of every column exists even when the windows are empty. */
  UNION ALL
  SELECT
    'none',
    'all',
    'merchant_category',
    0
), totals AS (
  SELECT
    segment,
    feature,
    COUNT(CASE WHEN sample = 'cur' THEN 1 END) AS rows_cur,
    SUM(CASE WHEN sample = 'cur' THEN flagged ELSE 0 END) AS flagged_cur,
    COUNT(CASE WHEN sample = 'base' THEN 1 END) AS rows_base,
    SUM(CASE WHEN sample = 'base' THEN flagged ELSE 0 END) AS flagged_base
  FROM observations
  GROUP BY
    segment,
    feature
)
/* The share of flagged rows in the window, and in the baseline when there is one. */
SELECT
  segment,
  feature,
  'null_rate' AS metric,
  CAST(flagged_cur * 1.0 AS DOUBLE) / NULLIF(rows_cur, 0) AS value,
  rows_cur AS sample_size,
  CAST(flagged_base * 1.0 AS DOUBLE) / NULLIF(rows_base, 0) AS baseline_value,
  rows_base AS baseline_size,
  CASE WHEN rows_cur = 0 THEN 'the current window has no rows' END AS reason
FROM totals
ORDER BY
  segment,
  feature
