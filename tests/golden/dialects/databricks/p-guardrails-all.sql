WITH current_window AS (
  SELECT
    *
  FROM `prediction_outcomes`
  WHERE
    `model_name` = 'fraud'
    AND `role` = 'production'
    AND (
      (
        ts >= CAST('2026-10-01 00:00:00.000000' AS TIMESTAMP_NTZ)
        AND ts < CAST('2026-10-08 00:00:00.000000' AS TIMESTAMP_NTZ)
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
        ts >= CAST('2026-09-03 00:00:00.000000' AS TIMESTAMP_NTZ)
        AND ts < CAST('2026-09-10 00:00:00.000000' AS TIMESTAMP_NTZ)
      )
      OR (
        ts >= CAST('2026-09-10 00:00:00.000000' AS TIMESTAMP_NTZ)
        AND ts < CAST('2026-09-17 00:00:00.000000' AS TIMESTAMP_NTZ)
      )
      OR (
        ts >= CAST('2026-09-17 00:00:00.000000' AS TIMESTAMP_NTZ)
        AND ts < CAST('2026-09-24 00:00:00.000000' AS TIMESTAMP_NTZ)
      )
      OR (
        ts >= CAST('2026-09-24 00:00:00.000000' AS TIMESTAMP_NTZ)
        AND ts < CAST('2026-10-01 00:00:00.000000' AS TIMESTAMP_NTZ)
      )
    )
), scored /* One row per prediction of each sample: the slice columns, the score (NaN, ±inf as */ /* NULL), the sample's operating threshold `cut`, the label, and whether it has matured */ /* at the run's time T (ts + label_maturity <= T). */ AS (
  SELECT
    'cur' AS sample,
    `country`,
    CASE
      WHEN (
        NOT CAST(`score` AS DOUBLE) IN (CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE), CAST('NaN' AS DOUBLE))
      )
      THEN CAST(`score` AS DOUBLE)
    END AS score,
    CAST(CAST(0.5 AS DOUBLE) AS DOUBLE) AS cut,
    CASE
      WHEN (
        NOT CAST(`score` AS DOUBLE) IN (CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE), CAST('NaN' AS DOUBLE))
      )
      THEN CAST(`score` AS DOUBLE)
    END >= CAST(CAST(0.5 AS DOUBLE) AS DOUBLE) AS above_cut,
    CAST(`label` AS DOUBLE) AS label,
    ts <= CAST('2026-10-08 06:00:00.000000' AS TIMESTAMP_NTZ) AS mature
  FROM current_window
  UNION ALL
  SELECT
    'base' AS sample,
    `country`,
    CASE
      WHEN (
        NOT CAST(`score` AS DOUBLE) IN (CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE), CAST('NaN' AS DOUBLE))
      )
      THEN CAST(`score` AS DOUBLE)
    END AS score,
    CAST(CAST(0.5 AS DOUBLE) AS DOUBLE) AS cut,
    CASE
      WHEN (
        NOT CAST(`score` AS DOUBLE) IN (CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE), CAST('NaN' AS DOUBLE))
      )
      THEN CAST(`score` AS DOUBLE)
    END >= CAST(CAST(0.5 AS DOUBLE) AS DOUBLE) AS above_cut,
    CAST(`label` AS DOUBLE) AS label,
    ts <= CAST('2026-10-08 06:00:00.000000' AS TIMESTAMP_NTZ) AS mature
  FROM baseline_window
), score_groups /* One GROUP BY GROUPING SETS pass reduces the rows to (sample, segment, above_cut, and */ /* with auc, distinct score) with counts; every metric below is a sum over these groups, */ /* so each slice and metric costs no extra scan. Label 1 is a positive, 0 a negative; */ /* only mature rows count as labelled; any other label (NULL: no feedback yet) is */ /* unlabelled. */ AS (
  SELECT
    sample,
    CASE
      WHEN GROUPING(`country`) = 0
      THEN 'country=' || COALESCE(CAST(`country` AS STRING), '<null>')
      ELSE 'all'
    END AS segment,
    cut,
    above_cut,
    score,
    COUNT(*) AS n_rows,
    COUNT(CASE WHEN mature THEN 1 END) AS n_mature,
    COUNT(CASE WHEN mature AND label = 1 THEN 1 END) AS n_pos,
    COUNT(CASE WHEN mature AND label = 0 THEN 1 END) AS n_neg,
    COUNT(CASE WHEN mature AND NOT label IN (0, 1) THEN 1 END) AS n_other
  FROM scored
  GROUP BY
    GROUPING SETS (
      (sample, cut, above_cut, score),
      (`country`, sample, cut, above_cut, score)
    )
), ranked AS (
  /* Negatives scored strictly below each distinct score. AUC is the Mann–Whitney */
  /* statistic: the share of (positive, negative) pairs ranked right, a tie counting */
  /* ½, which is the ROC curve's trapezoid area (mid-ranks for ties). */
  SELECT
    *,
    COALESCE(
      SUM(n_neg) OVER (
        PARTITION BY sample, segment
        ORDER BY score NULLS LAST
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS neg_below
  FROM score_groups
), segment_stats /* Per sample and segment, the sums every metric is written over. A prediction is */ /* positive (flagged) when score >= cut; pos and neg count the labelled ones that have */ /* a score. */ AS (
  SELECT
    sample,
    segment,
    SUM(CASE WHEN NOT above_cut IS NULL THEN n_rows ELSE 0 END) AS scored,
    SUM(CASE WHEN above_cut THEN n_rows ELSE 0 END) AS flagged,
    SUM(n_mature) AS mature,
    SUM(n_pos + n_neg) AS labelled,
    SUM(n_other) AS other_labels,
    SUM(CASE WHEN NOT above_cut IS NULL THEN n_pos ELSE 0 END) AS pos,
    SUM(CASE WHEN NOT above_cut IS NULL THEN n_neg ELSE 0 END) AS neg,
    SUM(CASE WHEN above_cut THEN n_pos ELSE 0 END) AS tp,
    SUM(CASE WHEN above_cut THEN n_neg ELSE 0 END) AS fp,
    SUM(
      CASE
        WHEN NOT above_cut IS NULL
        THEN n_pos * (
          neg_below + CAST(0.5 AS DOUBLE) * n_neg
        )
        ELSE 0
      END
    ) AS auc_pairs /* Σ over positives of the negatives ranked below them (ties ½). */
  FROM ranked
  GROUP BY
    sample,
    segment
), sums /* Every segment in both samples, the 'all' segment always (so an empty window says */ /* so): a sample without rows in a segment sums to 0. */ AS (
  SELECT
    k.segment,
    s.sample,
    COALESCE(t.scored, 0) AS scored,
    COALESCE(t.flagged, 0) AS flagged,
    COALESCE(t.mature, 0) AS mature,
    COALESCE(t.labelled, 0) AS labelled,
    COALESCE(t.other_labels, 0) AS other_labels,
    COALESCE(t.pos, 0) AS pos,
    COALESCE(t.neg, 0) AS neg,
    COALESCE(t.tp, 0) AS tp,
    COALESCE(t.fp, 0) AS fp,
    COALESCE(t.auc_pairs, 0) AS auc_pairs
  FROM (
    SELECT
      segment
    FROM segment_stats
    UNION
    SELECT
      'all'
  ) AS k
  CROSS JOIN VALUES
    ('cur'),
    ('base') AS s(sample)
  LEFT JOIN segment_stats AS t
    ON t.segment = k.segment AND t.sample = s.sample
), formulas /* Per sample, segment and metric: the value and its sample size, the metric's */ /* denominator (precision counts predicted positives, recall actual ones, auc the */ /* smaller class: one positive among thousands of negatives ranks nothing). */ AS (
  SELECT
    sample,
    segment,
    m.metric,
    other_labels,
    mature,
    labelled,
    pos,
    neg,
    CASE m.metric
      WHEN 'accuracy'
      THEN (
        tp + neg - fp
      ) * CAST(1.0 AS DOUBLE) / NULLIF(pos + neg, 0)
      WHEN 'precision'
      THEN tp * CAST(1.0 AS DOUBLE) / NULLIF(tp + fp, 0)
      WHEN 'recall'
      THEN tp * CAST(1.0 AS DOUBLE) / NULLIF(pos, 0)
      WHEN 'fpr'
      THEN fp * CAST(1.0 AS DOUBLE) / NULLIF(neg, 0)
      WHEN 'positive_rate'
      THEN flagged * CAST(1.0 AS DOUBLE) / NULLIF(scored, 0)
      WHEN 'base_rate'
      THEN pos * CAST(1.0 AS DOUBLE) / NULLIF(pos + neg, 0)
      WHEN 'auc'
      THEN auc_pairs * CAST(1.0 AS DOUBLE) / NULLIF(pos * neg, 0)
      WHEN 'label_coverage'
      THEN labelled * CAST(1.0 AS DOUBLE) / NULLIF(mature, 0)
    END AS value,
    CASE m.metric
      WHEN 'precision'
      THEN tp + fp
      WHEN 'recall'
      THEN pos
      WHEN 'fpr'
      THEN neg
      WHEN 'positive_rate'
      THEN scored
      WHEN 'auc'
      THEN LEAST(pos, neg)
      WHEN 'label_coverage'
      THEN mature
      ELSE pos + neg
    END AS n
  FROM sums
  CROSS JOIN VALUES
    ('positive_rate'),
    ('precision'),
    ('recall'),
    ('auc') AS m(metric)
), metric_values /* A label that is neither 0 nor 1 (-1/+1, a probability, a class id) means these are */ /* not binary outcomes: every label metric says so instead of reading them wrong. Why */ /* a value is undefined goes in `reason`. */ AS (
  SELECT
    sample,
    segment,
    metric,
    n,
    pos,
    neg,
    CASE
      WHEN other_labels = 0 OR metric IN ('positive_rate', 'label_coverage')
      THEN value
    END AS value,
    CASE
      WHEN other_labels = 0 OR metric IN ('positive_rate', 'label_coverage')
      THEN CASE
        WHEN NOT value IS NULL
        THEN NULL
        WHEN metric = 'positive_rate'
        THEN 'the window has no scored predictions'
        WHEN mature = 0
        THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
        WHEN labelled = 0
        THEN 'no mature prediction has a 0/1 label (feedback missing?)'
        WHEN pos + neg = 0
        THEN 'no mature labelled prediction has a score'
        WHEN metric = 'precision'
        THEN 'no mature labelled prediction scored at or above the threshold'
        WHEN metric = 'recall'
        THEN 'no actual positive among the mature labelled predictions'
        WHEN metric = 'fpr'
        THEN 'no actual negative among the mature labelled predictions'
        WHEN metric = 'auc' AND pos = 0
        THEN 'AUC is undefined: every mature labelled prediction is negative'
        WHEN metric = 'auc'
        THEN 'AUC is undefined: every mature labelled prediction is positive'
      END
      ELSE CAST(other_labels AS STRING) || ' mature label(s) are neither 0 nor 1: the classification metrics need 0/1 labels'
    END AS reason
  FROM formulas
), sides /* Each side's 95% interval (value's and baseline's alike), clamped to [0, 1]: at v = 0 */ /* or 1 rounding can step a hair outside. For a rate, Wilson's score interval */ /* (v + z²/2n ± z·√(v(1−v)/n + z²/4n²)) / (1 + z²/n); for auc, v ± z·SE with the */ /* Hanley–McNeil variance at the side's own AUC. NULL without a value or a sample (and */ /* no division by zero on strict engines). */ AS (
  SELECT
    *,
    CASE
      WHEN value IS NULL OR n = 0
      THEN NULL
      WHEN metric = 'auc'
      THEN LEAST(
        CAST(1.0 AS DOUBLE),
        GREATEST(CAST(0.0 AS DOUBLE), value - CAST(1.959963984540054 AS DOUBLE) * auc_se)
      )
      ELSE LEAST(
        CAST(1.0 AS DOUBLE),
        GREATEST(
          CAST(0.0 AS DOUBLE),
          (
            wilson_centre - CAST(1.959963984540054 AS DOUBLE) * wilson_root
          ) / wilson_scale
        )
      )
    END AS low,
    CASE
      WHEN value IS NULL OR n = 0
      THEN NULL
      WHEN metric = 'auc'
      THEN LEAST(
        CAST(1.0 AS DOUBLE),
        GREATEST(CAST(0.0 AS DOUBLE), value + CAST(1.959963984540054 AS DOUBLE) * auc_se)
      )
      ELSE LEAST(
        CAST(1.0 AS DOUBLE),
        GREATEST(
          CAST(0.0 AS DOUBLE),
          (
            wilson_centre + CAST(1.959963984540054 AS DOUBLE) * wilson_root
          ) / wilson_scale
        )
      )
    END AS high
  FROM (
    SELECT
      *,
      CASE
        WHEN metric = 'auc'
        THEN SQRT(
          GREATEST(
            (
              value * (
                1 - value
              ) + (
                pos - 1
              ) * (
                value / (
                  2 - value
                ) - value * value
              ) + (
                neg - 1
              ) * (
                2 * value * value / (
                  1 + value
                ) - value * value
              )
            ) / NULLIF(pos * neg, 0),
            0
          )
        )
      END AS auc_se,
      CASE
        WHEN n > 0
        THEN value + CAST(3.8414588206941254 AS DOUBLE) / (
          CAST(2.0 AS DOUBLE) * n
        )
      END AS wilson_centre,
      CASE
        WHEN n > 0
        THEN SQRT(
          value * (
            1 - value
          ) / n + CAST(3.8414588206941254 AS DOUBLE) / (
            CAST(4.0 AS DOUBLE) * n * n
          )
        )
      END AS wilson_root,
      CASE WHEN n > 0 THEN 1 + CAST(3.8414588206941254 AS DOUBLE) / n END AS wilson_scale
    FROM metric_values
  ) AS terms
), paired /* The window's (or the shadow's) value beside the baseline's (or production's), with */ /* each side's class counts for AUC's standard errors, and the pooled estimates the z */ /* test takes both variances at: the pooled proportion p̄ = (v₁n₁ + v₂n₂) / (n₁ + n₂) */ /* for a rate, the AUC weighted by P·N for auc. */ AS (
  SELECT
    c.segment,
    c.metric,
    c.value,
    c.n AS sample_size,
    b.value AS baseline_value,
    b.n AS baseline_size,
    c.reason,
    c.pos AS cur_pos,
    c.neg AS cur_neg,
    b.pos AS base_pos,
    b.neg AS base_neg,
    c.low,
    c.high,
    b.low AS baseline_low,
    b.high AS baseline_high,
    (
      c.value * c.n + b.value * b.n
    ) / NULLIF(c.n + b.n, 0) AS pooled_rate,
    (
      c.value * c.pos * c.neg + b.value * b.pos * b.neg
    ) / NULLIF(c.pos * c.neg + b.pos * b.neg, 0) AS pooled_auc
  FROM sides AS c
  JOIN sides AS b
    ON b.segment = c.segment AND b.metric = c.metric AND b.sample = 'base'
  WHERE
    c.sample = 'cur'
), tested /* z (test z; the runner turns it into a two-sided p-value): 0 when the values are */ /* equal, NULL when either is undefined; for a rate, the pooled two-proportion z */ /* (v₁ − v₂) / √(p̄(1 − p̄)(1/n₁ + 1/n₂)); for auc, (A₁ − A₂) / √(SE₁² + SE₂²), both */ /* variances at the pooled AUC, as the two-proportion test pools its proportion: at a */ /* side's own AUC of 0 or 1 the variance is 0, and one misranked positive would look */ /* certain. */ AS (
  SELECT
    *,
    CASE
      WHEN value IS NULL OR baseline_value IS NULL
      THEN NULL
      WHEN value = baseline_value
      THEN CAST(0.0 AS DOUBLE)
      WHEN metric <> 'auc'
      THEN (
        value - baseline_value
      ) / NULLIF(
        SQRT(
          pooled_rate * (
            1 - pooled_rate
          ) * (
            CAST(1.0 AS DOUBLE) / sample_size + CAST(1.0 AS DOUBLE) / baseline_size
          )
        ),
        0
      )
      ELSE (
        value - baseline_value
      ) / NULLIF(
        SQRT(
          GREATEST(
            (
              pooled_auc * (
                1 - pooled_auc
              ) + (
                cur_pos - 1
              ) * (
                pooled_auc / (
                  2 - pooled_auc
                ) - pooled_auc * pooled_auc
              ) + (
                cur_neg - 1
              ) * (
                2 * pooled_auc * pooled_auc / (
                  1 + pooled_auc
                ) - pooled_auc * pooled_auc
              )
            ) / NULLIF(cur_pos * cur_neg, 0),
            0
          ) + GREATEST(
            (
              pooled_auc * (
                1 - pooled_auc
              ) + (
                base_pos - 1
              ) * (
                pooled_auc / (
                  2 - pooled_auc
                ) - pooled_auc * pooled_auc
              ) + (
                base_neg - 1
              ) * (
                2 * pooled_auc * pooled_auc / (
                  1 + pooled_auc
                ) - pooled_auc * pooled_auc
              )
            ) / NULLIF(base_pos * base_neg, 0),
            0
          )
        ),
        0
      )
    END AS statistic
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
  'z' AS test,
  statistic,
  reason,
  CASE
    WHEN NOT value IS NULL
    THEN TO_JSON(
      NAMED_STRUCT(
        'delta',
        (
          value - baseline_value
        ),
        'interval',
        CASE WHEN metric = 'auc' THEN 'Hanley-McNeil 95%' ELSE 'Wilson 95%' END,
        'low',
        low,
        'high',
        high,
        'baseline_low',
        baseline_low,
        'baseline_high',
        baseline_high
      ),
      MAP('ignoreNullFields', 'false')
    )
  END AS detail /* (value − baseline_value) in parentheses: sqlglot reads a bare `value` after a */ /* key as JSON_OBJECT's KEY … VALUE syntax and drops it. */
FROM tested
ORDER BY
  segment NULLS LAST,
  metric NULLS LAST
