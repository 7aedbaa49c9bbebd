WITH pairs AS (
  /* The window's requests ('cur') and the baseline's ('base'), one row each, with */
  /* either side possibly missing. */
  SELECT
    'cur' AS sample,
    "country",
    "device",
    has_production,
    has_shadow,
    CASE
      WHEN (
        NOT CAST("prod_score" AS DOUBLE) IN (CAST('inf' AS DOUBLE), CAST('-inf' AS DOUBLE), CAST('NaN' AS DOUBLE))
      )
      THEN CAST("prod_score" AS DOUBLE)
    END AS p,
    CASE
      WHEN (
        NOT CAST("shadow_score" AS DOUBLE) IN (CAST('inf' AS DOUBLE), CAST('-inf' AS DOUBLE), CAST('NaN' AS DOUBLE))
      )
      THEN CAST("shadow_score" AS DOUBLE)
    END AS s
  FROM (
    SELECT
      *
    FROM "shadow_pairs"
    WHERE
      "model_name" = 'fraud'
      AND (
        (
          ts >= CAST('2026-10-21 00:00:00.000000' AS TIMESTAMPNTZ)
          AND ts < CAST('2026-10-22 00:00:00.000000' AS TIMESTAMPNTZ)
        )
      )
  ) AS sample_pairs
  UNION ALL
  SELECT
    'base' AS sample,
    "country",
    "device",
    has_production,
    has_shadow,
    CASE
      WHEN (
        NOT CAST("prod_score" AS DOUBLE) IN (CAST('inf' AS DOUBLE), CAST('-inf' AS DOUBLE), CAST('NaN' AS DOUBLE))
      )
      THEN CAST("prod_score" AS DOUBLE)
    END AS p,
    CASE
      WHEN (
        NOT CAST("shadow_score" AS DOUBLE) IN (CAST('inf' AS DOUBLE), CAST('-inf' AS DOUBLE), CAST('NaN' AS DOUBLE))
      )
      THEN CAST("shadow_score" AS DOUBLE)
    END AS s
  FROM (
    SELECT
      *
    FROM "shadow_pairs"
    WHERE
      "model_name" = 'fraud'
      AND (
        (
          ts >= CAST('2026-09-23 00:00:00.000000' AS TIMESTAMPNTZ)
          AND ts < CAST('2026-09-24 00:00:00.000000' AS TIMESTAMPNTZ)
        )
        OR (
          ts >= CAST('2026-09-30 00:00:00.000000' AS TIMESTAMPNTZ)
          AND ts < CAST('2026-10-01 00:00:00.000000' AS TIMESTAMPNTZ)
        )
        OR (
          ts >= CAST('2026-10-07 00:00:00.000000' AS TIMESTAMPNTZ)
          AND ts < CAST('2026-10-08 00:00:00.000000' AS TIMESTAMPNTZ)
        )
        OR (
          ts >= CAST('2026-10-14 00:00:00.000000' AS TIMESTAMPNTZ)
          AND ts < CAST('2026-10-15 00:00:00.000000' AS TIMESTAMPNTZ)
        )
      )
  ) AS sample_pairs
), segmented AS (
  /* One copy of each request per slice set (and 'all'): ranks and quantiles need */
  /* the rows of each segment together. `paired` marks requests with two scores. */
  SELECT
    sample,
    'all' AS segment,
    has_production,
    has_shadow,
    p,
    s,
    has_production AND has_shadow AND NOT p IS NULL AND NOT s IS NULL AS paired
  FROM pairs
  UNION ALL
  SELECT
    sample,
    'country=' || COALESCE(CAST("country" AS VARCHAR), '<null>') AS segment,
    has_production,
    has_shadow,
    p,
    s,
    has_production AND has_shadow AND NOT p IS NULL AND NOT s IS NULL AS paired
  FROM pairs
  UNION ALL
  SELECT
    sample,
    'device=' || COALESCE(CAST("device" AS VARCHAR), '<null>') AS segment,
    has_production,
    has_shadow,
    p,
    s,
    has_production AND has_shadow AND NOT p IS NULL AND NOT s IS NULL AS paired
  FROM pairs
), ranked AS (
  /* Mid-ranks within each segment (ties get the mean of the ranks they span), for */
  /* Spearman's ρ = Pearson's r of the ranks, as scipy.stats.spearmanr. */
  SELECT
    *,
    RANK() OVER (PARTITION BY sample, segment, paired ORDER BY p) + (
      COUNT(*) OVER (PARTITION BY sample, segment, paired, p) - 1
    ) / 2.0 AS rank_p,
    RANK() OVER (PARTITION BY sample, segment, paired ORDER BY s) + (
      COUNT(*) OVER (PARTITION BY sample, segment, paired, s) - 1
    ) / 2.0 AS rank_s,
    ROW_NUMBER() OVER (PARTITION BY sample, segment, paired ORDER BY ABS(s - p)) /* For the 95th percentile of |s − p|: each delta's 0-based position in sorted */ /* order, and h = 0.95·(n − 1), the position the percentile sits at. */ - 1 AS delta_index,
    (
      COUNT(*) OVER (PARTITION BY sample, segment, paired) - 1
    ) * CAST(0.95 AS DOUBLE) AS delta_h
  FROM segmented
), segment_stats AS (
  SELECT
    sample,
    segment,
    COUNT(CASE WHEN has_production THEN 1 END) AS production,
    COUNT(CASE WHEN has_production AND NOT has_shadow THEN 1 END) AS production_only,
    COUNT(CASE WHEN has_shadow AND NOT has_production THEN 1 END) AS shadow_only,
    COUNT(CASE WHEN has_production AND has_shadow THEN 1 END) AS paired,
    COUNT(CASE WHEN paired THEN 1 END) AS compared,
    COUNT(CASE WHEN paired AND (
      p >= 0.5
    ) <> (
      s >= 0.5
    ) THEN 1 END) AS disagree,
    COUNT(CASE WHEN paired AND p < 0.5 AND s >= 0.5 THEN 1 END) AS to_positive,
    COUNT(CASE WHEN paired AND p >= 0.5 AND s < 0.5 THEN 1 END) AS to_negative,
    SUM(CASE WHEN paired THEN ABS(s - p) END) AS abs_delta_sum,
    SUM(CASE WHEN paired THEN s - p END) AS delta_sum,
    MAX(CASE WHEN paired AND delta_index = FLOOR(delta_h) THEN ABS(s - p) END) /* QUANTILE_CONT(|s − p|, 0.95), written out so that every engine computes it */ /* exactly (Spark and Trino only approximate percentiles): the sorted deltas at */ /* positions ⌊h⌋ and ⌊h⌋ + 1, interpolated linearly (Hyndman & Fan's type 7, */ /* numpy's default). */ + (
      MAX(CASE WHEN paired THEN delta_h END) - FLOOR(MAX(CASE WHEN paired THEN delta_h END))
    ) * COALESCE(
      MAX(CASE WHEN paired AND delta_index = FLOOR(delta_h) + 1 THEN ABS(s - p) END) - MAX(CASE WHEN paired AND delta_index = FLOOR(delta_h) THEN ABS(s - p) END),
      0
    ) AS p95_abs_delta,
    COUNT(DISTINCT CASE WHEN paired THEN p END) AS distinct_prod,
    COUNT(DISTINCT CASE WHEN paired THEN s END) AS distinct_shadow,
    CORR(CASE WHEN paired THEN s END, CASE WHEN paired THEN p END) AS pearson,
    CORR(CASE WHEN paired THEN rank_s END, CASE WHEN paired THEN rank_p END) AS spearman
  FROM ranked
  GROUP BY
    sample,
    segment
), sums /* Every segment in every sample, the 'all' segment always (so an empty window says */ /* so): a sample without rows in a segment counts 0. */ AS (
  SELECT
    k.segment,
    s.sample,
    COALESCE(t.production, 0) AS production,
    COALESCE(t.production_only, 0) AS production_only,
    COALESCE(t.shadow_only, 0) AS shadow_only,
    COALESCE(t.paired, 0) AS paired,
    COALESCE(t.compared, 0) AS compared,
    COALESCE(t.disagree, 0) AS disagree,
    COALESCE(t.to_positive, 0) AS to_positive,
    COALESCE(t.to_negative, 0) AS to_negative,
    COALESCE(t.abs_delta_sum, 0) AS abs_delta_sum,
    COALESCE(t.delta_sum, 0) AS delta_sum,
    COALESCE(t.p95_abs_delta, 0) AS p95_abs_delta,
    COALESCE(t.distinct_prod, 0) AS distinct_prod,
    COALESCE(t.distinct_shadow, 0) AS distinct_shadow,
    COALESCE(t.pearson, 0) AS pearson,
    COALESCE(t.spearman, 0) AS spearman
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
), formulas /* Per sample, segment and metric: the value, its sample size (shadow_coverage counts */ /* production requests, everything else the compared ones), and why it is undefined. */ AS (
  SELECT
    sample,
    segment,
    m.metric,
    production,
    production_only,
    shadow_only,
    paired,
    compared,
    distinct_prod,
    CASE m.metric
      WHEN 'shadow_coverage'
      THEN paired * 1.0 / NULLIF(production, 0)
      WHEN 'disagreement_rate'
      THEN disagree * 1.0 / NULLIF(compared, 0)
      WHEN 'flip_to_positive'
      THEN to_positive * 1.0 / NULLIF(compared, 0)
      WHEN 'flip_to_negative'
      THEN to_negative * 1.0 / NULLIF(compared, 0)
      WHEN 'mean_abs_delta'
      THEN abs_delta_sum / NULLIF(compared, 0)
      WHEN 'p95_abs_delta'
      THEN CASE WHEN compared > 0 THEN p95_abs_delta END
      WHEN 'mean_delta'
      THEN delta_sum / NULLIF(compared, 0)
      WHEN 'pearson'
      THEN CASE WHEN distinct_prod > 1 AND distinct_shadow > 1 THEN pearson END
      WHEN 'spearman'
      THEN CASE WHEN distinct_prod > 1 AND distinct_shadow > 1 THEN spearman END
    END AS value,
    CASE WHEN m.metric = 'shadow_coverage' THEN production ELSE compared END AS n
  FROM sums
  CROSS JOIN (VALUES
    ('shadow_coverage'),
    ('disagreement_rate'),
    ('flip_to_positive'),
    ('flip_to_negative'),
    ('mean_abs_delta'),
    ('p95_abs_delta'),
    ('mean_delta'),
    ('pearson'),
    ('spearman')) AS m(metric)
), side_by_side /* The window's value beside the baseline's (when the monitor has a baseline), and the */ /* pooled proportion p̄ = (v₁n₁ + v₂n₂) / (n₁ + n₂) of the rates' z test. */ AS (
  SELECT
    c.segment,
    c.metric,
    c.value,
    c.n AS sample_size,
    b.value AS baseline_value,
    b.n AS baseline_size,
    c.production,
    c.compared,
    c.distinct_prod,
    c.paired,
    c.production_only,
    c.shadow_only,
    (
      c.value * c.n + b.value * b.n
    ) / NULLIF(c.n + b.n, 0) AS pooled_rate
  FROM formulas AS c
  LEFT JOIN formulas AS b
    ON b.segment = c.segment AND b.metric = c.metric AND b.sample = 'base'
  WHERE
    c.sample = 'cur'
)
SELECT
  segment,
  '' AS feature,
  metric,
  value,
  sample_size,
  baseline_value,
  baseline_size,
  CASE
    WHEN metric IN ('shadow_coverage', 'disagreement_rate', 'flip_to_positive', 'flip_to_negative')
    THEN 'z'
  END AS test,
  CASE
    WHEN metric IN ('shadow_coverage', 'disagreement_rate', 'flip_to_positive', 'flip_to_negative')
    THEN CASE
      WHEN value IS NULL OR baseline_value IS NULL
      THEN NULL
      WHEN value = baseline_value
      THEN 0.0
      ELSE (
        value - baseline_value
      ) / NULLIF(
        SQRT(
          pooled_rate * (
            1 - pooled_rate
          ) * (
            1.0 / sample_size + 1.0 / baseline_size
          )
        ),
        0
      )
    END
  END AS statistic, /* The rates' pooled two-proportion z, (v₁ − v₂) / √(p̄(1 − p̄)(1/n₁ + 1/n₂)): */ /* 0 when the rates are equal, NULL when either is undefined. */
  CASE
    WHEN NOT value IS NULL
    THEN NULL
    WHEN production = 0
    THEN 'no production request in the window'
    WHEN compared = 0
    THEN 'no request has both a production and a shadow score'
    WHEN distinct_prod < 2
    THEN 'production\'s scores are constant: correlation is undefined'
    ELSE 'the shadow\'s scores are constant: correlation is undefined'
  END AS reason,
  CASE
    WHEN metric = 'shadow_coverage'
    THEN TO_JSON(
      OBJECT_CONSTRUCT_KEEP_NULL('paired', paired, 'production_only', production_only, 'shadow_only', shadow_only)
    )
  END AS detail
FROM side_by_side
ORDER BY
  segment,
  metric
