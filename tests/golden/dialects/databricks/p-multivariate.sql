WITH current_window AS (
  SELECT
    *
  FROM `prediction_outcomes`
  WHERE
    `model_name` = 'fraud'
    AND `role` = 'production'
    AND (
      (
        ts >= CAST('2026-10-21 00:00:00.000000' AS TIMESTAMP_NTZ)
        AND ts < CAST('2026-10-22 00:00:00.000000' AS TIMESTAMP_NTZ)
      )
    )
), baseline_window AS (
  SELECT
    *
  FROM `prediction_outcomes`
  WHERE
    `model_name` = 'fraud'
    AND `role` = 'production'
    AND (
      (
        ts >= CAST('2026-09-23 00:00:00.000000' AS TIMESTAMP_NTZ)
        AND ts < CAST('2026-09-24 00:00:00.000000' AS TIMESTAMP_NTZ)
      )
      OR (
        ts >= CAST('2026-09-30 00:00:00.000000' AS TIMESTAMP_NTZ)
        AND ts < CAST('2026-10-01 00:00:00.000000' AS TIMESTAMP_NTZ)
      )
      OR (
        ts >= CAST('2026-10-07 00:00:00.000000' AS TIMESTAMP_NTZ)
        AND ts < CAST('2026-10-08 00:00:00.000000' AS TIMESTAMP_NTZ)
      )
      OR (
        ts >= CAST('2026-10-14 00:00:00.000000' AS TIMESTAMP_NTZ)
        AND ts < CAST('2026-10-15 00:00:00.000000' AS TIMESTAMP_NTZ)
      )
    )
), observations /* Every row of both samples once per slice of `by` ('all' first), NaN and ±inf as */ /* NULL; plus one row of sample 'none' (counted in neither) so the 'all' segment */ /* exists even when both windows are empty. */ AS (
  SELECT
    'cur' AS sample,
    'all' AS segment,
    CASE
      WHEN (
        NOT CAST(`amount` AS DOUBLE) IN (CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE), CAST('NaN' AS DOUBLE))
      )
      THEN CAST(`amount` AS DOUBLE)
    END AS x_0,
    CASE
      WHEN (
        NOT CAST(`score` AS DOUBLE) IN (CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE), CAST('NaN' AS DOUBLE))
      )
      THEN CAST(`score` AS DOUBLE)
    END AS x_1
  FROM current_window
  UNION ALL
  SELECT
    'cur' AS sample,
    'country=' || COALESCE(CAST(`country` AS STRING), '<null>') AS segment,
    CASE
      WHEN (
        NOT CAST(`amount` AS DOUBLE) IN (CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE), CAST('NaN' AS DOUBLE))
      )
      THEN CAST(`amount` AS DOUBLE)
    END AS x_0,
    CASE
      WHEN (
        NOT CAST(`score` AS DOUBLE) IN (CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE), CAST('NaN' AS DOUBLE))
      )
      THEN CAST(`score` AS DOUBLE)
    END AS x_1
  FROM current_window
  UNION ALL
  SELECT
    'base' AS sample,
    'all' AS segment,
    CASE
      WHEN (
        NOT CAST(`amount` AS DOUBLE) IN (CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE), CAST('NaN' AS DOUBLE))
      )
      THEN CAST(`amount` AS DOUBLE)
    END AS x_0,
    CASE
      WHEN (
        NOT CAST(`score` AS DOUBLE) IN (CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE), CAST('NaN' AS DOUBLE))
      )
      THEN CAST(`score` AS DOUBLE)
    END AS x_1
  FROM baseline_window
  UNION ALL
  SELECT
    'base' AS sample,
    'country=' || COALESCE(CAST(`country` AS STRING), '<null>') AS segment,
    CASE
      WHEN (
        NOT CAST(`amount` AS DOUBLE) IN (CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE), CAST('NaN' AS DOUBLE))
      )
      THEN CAST(`amount` AS DOUBLE)
    END AS x_0,
    CASE
      WHEN (
        NOT CAST(`score` AS DOUBLE) IN (CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE), CAST('NaN' AS DOUBLE))
      )
      THEN CAST(`score` AS DOUBLE)
    END AS x_1
  FROM baseline_window
  UNION ALL
  SELECT
    'none',
    'all',
    CAST(NULL AS DOUBLE),
    CAST(NULL AS DOUBLE)
), basis /* The fitted basis of each segment that has one: the means μ and the scales σ, as a */ /* table to join. Numbers are written as text and cast, which round-trips a DOUBLE */ /* exactly. */ AS (
  SELECT
    *
  FROM VALUES
    (
      'all',
      CAST('0.0' AS DOUBLE),
      CAST('0.0' AS DOUBLE),
      CAST('0.7071067811865476' AS DOUBLE),
      CAST('0.7071067811865476' AS DOUBLE)
    ),
    (
      'country=FR',
      CAST('0.0' AS DOUBLE),
      CAST('0.0' AS DOUBLE),
      CAST('0.7071067811865476' AS DOUBLE),
      CAST('0.7071067811865476' AS DOUBLE)
    ) AS b(segment, mu_0, mu_1, sigma_0, sigma_1)
), errors /* Each row's missing values and error. z_j = (x_j − μ_j) / σ_j, 0 where x_j is missing */ /* (imputed with the mean); e = Σ_j (z_j − ẑ_j)², ẑ = W Wᵀ z, the part of z outside the */ /* kept components. The eigenvectors are orthonormal, so e is the squared length of */ /* z's projection on the left-out ones u_r, Σ_r (u_rᵀ z)²: the same number, with no */ /* subtraction of nearly equal terms, and p·(p − k) products a row instead of 2·p·k. */ /* The u_r are written into the expression per segment (shortest decimal form: the */ /* same DOUBLE, or within an ulp): as columns they would pass PostgreSQL's limit of */ /* 1,664 per select list from about 35 features. A segment without a basis matches no */ /* branch: a NULL error. Each projection is clamped to ±1e75, so an absurd value */ /* (1e200) gives an enormous error, not an overflow that NULLs the window or fails the */ /* query. One pass: no CTE here is read twice, so none is materialised. */ AS (
  SELECT
    sample,
    segment,
    missing,
    CASE segment
      WHEN 'all'
      THEN POWER(
        LEAST(GREATEST(CAST(1.0 AS DOUBLE) * z_0 + CAST(0.0 AS DOUBLE) * z_1, -1e75), 1e75),
        2
      )
      WHEN 'country=FR'
      THEN POWER(
        LEAST(GREATEST(CAST(1.0 AS DOUBLE) * z_0 + CAST(0.0 AS DOUBLE) * z_1, -1e75), 1e75),
        2
      )
    END AS error
  FROM (
    SELECT
      o.sample,
      o.segment,
      (
        CASE WHEN o.x_0 IS NULL THEN 1 ELSE 0 END
      ) + (
        CASE WHEN o.x_1 IS NULL THEN 1 ELSE 0 END
      ) AS missing,
      COALESCE((
        o.x_0 - b.mu_0
      ) / b.sigma_0, 0) AS z_0,
      COALESCE((
        o.x_1 - b.mu_1
      ) / b.sigma_1, 0) AS z_1
    FROM observations AS o
    LEFT JOIN basis AS b
      ON b.segment = o.segment
  ) AS standardised
), totals /* Per segment and sample: rows, missing values, the errors' mean and sample variance */ /* (the 'none' row only makes the 'all' segment exist). */ AS (
  SELECT
    segment,
    COUNT(CASE WHEN sample = 'cur' THEN 1 END) AS rows_cur,
    COUNT(CASE WHEN sample = 'base' THEN 1 END) AS rows_base,
    SUM(CASE WHEN sample = 'cur' THEN missing ELSE 0 END) AS missing_cur,
    SUM(CASE WHEN sample = 'base' THEN missing ELSE 0 END) AS missing_base,
    AVG(CASE WHEN sample = 'cur' THEN error END) AS error_cur,
    AVG(CASE WHEN sample = 'base' THEN error END) AS error_base,
    VARIANCE(CASE WHEN sample = 'cur' THEN error END) AS var_cur,
    VARIANCE(CASE WHEN sample = 'base' THEN error END) AS var_base
  FROM errors
  GROUP BY
    segment
), tested /* Welch's statistic of the two mean errors (NULL when a side has fewer than 2 rows). */ /* Its standard error is floored at 1e-12·(1 + |ē_cur| + |ē_base|), the rounding noise */ /* of these sums: errors that are all rounding noise give a statistic near 0, and a */ /* real jump between two constant errors (rows exactly on a line that moved) a very */ /* large one, never a division of noise by noise. */ AS (
  SELECT
    *,
    CASE
      WHEN NOT var_cur IS NULL AND NOT var_base IS NULL
      THEN (
        error_cur - error_base
      ) / GREATEST(
        SQRT(var_cur / rows_cur + var_base / rows_base),
        1e-12 * (
          1 + ABS(error_cur) + ABS(error_base)
        )
      )
    END AS welch
  FROM totals
), metric_rows AS (
  SELECT
    segment,
    '' AS feature,
    'reconstruction_error' AS metric,
    error_cur AS value,
    rows_cur AS sample_size,
    error_base AS baseline_value,
    rows_base AS baseline_size,
    CAST(NULL AS DOUBLE) AS p_value,
    CASE WHEN NOT welch IS NULL THEN 'z' END AS test,
    welch AS statistic,
    CASE
      WHEN rows_cur = 0
      THEN 'the current window has no rows'
      WHEN rows_base = 0
      THEN 'the baseline has no rows'
      WHEN NOT segment IN ('all', 'country=FR')
      THEN 'no basis: the baseline gave none for this segment'
    END AS reason
  FROM tested
  UNION ALL
  SELECT
    segment,
    '',
    'missing_rate',
    missing_cur * CAST(1.0 AS DOUBLE) / NULLIF(rows_cur * 2, 0),
    rows_cur,
    missing_base * CAST(1.0 AS DOUBLE) / NULLIF(rows_base * 2, 0),
    rows_base,
    CAST(NULL AS DOUBLE),
    CAST(NULL AS STRING),
    CAST(NULL AS DOUBLE),
    CASE WHEN rows_cur = 0 THEN 'the current window has no rows' END
  FROM tested
)
SELECT
  segment,
  feature,
  metric,
  value,
  sample_size,
  baseline_value,
  baseline_size,
  p_value,
  test,
  statistic,
  reason
FROM metric_rows
ORDER BY
  segment NULLS LAST,
  metric NULLS LAST
