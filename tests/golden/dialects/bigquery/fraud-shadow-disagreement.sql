WITH pairs AS (
  /* The window's requests ('cur') and the baseline's ('base'), one row each, with */
  /* either side possibly missing. */
  SELECT
    'cur' AS sample,
    `country`,
    `device`,
    has_production,
    has_shadow,
    CASE
      WHEN NOT IS_INF(CAST(`prod_score` AS FLOAT64))
      AND NOT IS_NAN(CAST(`prod_score` AS FLOAT64))
      THEN CAST(`prod_score` AS FLOAT64)
    END AS p,
    CASE
      WHEN NOT IS_INF(CAST(`shadow_score` AS FLOAT64))
      AND NOT IS_NAN(CAST(`shadow_score` AS FLOAT64))
      THEN CAST(`shadow_score` AS FLOAT64)
    END AS s
  FROM (
    SELECT
      *
    FROM `shadow_pairs`
    WHERE
      `model_name` = 'fraud'
      AND (
        (
          ts >= CAST('2026-10-21 00:00:00.000000' AS DATETIME)
          AND ts < CAST('2026-10-22 00:00:00.000000' AS DATETIME)
        )
      )
  ) AS sample_pairs
  UNION ALL
  SELECT
    'base' AS sample,
    `country`,
    `device`,
    has_production,
    has_shadow,
    CASE
      WHEN NOT IS_INF(CAST(`prod_score` AS FLOAT64))
      AND NOT IS_NAN(CAST(`prod_score` AS FLOAT64))
      THEN CAST(`prod_score` AS FLOAT64)
    END AS p,
    CASE
      WHEN NOT IS_INF(CAST(`shadow_score` AS FLOAT64))
      AND NOT IS_NAN(CAST(`shadow_score` AS FLOAT64))
      THEN CAST(`shadow_score` AS FLOAT64)
    END AS s
  FROM (
    SELECT
      *
    FROM `shadow_pairs`
    WHERE
      `model_name` = 'fraud'
      AND (
        (
          ts >= CAST('2026-09-23 00:00:00.000000' AS DATETIME)
          AND ts < CAST('2026-09-24 00:00:00.000000' AS DATETIME)
        )
        OR (
          ts >= CAST('2026-09-30 00:00:00.000000' AS DATETIME)
          AND ts < CAST('2026-10-01 00:00:00.000000' AS DATETIME)
        )
        OR (
          ts >= CAST('2026-10-07 00:00:00.000000' AS DATETIME)
          AND ts < CAST('2026-10-08 00:00:00.000000' AS DATETIME)
        )
        OR (
          ts >= CAST('2026-10-14 00:00:00.000000' AS DATETIME)
          AND ts < CAST('2026-10-15 00:00:00.000000' AS DATETIME)
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
    'country=' || COALESCE(CAST(`country` AS STRING), '<null>') AS segment,
    has_production,
    has_shadow,
    p,
    s,
    has_production AND has_shadow AND NOT p IS NULL AND NOT s IS NULL AS paired
  FROM pairs
  UNION ALL
  SELECT
    sample,
    'device=' || COALESCE(CAST(`device` AS STRING), '<null>') AS segment,
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
    RANK() OVER (
      PARTITION BY sample, segment, paired
      ORDER BY CASE WHEN p IS NULL THEN 1 ELSE 0 END ASC, p ASC
    ) + (
      COUNT(*) OVER (PARTITION BY sample, segment, paired, p) - 1
    ) / 2.0 AS rank_p,
    RANK() OVER (
      PARTITION BY sample, segment, paired
      ORDER BY CASE WHEN s IS NULL THEN 1 ELSE 0 END ASC, s ASC
    ) + (
      COUNT(*) OVER (PARTITION BY sample, segment, paired, s) - 1
    ) / 2.0 AS rank_s,
    ROW_NUMBER() OVER (
      PARTITION BY sample, segment, paired
      ORDER BY CASE WHEN ABS(s - p) IS NULL THEN 1 ELSE 0 END ASC, ABS(s - p) ASC
    ) /* For the 95th percentile of |s − p|: each delta's 0-based position in sorted */ /* order, and h = 0.95·(n − 1), the position the percentile sits at. */ - 1 AS delta_index,
    (
      COUNT(*) OVER (PARTITION BY sample, segment, paired) - 1
    ) * CAST(0.95 AS FLOAT64) AS delta_h
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
), paired AS (
  /* One row per segment, the window's sums (cur_) beside the baseline's (base_); the */
  /* 'all' segment always exists, so an empty window says so. */
  SELECT
    k.segment,
    COALESCE(c.`production`, 0) AS `cur_production`,
    COALESCE(b.`production`, 0) AS `base_production`,
    COALESCE(c.`production_only`, 0) AS `cur_production_only`,
    COALESCE(b.`production_only`, 0) AS `base_production_only`,
    COALESCE(c.`shadow_only`, 0) AS `cur_shadow_only`,
    COALESCE(b.`shadow_only`, 0) AS `base_shadow_only`,
    COALESCE(c.`paired`, 0) AS `cur_paired`,
    COALESCE(b.`paired`, 0) AS `base_paired`,
    COALESCE(c.`compared`, 0) AS `cur_compared`,
    COALESCE(b.`compared`, 0) AS `base_compared`,
    COALESCE(c.`disagree`, 0) AS `cur_disagree`,
    COALESCE(b.`disagree`, 0) AS `base_disagree`,
    COALESCE(c.`to_positive`, 0) AS `cur_to_positive`,
    COALESCE(b.`to_positive`, 0) AS `base_to_positive`,
    COALESCE(c.`to_negative`, 0) AS `cur_to_negative`,
    COALESCE(b.`to_negative`, 0) AS `base_to_negative`,
    COALESCE(c.`abs_delta_sum`, 0) AS `cur_abs_delta_sum`,
    COALESCE(b.`abs_delta_sum`, 0) AS `base_abs_delta_sum`,
    COALESCE(c.`delta_sum`, 0) AS `cur_delta_sum`,
    COALESCE(b.`delta_sum`, 0) AS `base_delta_sum`,
    COALESCE(c.`p95_abs_delta`, 0) AS `cur_p95_abs_delta`,
    COALESCE(b.`p95_abs_delta`, 0) AS `base_p95_abs_delta`,
    COALESCE(c.`distinct_prod`, 0) AS `cur_distinct_prod`,
    COALESCE(b.`distinct_prod`, 0) AS `base_distinct_prod`,
    COALESCE(c.`distinct_shadow`, 0) AS `cur_distinct_shadow`,
    COALESCE(b.`distinct_shadow`, 0) AS `base_distinct_shadow`,
    COALESCE(c.`pearson`, 0) AS `cur_pearson`,
    COALESCE(b.`pearson`, 0) AS `base_pearson`,
    COALESCE(c.`spearman`, 0) AS `cur_spearman`,
    COALESCE(b.`spearman`, 0) AS `base_spearman`
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
    'shadow_coverage' AS metric,
    cur_paired * 1.0 / NULLIF(cur_production, 0) AS value,
    cur_production AS sample_size,
    base_paired * 1.0 / NULLIF(base_production, 0) AS baseline_value,
    base_production AS baseline_size,
    CASE
      WHEN cur_paired * 1.0 / NULLIF(cur_production, 0) IS NULL
      THEN 'no production request in the window'
    END AS reason,
    `cur_production_only`,
    `base_production_only`,
    `cur_shadow_only`,
    `base_shadow_only`,
    `cur_paired`,
    `base_paired`
  FROM paired
  UNION ALL
  SELECT
    segment,
    'disagreement_rate' AS metric,
    cur_disagree * 1.0 / NULLIF(cur_compared, 0) AS value,
    cur_compared AS sample_size,
    base_disagree * 1.0 / NULLIF(base_compared, 0) AS baseline_value,
    base_compared AS baseline_size,
    CASE
      WHEN cur_disagree * 1.0 / NULLIF(cur_compared, 0) IS NULL
      THEN CASE
        WHEN cur_production = 0
        THEN 'no production request in the window'
        ELSE 'no request has both a production and a shadow score'
      END
    END AS reason,
    `cur_production_only`,
    `base_production_only`,
    `cur_shadow_only`,
    `base_shadow_only`,
    `cur_paired`,
    `base_paired`
  FROM paired
  UNION ALL
  SELECT
    segment,
    'flip_to_positive' AS metric,
    cur_to_positive * 1.0 / NULLIF(cur_compared, 0) AS value,
    cur_compared AS sample_size,
    base_to_positive * 1.0 / NULLIF(base_compared, 0) AS baseline_value,
    base_compared AS baseline_size,
    CASE
      WHEN cur_to_positive * 1.0 / NULLIF(cur_compared, 0) IS NULL
      THEN CASE
        WHEN cur_production = 0
        THEN 'no production request in the window'
        ELSE 'no request has both a production and a shadow score'
      END
    END AS reason,
    `cur_production_only`,
    `base_production_only`,
    `cur_shadow_only`,
    `base_shadow_only`,
    `cur_paired`,
    `base_paired`
  FROM paired
  UNION ALL
  SELECT
    segment,
    'flip_to_negative' AS metric,
    cur_to_negative * 1.0 / NULLIF(cur_compared, 0) AS value,
    cur_compared AS sample_size,
    base_to_negative * 1.0 / NULLIF(base_compared, 0) AS baseline_value,
    base_compared AS baseline_size,
    CASE
      WHEN cur_to_negative * 1.0 / NULLIF(cur_compared, 0) IS NULL
      THEN CASE
        WHEN cur_production = 0
        THEN 'no production request in the window'
        ELSE 'no request has both a production and a shadow score'
      END
    END AS reason,
    `cur_production_only`,
    `base_production_only`,
    `cur_shadow_only`,
    `base_shadow_only`,
    `cur_paired`,
    `base_paired`
  FROM paired
  UNION ALL
  SELECT
    segment,
    'mean_abs_delta' AS metric,
    cur_abs_delta_sum / NULLIF(cur_compared, 0) AS value,
    cur_compared AS sample_size,
    base_abs_delta_sum / NULLIF(base_compared, 0) AS baseline_value,
    base_compared AS baseline_size,
    CASE
      WHEN cur_abs_delta_sum / NULLIF(cur_compared, 0) IS NULL
      THEN CASE
        WHEN cur_production = 0
        THEN 'no production request in the window'
        ELSE 'no request has both a production and a shadow score'
      END
    END AS reason,
    `cur_production_only`,
    `base_production_only`,
    `cur_shadow_only`,
    `base_shadow_only`,
    `cur_paired`,
    `base_paired`
  FROM paired
  UNION ALL
  SELECT
    segment,
    'p95_abs_delta' AS metric,
    CASE WHEN cur_compared > 0 THEN cur_p95_abs_delta END AS value,
    cur_compared AS sample_size,
    CASE WHEN base_compared > 0 THEN base_p95_abs_delta END AS baseline_value,
    base_compared AS baseline_size,
    CASE
      WHEN CASE WHEN cur_compared > 0 THEN cur_p95_abs_delta END IS NULL
      THEN CASE
        WHEN cur_production = 0
        THEN 'no production request in the window'
        ELSE 'no request has both a production and a shadow score'
      END
    END AS reason,
    `cur_production_only`,
    `base_production_only`,
    `cur_shadow_only`,
    `base_shadow_only`,
    `cur_paired`,
    `base_paired`
  FROM paired
  UNION ALL
  SELECT
    segment,
    'mean_delta' AS metric,
    cur_delta_sum / NULLIF(cur_compared, 0) AS value,
    cur_compared AS sample_size,
    base_delta_sum / NULLIF(base_compared, 0) AS baseline_value,
    base_compared AS baseline_size,
    CASE
      WHEN cur_delta_sum / NULLIF(cur_compared, 0) IS NULL
      THEN CASE
        WHEN cur_production = 0
        THEN 'no production request in the window'
        ELSE 'no request has both a production and a shadow score'
      END
    END AS reason,
    `cur_production_only`,
    `base_production_only`,
    `cur_shadow_only`,
    `base_shadow_only`,
    `cur_paired`,
    `base_paired`
  FROM paired
  UNION ALL
  SELECT
    segment,
    'pearson' AS metric,
    CASE WHEN cur_distinct_prod > 1 AND cur_distinct_shadow > 1 THEN cur_pearson END AS value,
    cur_compared AS sample_size,
    CASE WHEN base_distinct_prod > 1 AND base_distinct_shadow > 1 THEN base_pearson END AS baseline_value,
    base_compared AS baseline_size,
    CASE
      WHEN CASE WHEN cur_distinct_prod > 1 AND cur_distinct_shadow > 1 THEN cur_pearson END IS NULL
      THEN CASE
        WHEN cur_compared = 0
        THEN CASE
          WHEN cur_production = 0
          THEN 'no production request in the window'
          ELSE 'no request has both a production and a shadow score'
        END
        WHEN cur_distinct_prod < 2
        THEN 'production\'s scores are constant: correlation is undefined'
        ELSE 'the shadow\'s scores are constant: correlation is undefined'
      END
    END AS reason,
    `cur_production_only`,
    `base_production_only`,
    `cur_shadow_only`,
    `base_shadow_only`,
    `cur_paired`,
    `base_paired`
  FROM paired
  UNION ALL
  SELECT
    segment,
    'spearman' AS metric,
    CASE WHEN cur_distinct_prod > 1 AND cur_distinct_shadow > 1 THEN cur_spearman END AS value,
    cur_compared AS sample_size,
    CASE
      WHEN base_distinct_prod > 1 AND base_distinct_shadow > 1
      THEN base_spearman
    END AS baseline_value,
    base_compared AS baseline_size,
    CASE
      WHEN CASE WHEN cur_distinct_prod > 1 AND cur_distinct_shadow > 1 THEN cur_spearman END IS NULL
      THEN CASE
        WHEN cur_compared = 0
        THEN CASE
          WHEN cur_production = 0
          THEN 'no production request in the window'
          ELSE 'no request has both a production and a shadow score'
        END
        WHEN cur_distinct_prod < 2
        THEN 'production\'s scores are constant: correlation is undefined'
        ELSE 'the shadow\'s scores are constant: correlation is undefined'
      END
    END AS reason,
    `cur_production_only`,
    `base_production_only`,
    `cur_shadow_only`,
    `base_shadow_only`,
    `cur_paired`,
    `base_paired`
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
          (
            value * sample_size + baseline_value * baseline_size
          ) / (
            sample_size + baseline_size
          ) * (
            1 - (
              value * sample_size + baseline_value * baseline_size
            ) / (
              sample_size + baseline_size
            )
          ) * (
            1.0 / sample_size + 1.0 / baseline_size
          )
        ),
        0
      )
    END
  END AS statistic,
  reason,
  CASE
    WHEN metric = 'shadow_coverage'
    THEN TO_JSON_STRING(
      JSON_OBJECT(
        'paired',
        cur_paired,
        'production_only',
        cur_production_only,
        'shadow_only',
        cur_shadow_only
      )
    )
  END AS detail
FROM metric_rows
ORDER BY
  segment NULLS LAST,
  metric NULLS LAST
