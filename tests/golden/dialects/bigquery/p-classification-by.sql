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
    `device`,
    CASE
      WHEN NOT IS_INF(CAST(`score` AS FLOAT64)) AND NOT IS_NAN(CAST(`score` AS FLOAT64))
      THEN CAST(`score` AS FLOAT64)
    END AS score,
    CAST(0.5 AS FLOAT64) AS cut,
    CAST(`label` AS FLOAT64) AS label,
    ts <= CAST('2026-10-08 06:00:00.000000' AS DATETIME) AS mature
  FROM current_window
  UNION ALL
  SELECT
    'base' AS sample,
    `device`,
    CASE
      WHEN NOT IS_INF(CAST(`score` AS FLOAT64)) AND NOT IS_NAN(CAST(`score` AS FLOAT64))
      THEN CAST(`score` AS FLOAT64)
    END AS score,
    CAST(0.5 AS FLOAT64) AS cut,
    CAST(`label` AS FLOAT64) AS label,
    ts <= CAST('2026-10-08 06:00:00.000000' AS DATETIME) AS mature
  FROM baseline_window
), score_groups AS (
  SELECT
    sample,
    CASE
      WHEN GROUPING(`device`) = 0
      THEN 'device=' || COALESCE(CAST(`device` AS STRING), '<null>')
      ELSE 'all'
    END AS segment,
    cut,
    score,
    COUNT(*) AS n_rows,
    COUNT(CASE WHEN mature THEN 1 END) AS n_mature,
    COUNT(CASE WHEN mature AND label = 1 THEN 1 END) AS n_pos,
    COUNT(CASE WHEN mature AND label = 0 THEN 1 END) AS n_neg,
    COUNT(CASE WHEN mature AND NOT label IN (0, 1) THEN 1 END) AS n_other
  FROM scored
  GROUP BY
    GROUPING SETS (
      (sample, cut, score),
      (`device`, sample, cut, score)
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
        ORDER BY CASE WHEN score IS NULL THEN 1 ELSE 0 END ASC, score ASC
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS neg_below
  FROM score_groups
), calibration_bins AS (
  /* ECE's equal-width bins (k/B, (k+1)/B], the first closed at 0, as scikit-learn's */
  /* calibration_curve: per bin, Σ label − Σ score; ECE = Σ_bins |gap| / n. */
  SELECT
    sample,
    segment,
    CASE
      WHEN score <= 0.1
      THEN 0
      WHEN score <= 0.2
      THEN 1
      WHEN score <= 0.3
      THEN 2
      WHEN score <= 0.4
      THEN 3
      WHEN score <= 0.5
      THEN 4
      WHEN score <= 0.6
      THEN 5
      WHEN score <= 0.7
      THEN 6
      WHEN score <= 0.8
      THEN 7
      WHEN score <= 0.9
      THEN 8
      ELSE 9
    END AS bin,
    SUM(n_pos - (
      n_pos + n_neg
    ) * score) AS gap
  FROM score_groups
  WHERE
    NOT score IS NULL
  GROUP BY
    sample,
    segment,
    bin
), segment_stats AS (
  SELECT
    r.sample,
    r.segment,
    SUM(CASE WHEN NOT score IS NULL THEN n_rows ELSE 0 END) AS scored,
    SUM(CASE WHEN score >= cut THEN n_rows ELSE 0 END) AS flagged,
    SUM(n_mature) AS mature,
    SUM(n_pos + n_neg) AS labelled,
    SUM(n_other) AS other_labels,
    SUM(CASE WHEN NOT score IS NULL THEN n_pos ELSE 0 END) AS pos,
    SUM(CASE WHEN NOT score IS NULL THEN n_neg ELSE 0 END) AS neg,
    SUM(CASE WHEN score >= cut THEN n_pos ELSE 0 END) AS tp,
    SUM(CASE WHEN score >= cut THEN n_neg ELSE 0 END) AS fp,
    SUM(
      CASE WHEN NOT score IS NULL THEN n_pos * (
        neg_below + 0.5 * n_neg
      ) ELSE 0 END
    ) AS auc_pairs,
    SUM(CASE WHEN score < 0 OR score > 1 THEN n_pos + n_neg ELSE 0 END) AS not_probability,
    SUM(n_pos * (
      1 - score
    ) * (
      1 - score
    ) + n_neg * score * score) AS brier_sum, /* Brier: Σ (score − label)²; log loss: −Σ ln(the score given to the true */ /* class), clipped to [ε, 1 − ε] with ε = 2⁻⁵² as scikit-learn does. The CASE */ /* is needed: GREATEST and LEAST skip a NULL score instead of returning NULL. */
    -SUM(
      CASE
        WHEN NOT score IS NULL
        THEN n_pos * LN(LEAST(GREATEST(score, 2.220446049250313e-16), 1 - 2.220446049250313e-16)) + n_neg * LN(LEAST(GREATEST(1 - score, 2.220446049250313e-16), 1 - 2.220446049250313e-16))
      END
    ) AS log_loss_sum,
    MAX(e.ece_sum) AS ece_sum
  FROM ranked AS r
  LEFT JOIN (
    SELECT
      sample,
      segment,
      SUM(ABS(gap)) AS ece_sum
    FROM calibration_bins
    GROUP BY
      sample,
      segment
  ) AS e
    ON e.sample = r.sample AND e.segment = r.segment
  GROUP BY
    r.sample,
    r.segment
), paired AS (
  /* One row per segment, the window's sums (cur_) beside the baseline's (base_); the */
  /* 'all' segment always exists, so an empty window says so. */
  SELECT
    k.segment,
    COALESCE(c.`scored`, 0) AS `cur_scored`,
    COALESCE(b.`scored`, 0) AS `base_scored`,
    COALESCE(c.`flagged`, 0) AS `cur_flagged`,
    COALESCE(b.`flagged`, 0) AS `base_flagged`,
    COALESCE(c.`mature`, 0) AS `cur_mature`,
    COALESCE(b.`mature`, 0) AS `base_mature`,
    COALESCE(c.`labelled`, 0) AS `cur_labelled`,
    COALESCE(b.`labelled`, 0) AS `base_labelled`,
    COALESCE(c.`other_labels`, 0) AS `cur_other_labels`,
    COALESCE(b.`other_labels`, 0) AS `base_other_labels`,
    COALESCE(c.`pos`, 0) AS `cur_pos`,
    COALESCE(b.`pos`, 0) AS `base_pos`,
    COALESCE(c.`neg`, 0) AS `cur_neg`,
    COALESCE(b.`neg`, 0) AS `base_neg`,
    COALESCE(c.`tp`, 0) AS `cur_tp`,
    COALESCE(b.`tp`, 0) AS `base_tp`,
    COALESCE(c.`fp`, 0) AS `cur_fp`,
    COALESCE(b.`fp`, 0) AS `base_fp`,
    COALESCE(c.`auc_pairs`, 0) AS `cur_auc_pairs`,
    COALESCE(b.`auc_pairs`, 0) AS `base_auc_pairs`,
    COALESCE(c.`not_probability`, 0) AS `cur_not_probability`,
    COALESCE(b.`not_probability`, 0) AS `base_not_probability`,
    COALESCE(c.`brier_sum`, 0) AS `cur_brier_sum`,
    COALESCE(b.`brier_sum`, 0) AS `base_brier_sum`,
    COALESCE(c.`log_loss_sum`, 0) AS `cur_log_loss_sum`,
    COALESCE(b.`log_loss_sum`, 0) AS `base_log_loss_sum`,
    COALESCE(c.`ece_sum`, 0) AS `cur_ece_sum`,
    COALESCE(b.`ece_sum`, 0) AS `base_ece_sum`
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
    'accuracy' AS metric,
    CASE
      WHEN cur_other_labels = 0
      THEN (
        cur_tp + cur_neg - cur_fp
      ) * 1.0 / NULLIF(cur_pos + cur_neg, 0)
    END AS value,
    cur_pos + cur_neg AS sample_size,
    CASE
      WHEN base_other_labels = 0
      THEN (
        base_tp + base_neg - base_fp
      ) * 1.0 / NULLIF(base_pos + base_neg, 0)
    END AS baseline_value,
    base_pos + base_neg AS baseline_size,
    CASE
      WHEN CASE
        WHEN cur_other_labels = 0
        THEN (
          cur_tp + cur_neg - cur_fp
        ) * 1.0 / NULLIF(cur_pos + cur_neg, 0)
      END IS NULL
      THEN CASE
        WHEN cur_other_labels > 0
        THEN CAST(cur_other_labels AS STRING) || ' mature label(s) are neither 0 nor 1: the classification metrics need 0/1 labels'
        ELSE CASE
          WHEN cur_mature = 0
          THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
          WHEN cur_labelled = 0
          THEN 'no mature prediction has a 0/1 label (feedback missing?)'
          ELSE 'no mature labelled prediction has a score'
        END
      END
    END AS reason,
    `cur_pos`,
    `base_pos`,
    `cur_neg`,
    `base_neg`
  FROM paired
  UNION ALL
  SELECT
    segment,
    'precision' AS metric,
    CASE WHEN cur_other_labels = 0 THEN cur_tp * 1.0 / NULLIF(cur_tp + cur_fp, 0) END AS value,
    cur_tp + cur_fp AS sample_size,
    CASE
      WHEN base_other_labels = 0
      THEN base_tp * 1.0 / NULLIF(base_tp + base_fp, 0)
    END AS baseline_value,
    base_tp + base_fp AS baseline_size,
    CASE
      WHEN CASE WHEN cur_other_labels = 0 THEN cur_tp * 1.0 / NULLIF(cur_tp + cur_fp, 0) END IS NULL
      THEN CASE
        WHEN cur_other_labels > 0
        THEN CAST(cur_other_labels AS STRING) || ' mature label(s) are neither 0 nor 1: the classification metrics need 0/1 labels'
        ELSE CASE
          WHEN cur_pos + cur_neg = 0
          THEN CASE
            WHEN cur_mature = 0
            THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
            WHEN cur_labelled = 0
            THEN 'no mature prediction has a 0/1 label (feedback missing?)'
            ELSE 'no mature labelled prediction has a score'
          END
          ELSE 'no mature labelled prediction scored at or above the threshold'
        END
      END
    END AS reason,
    `cur_pos`,
    `base_pos`,
    `cur_neg`,
    `base_neg`
  FROM paired
  UNION ALL
  SELECT
    segment,
    'recall' AS metric,
    CASE WHEN cur_other_labels = 0 THEN cur_tp * 1.0 / NULLIF(cur_pos, 0) END AS value,
    cur_pos AS sample_size,
    CASE WHEN base_other_labels = 0 THEN base_tp * 1.0 / NULLIF(base_pos, 0) END AS baseline_value,
    base_pos AS baseline_size,
    CASE
      WHEN CASE WHEN cur_other_labels = 0 THEN cur_tp * 1.0 / NULLIF(cur_pos, 0) END IS NULL
      THEN CASE
        WHEN cur_other_labels > 0
        THEN CAST(cur_other_labels AS STRING) || ' mature label(s) are neither 0 nor 1: the classification metrics need 0/1 labels'
        ELSE CASE
          WHEN cur_pos + cur_neg = 0
          THEN CASE
            WHEN cur_mature = 0
            THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
            WHEN cur_labelled = 0
            THEN 'no mature prediction has a 0/1 label (feedback missing?)'
            ELSE 'no mature labelled prediction has a score'
          END
          ELSE 'no actual positive among the mature labelled predictions'
        END
      END
    END AS reason,
    `cur_pos`,
    `base_pos`,
    `cur_neg`,
    `base_neg`
  FROM paired
  UNION ALL
  SELECT
    segment,
    'f1' AS metric,
    CASE
      WHEN cur_other_labels = 0
      THEN 2.0 * cur_tp / NULLIF(cur_tp + cur_fp + cur_pos, 0)
    END AS value,
    cur_pos + cur_neg AS sample_size,
    CASE
      WHEN base_other_labels = 0
      THEN 2.0 * base_tp / NULLIF(base_tp + base_fp + base_pos, 0)
    END AS baseline_value,
    base_pos + base_neg AS baseline_size,
    CASE
      WHEN CASE
        WHEN cur_other_labels = 0
        THEN 2.0 * cur_tp / NULLIF(cur_tp + cur_fp + cur_pos, 0)
      END IS NULL
      THEN CASE
        WHEN cur_other_labels > 0
        THEN CAST(cur_other_labels AS STRING) || ' mature label(s) are neither 0 nor 1: the classification metrics need 0/1 labels'
        ELSE CASE
          WHEN cur_pos + cur_neg = 0
          THEN CASE
            WHEN cur_mature = 0
            THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
            WHEN cur_labelled = 0
            THEN 'no mature prediction has a 0/1 label (feedback missing?)'
            ELSE 'no mature labelled prediction has a score'
          END
          ELSE 'no positive, predicted or actual'
        END
      END
    END AS reason,
    `cur_pos`,
    `base_pos`,
    `cur_neg`,
    `base_neg`
  FROM paired
  UNION ALL
  SELECT
    segment,
    'fpr' AS metric,
    CASE WHEN cur_other_labels = 0 THEN cur_fp * 1.0 / NULLIF(cur_neg, 0) END AS value,
    cur_neg AS sample_size,
    CASE WHEN base_other_labels = 0 THEN base_fp * 1.0 / NULLIF(base_neg, 0) END AS baseline_value,
    base_neg AS baseline_size,
    CASE
      WHEN CASE WHEN cur_other_labels = 0 THEN cur_fp * 1.0 / NULLIF(cur_neg, 0) END IS NULL
      THEN CASE
        WHEN cur_other_labels > 0
        THEN CAST(cur_other_labels AS STRING) || ' mature label(s) are neither 0 nor 1: the classification metrics need 0/1 labels'
        ELSE CASE
          WHEN cur_pos + cur_neg = 0
          THEN CASE
            WHEN cur_mature = 0
            THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
            WHEN cur_labelled = 0
            THEN 'no mature prediction has a 0/1 label (feedback missing?)'
            ELSE 'no mature labelled prediction has a score'
          END
          ELSE 'no actual negative among the mature labelled predictions'
        END
      END
    END AS reason,
    `cur_pos`,
    `base_pos`,
    `cur_neg`,
    `base_neg`
  FROM paired
  UNION ALL
  SELECT
    segment,
    'positive_rate' AS metric,
    cur_flagged * 1.0 / NULLIF(cur_scored, 0) AS value,
    cur_scored AS sample_size,
    base_flagged * 1.0 / NULLIF(base_scored, 0) AS baseline_value,
    base_scored AS baseline_size,
    CASE
      WHEN cur_flagged * 1.0 / NULLIF(cur_scored, 0) IS NULL
      THEN 'the window has no scored predictions'
    END AS reason,
    `cur_pos`,
    `base_pos`,
    `cur_neg`,
    `base_neg`
  FROM paired
  UNION ALL
  SELECT
    segment,
    'base_rate' AS metric,
    CASE
      WHEN cur_other_labels = 0
      THEN cur_pos * 1.0 / NULLIF(cur_pos + cur_neg, 0)
    END AS value,
    cur_pos + cur_neg AS sample_size,
    CASE
      WHEN base_other_labels = 0
      THEN base_pos * 1.0 / NULLIF(base_pos + base_neg, 0)
    END AS baseline_value,
    base_pos + base_neg AS baseline_size,
    CASE
      WHEN CASE
        WHEN cur_other_labels = 0
        THEN cur_pos * 1.0 / NULLIF(cur_pos + cur_neg, 0)
      END IS NULL
      THEN CASE
        WHEN cur_other_labels > 0
        THEN CAST(cur_other_labels AS STRING) || ' mature label(s) are neither 0 nor 1: the classification metrics need 0/1 labels'
        ELSE CASE
          WHEN cur_mature = 0
          THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
          WHEN cur_labelled = 0
          THEN 'no mature prediction has a 0/1 label (feedback missing?)'
          ELSE 'no mature labelled prediction has a score'
        END
      END
    END AS reason,
    `cur_pos`,
    `base_pos`,
    `cur_neg`,
    `base_neg`
  FROM paired
  UNION ALL
  SELECT
    segment,
    'auc' AS metric,
    CASE
      WHEN cur_other_labels = 0
      THEN cur_auc_pairs * 1.0 / NULLIF(cur_pos * cur_neg, 0)
    END AS value,
    LEAST(cur_pos, cur_neg) AS sample_size,
    CASE
      WHEN base_other_labels = 0
      THEN base_auc_pairs * 1.0 / NULLIF(base_pos * base_neg, 0)
    END AS baseline_value,
    LEAST(base_pos, base_neg) AS baseline_size,
    CASE
      WHEN CASE
        WHEN cur_other_labels = 0
        THEN cur_auc_pairs * 1.0 / NULLIF(cur_pos * cur_neg, 0)
      END IS NULL
      THEN CASE
        WHEN cur_other_labels > 0
        THEN CAST(cur_other_labels AS STRING) || ' mature label(s) are neither 0 nor 1: the classification metrics need 0/1 labels'
        ELSE CASE
          WHEN cur_pos + cur_neg = 0
          THEN CASE
            WHEN cur_mature = 0
            THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
            WHEN cur_labelled = 0
            THEN 'no mature prediction has a 0/1 label (feedback missing?)'
            ELSE 'no mature labelled prediction has a score'
          END
          WHEN cur_pos = 0
          THEN 'AUC is undefined: every mature labelled prediction is negative'
          ELSE 'AUC is undefined: every mature labelled prediction is positive'
        END
      END
    END AS reason,
    `cur_pos`,
    `base_pos`,
    `cur_neg`,
    `base_neg`
  FROM paired
  UNION ALL
  SELECT
    segment,
    'log_loss' AS metric,
    CASE
      WHEN cur_other_labels = 0
      THEN CASE
        WHEN cur_not_probability = 0
        THEN cur_log_loss_sum * 1.0 / NULLIF(cur_pos + cur_neg, 0)
      END
    END AS value,
    cur_pos + cur_neg AS sample_size,
    CASE
      WHEN base_other_labels = 0
      THEN CASE
        WHEN base_not_probability = 0
        THEN base_log_loss_sum * 1.0 / NULLIF(base_pos + base_neg, 0)
      END
    END AS baseline_value,
    base_pos + base_neg AS baseline_size,
    CASE
      WHEN CASE
        WHEN cur_other_labels = 0
        THEN CASE
          WHEN cur_not_probability = 0
          THEN cur_log_loss_sum * 1.0 / NULLIF(cur_pos + cur_neg, 0)
        END
      END IS NULL
      THEN CASE
        WHEN cur_other_labels > 0
        THEN CAST(cur_other_labels AS STRING) || ' mature label(s) are neither 0 nor 1: the classification metrics need 0/1 labels'
        ELSE COALESCE(
          CASE
            WHEN cur_not_probability > 0
            THEN CAST(cur_not_probability AS STRING) || ' labelled score(s) lie outside [0, 1]: not probabilities'
          END,
          CASE
            WHEN cur_mature = 0
            THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
            WHEN cur_labelled = 0
            THEN 'no mature prediction has a 0/1 label (feedback missing?)'
            ELSE 'no mature labelled prediction has a score'
          END
        )
      END
    END AS reason,
    `cur_pos`,
    `base_pos`,
    `cur_neg`,
    `base_neg`
  FROM paired
  UNION ALL
  SELECT
    segment,
    'brier' AS metric,
    CASE
      WHEN cur_other_labels = 0
      THEN CASE
        WHEN cur_not_probability = 0
        THEN cur_brier_sum * 1.0 / NULLIF(cur_pos + cur_neg, 0)
      END
    END AS value,
    cur_pos + cur_neg AS sample_size,
    CASE
      WHEN base_other_labels = 0
      THEN CASE
        WHEN base_not_probability = 0
        THEN base_brier_sum * 1.0 / NULLIF(base_pos + base_neg, 0)
      END
    END AS baseline_value,
    base_pos + base_neg AS baseline_size,
    CASE
      WHEN CASE
        WHEN cur_other_labels = 0
        THEN CASE
          WHEN cur_not_probability = 0
          THEN cur_brier_sum * 1.0 / NULLIF(cur_pos + cur_neg, 0)
        END
      END IS NULL
      THEN CASE
        WHEN cur_other_labels > 0
        THEN CAST(cur_other_labels AS STRING) || ' mature label(s) are neither 0 nor 1: the classification metrics need 0/1 labels'
        ELSE COALESCE(
          CASE
            WHEN cur_not_probability > 0
            THEN CAST(cur_not_probability AS STRING) || ' labelled score(s) lie outside [0, 1]: not probabilities'
          END,
          CASE
            WHEN cur_mature = 0
            THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
            WHEN cur_labelled = 0
            THEN 'no mature prediction has a 0/1 label (feedback missing?)'
            ELSE 'no mature labelled prediction has a score'
          END
        )
      END
    END AS reason,
    `cur_pos`,
    `base_pos`,
    `cur_neg`,
    `base_neg`
  FROM paired
  UNION ALL
  SELECT
    segment,
    'ece' AS metric,
    CASE
      WHEN cur_other_labels = 0
      THEN CASE
        WHEN cur_not_probability = 0
        THEN cur_ece_sum * 1.0 / NULLIF(cur_pos + cur_neg, 0)
      END
    END AS value,
    cur_pos + cur_neg AS sample_size,
    CASE
      WHEN base_other_labels = 0
      THEN CASE
        WHEN base_not_probability = 0
        THEN base_ece_sum * 1.0 / NULLIF(base_pos + base_neg, 0)
      END
    END AS baseline_value,
    base_pos + base_neg AS baseline_size,
    CASE
      WHEN CASE
        WHEN cur_other_labels = 0
        THEN CASE
          WHEN cur_not_probability = 0
          THEN cur_ece_sum * 1.0 / NULLIF(cur_pos + cur_neg, 0)
        END
      END IS NULL
      THEN CASE
        WHEN cur_other_labels > 0
        THEN CAST(cur_other_labels AS STRING) || ' mature label(s) are neither 0 nor 1: the classification metrics need 0/1 labels'
        ELSE COALESCE(
          CASE
            WHEN cur_not_probability > 0
            THEN CAST(cur_not_probability AS STRING) || ' labelled score(s) lie outside [0, 1]: not probabilities'
          END,
          CASE
            WHEN cur_mature = 0
            THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
            WHEN cur_labelled = 0
            THEN 'no mature prediction has a 0/1 label (feedback missing?)'
            ELSE 'no mature labelled prediction has a score'
          END
        )
      END
    END AS reason,
    `cur_pos`,
    `base_pos`,
    `cur_neg`,
    `base_neg`
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
    END AS reason,
    `cur_pos`,
    `base_pos`,
    `cur_neg`,
    `base_neg`
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
