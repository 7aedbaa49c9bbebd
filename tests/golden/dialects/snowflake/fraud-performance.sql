WITH current_window AS (
  SELECT
    *
  FROM "prediction_outcomes"
  WHERE
    "model_name" = 'fraud'
    AND "role" = 'production'
    AND (
      (
        ts >= CAST('2026-10-01 00:00:00.000000' AS TIMESTAMPNTZ)
        AND ts < CAST('2026-10-08 00:00:00.000000' AS TIMESTAMPNTZ)
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
        ts >= CAST('2026-09-03 00:00:00.000000' AS TIMESTAMPNTZ)
        AND ts < CAST('2026-09-10 00:00:00.000000' AS TIMESTAMPNTZ)
      )
      OR (
        ts >= CAST('2026-09-10 00:00:00.000000' AS TIMESTAMPNTZ)
        AND ts < CAST('2026-09-17 00:00:00.000000' AS TIMESTAMPNTZ)
      )
      OR (
        ts >= CAST('2026-09-17 00:00:00.000000' AS TIMESTAMPNTZ)
        AND ts < CAST('2026-09-24 00:00:00.000000' AS TIMESTAMPNTZ)
      )
      OR (
        ts >= CAST('2026-09-24 00:00:00.000000' AS TIMESTAMPNTZ)
        AND ts < CAST('2026-10-01 00:00:00.000000' AS TIMESTAMPNTZ)
      )
    )
), scored /* One row per prediction of each sample: the slice columns, the score (NaN, ±inf as */ /* NULL), the operating threshold `cut`, the label, and whether it has matured at the */ /* run's time T (ts + label_maturity <= T). */ AS (
  SELECT
    'cur' AS sample,
    CASE
      WHEN (
        NOT CAST("score" AS DOUBLE) IN (CAST('inf' AS DOUBLE), CAST('-inf' AS DOUBLE), CAST('NaN' AS DOUBLE))
      )
      THEN CAST("score" AS DOUBLE)
    END AS score,
    CAST(0.5 AS DOUBLE) AS cut,
    CAST("label" AS DOUBLE) AS label,
    ts <= CAST('2026-10-08 06:00:00.000000' AS TIMESTAMPNTZ) AS mature
  FROM current_window
  UNION ALL
  SELECT
    'base' AS sample,
    CASE
      WHEN (
        NOT CAST("score" AS DOUBLE) IN (CAST('inf' AS DOUBLE), CAST('-inf' AS DOUBLE), CAST('NaN' AS DOUBLE))
      )
      THEN CAST("score" AS DOUBLE)
    END AS score,
    CAST(0.5 AS DOUBLE) AS cut,
    CAST("label" AS DOUBLE) AS label,
    ts <= CAST('2026-10-08 06:00:00.000000' AS TIMESTAMPNTZ) AS mature
  FROM baseline_window
), score_groups /* One GROUP BY GROUPING SETS pass reduces the rows to (sample, segment, distinct score) */ /* with counts; every metric below is a sum over these groups, so each slice and metric */ /* costs no extra scan. Label 1 is a positive, 0 a negative; only mature rows count as */ /* labelled; any other label (NULL: no feedback yet) is unlabelled. */ AS (
  SELECT
    sample,
    'all' AS segment,
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
      (sample, cut, score)
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
        ORDER BY score
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
), segment_stats /* Per sample and segment, the sums every metric is written over. A prediction is */ /* positive (flagged) when score >= cut; pos and neg count the labelled ones that have */ /* a score. */ AS (
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
    ) AS auc_pairs, /* Σ over positives of the negatives ranked below them (ties ½). */
    SUM(CASE WHEN score < 0 OR score > 1 THEN n_pos + n_neg ELSE 0 END) AS not_probability,
    SUM(n_pos * (
      1 - score
    ) * (
      1 - score
    ) + n_neg * score * score) AS brier_sum, /* Brier: Σ (score − label)²; log loss: −Σ ln(the score given to the true */ /* class), clipped to [ε, 1 − ε] with ε = 2⁻⁵² as scikit-learn does. The CASE */ /* is needed: GREATEST and LEAST skip a NULL score instead of returning NULL. */
    -SUM(
      CASE
        WHEN NOT score IS NULL
        THEN n_pos * LN(
          LEAST_IGNORE_NULLS(GREATEST_IGNORE_NULLS(score, 2.220446049250313e-16), 1 - 2.220446049250313e-16)
        ) + n_neg * LN(
          LEAST_IGNORE_NULLS(GREATEST_IGNORE_NULLS(1 - score, 2.220446049250313e-16), 1 - 2.220446049250313e-16)
        )
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
), sums /* Every segment in every sample, the 'all' segment always (so an empty window says */ /* so): a sample without rows in a segment sums to 0. */ AS (
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
    COALESCE(t.auc_pairs, 0) AS auc_pairs,
    COALESCE(t.not_probability, 0) AS not_probability,
    COALESCE(t.brier_sum, 0) AS brier_sum,
    COALESCE(t.log_loss_sum, 0) AS log_loss_sum,
    COALESCE(t.ece_sum, 0) AS ece_sum
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
    not_probability,
    CASE m.metric
      WHEN 'accuracy'
      THEN (
        tp + neg - fp
      ) * 1.0 / NULLIF(pos + neg, 0)
      WHEN 'precision'
      THEN tp * 1.0 / NULLIF(tp + fp, 0)
      WHEN 'recall'
      THEN tp * 1.0 / NULLIF(pos, 0)
      WHEN 'f1'
      THEN 2.0 * tp / NULLIF(tp + fp + pos, 0)
      WHEN 'fpr'
      THEN fp * 1.0 / NULLIF(neg, 0)
      WHEN 'positive_rate'
      THEN flagged * 1.0 / NULLIF(scored, 0)
      WHEN 'base_rate'
      THEN pos * 1.0 / NULLIF(pos + neg, 0)
      WHEN 'auc'
      THEN auc_pairs * 1.0 / NULLIF(pos * neg, 0)
      WHEN 'log_loss'
      THEN CASE WHEN not_probability = 0 THEN log_loss_sum * 1.0 / NULLIF(pos + neg, 0) END
      WHEN 'brier'
      THEN CASE WHEN not_probability = 0 THEN brier_sum * 1.0 / NULLIF(pos + neg, 0) END
      WHEN 'ece'
      THEN CASE WHEN not_probability = 0 THEN ece_sum * 1.0 / NULLIF(pos + neg, 0) END
      WHEN 'label_coverage'
      THEN labelled * 1.0 / NULLIF(mature, 0)
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
      THEN LEAST_IGNORE_NULLS(pos, neg)
      WHEN 'label_coverage'
      THEN mature
      ELSE pos + neg
    END AS n
  FROM sums
  CROSS JOIN (VALUES
    ('accuracy'),
    ('precision'),
    ('recall'),
    ('f1'),
    ('fpr'),
    ('positive_rate'),
    ('base_rate'),
    ('auc'),
    ('log_loss'),
    ('brier'),
    ('ece'),
    ('label_coverage')) AS m(metric)
), metric_values /* A label that is neither 0 nor 1 (-1/+1, a probability, a class id) means these are */ /* not binary outcomes: every label metric says so instead of reading them wrong. Why */ /* a value is undefined goes in `reason`. */ AS (
  SELECT
    sample,
    segment,
    metric,
    n,
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
        WHEN metric IN ('log_loss', 'brier', 'ece') AND not_probability > 0
        THEN CAST(not_probability AS VARCHAR) || ' labelled score(s) lie outside [0, 1]: not probabilities'
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
        WHEN metric = 'f1'
        THEN 'no positive, predicted or actual'
        WHEN metric = 'fpr'
        THEN 'no actual negative among the mature labelled predictions'
        WHEN metric = 'auc' AND pos = 0
        THEN 'AUC is undefined: every mature labelled prediction is negative'
        WHEN metric = 'auc'
        THEN 'AUC is undefined: every mature labelled prediction is positive'
      END
      ELSE CAST(other_labels AS VARCHAR) || ' mature label(s) are neither 0 nor 1: the classification metrics need 0/1 labels'
    END AS reason
  FROM formulas
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
