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
        AND ts < CAST('2026-10-21 00:00:00.000000' AS TIMESTAMP)
      )
    )
), scored /* One row per prediction of each sample: the slice columns, the score (NaN, ±inf as */ /* NULL), the label, and whether it has matured at the run's time T */ /* (ts + label_maturity <= T). */ AS (
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
), score_groups /* One GROUP BY GROUPING SETS pass reduces the rows to (sample, segment, distinct score) */ /* with counts: every sum below is over these groups. Label 1 is a positive, 0 a */ /* negative, only mature rows count as labelled, any other label as neither. */ AS (
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
    score,
    COUNT(*) AS n_rows,
    COUNT(CASE WHEN mature THEN 1 END) AS n_mature,
    COUNT(CASE WHEN mature AND label = 1 THEN 1 END) AS n_pos,
    COUNT(CASE WHEN mature AND label = 0 THEN 1 END) AS n_neg,
    COUNT(CASE WHEN mature AND NOT label IN (0, 1) THEN 1 END) AS n_other
  FROM scored
  GROUP BY
    GROUPING SETS (
      (sample, score),
      ("country", sample, score)
    )
), calibrated /* The calibrated probability p(s) of each distinct score of the window: the segment's */ /* frozen map, linear between its knots (mean score of a bin, its isotonic positive */ /* rate), the end values beyond them; numpy's interp. NULL for a segment without a map. */ AS (
  SELECT
    *,
    CAST(NULL AS DOUBLE) AS p
  FROM score_groups
  WHERE
    NOT score IS NULL
), ranked /* Two weightings of each score group, ranked in one sort: the estimate, where every */ /* scored prediction counts p as a positive and 1 − p as a negative (window only), and */ /* the realized one, the mature labelled predictions as they are. *_below: the */ /* negatives' weight strictly below the group's score, for the AUC (only auc needs */ /* the scores in order: without it nothing is sorted). */ AS (
  SELECT
    *,
    COALESCE(
      SUM(n_rows * (
        1 - p
      )) OVER (
        PARTITION BY sample, segment
        ORDER BY score
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS e_neg_below,
    COALESCE(
      SUM(n_neg) OVER (
        PARTITION BY sample, segment
        ORDER BY score
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS r_neg_below
  FROM calibrated
), segment_stats /* Per sample and segment, the sums every metric is written over. A prediction is */ /* flagged when score >= threshold. */ AS (
  SELECT
    sample,
    segment,
    SUM(n_rows) AS scored,
    SUM(CASE WHEN score >= 0.5 THEN n_rows ELSE 0 END) AS flagged,
    SUM(CASE WHEN score < 0 OR score > 1 THEN n_rows ELSE 0 END) AS not_probability,
    SUM(n_rows * p) AS e_pos,
    SUM(CASE WHEN score >= 0.5 THEN n_rows * p ELSE 0 END) AS e_tp,
    SUM(CASE WHEN score >= 0.5 THEN n_rows * p * (
      1 - p
    ) ELSE 0 END) AS e_var_flagged, /* Σ p(1 − p), flagged and not: the variance of the realized counts. */
    SUM(CASE WHEN score < 0.5 THEN n_rows * p * (
      1 - p
    ) ELSE 0 END) AS e_var_unflagged,
    SUM(n_rows * p * (
      e_neg_below + 0.5 * n_rows * (
        1 - p
      )
    )) AS e_auc_pairs,
    SUM(n_pos) AS r_pos,
    SUM(n_neg) AS r_neg,
    SUM(CASE WHEN score >= 0.5 THEN n_pos ELSE 0 END) AS r_tp,
    SUM(CASE WHEN score >= 0.5 THEN n_neg ELSE 0 END) AS r_fp,
    SUM(n_pos * (
      r_neg_below + 0.5 * n_neg
    )) AS r_auc_pairs
  FROM ranked
  GROUP BY
    sample,
    segment
), label_stats /* Per segment: mature and labelled rows (with or without a score) and other labels, */ /* for the realized metrics' reasons. */ AS (
  SELECT
    sample,
    segment,
    SUM(n_mature) AS mature,
    SUM(n_pos + n_neg) AS labelled,
    SUM(n_other) AS other_labels
  FROM score_groups
  GROUP BY
    sample,
    segment
), sums /* Every segment in both samples, the 'all' segment always (so an empty window says */ /* so): a sample without rows in a segment sums to 0 (its p sums stay NULL). */ AS (
  SELECT
    k.segment,
    s.sample,
    COALESCE(t.scored, 0) AS scored,
    COALESCE(t.flagged, 0) AS flagged,
    COALESCE(t.not_probability, 0) AS not_probability,
    COALESCE(t.r_pos, 0) AS r_pos,
    COALESCE(t.r_neg, 0) AS r_neg,
    COALESCE(t.r_tp, 0) AS r_tp,
    COALESCE(t.r_fp, 0) AS r_fp,
    COALESCE(t.r_auc_pairs, 0) AS r_auc_pairs,
    COALESCE(l.mature, 0) AS mature,
    COALESCE(l.labelled, 0) AS labelled,
    COALESCE(l.other_labels, 0) AS other_labels,
    t.e_pos,
    t.e_tp,
    t.e_var_flagged,
    t.e_var_unflagged,
    t.e_auc_pairs
  FROM (
    SELECT
      segment
    FROM score_groups
    UNION
    SELECT
      'all'
  ) AS k
  CROSS JOIN (VALUES
    ('cur'),
    ('base')) AS s(sample)
  LEFT JOIN segment_stats AS t
    ON t.segment = k.segment AND t.sample = s.sample
  LEFT JOIN label_stats AS l
    ON l.segment = k.segment AND l.sample = s.sample
), confusion /* One confusion matrix per (sample, segment, kind), in the same terms for both kinds: */ /* n predictions, F flagged, P positives, TP, the AUC's pair sum, and (estimate only) */ /* the variances. The estimate is of the window only. */ AS (
  SELECT
    sample,
    segment,
    'estimated' AS kind,
    scored AS window_rows,
    CAST(scored AS DOUBLE) AS n,
    CAST(flagged AS DOUBLE) AS f,
    e_pos AS pos,
    CASE WHEN NOT e_pos IS NULL THEN e_tp END AS tp, /* No map (e_pos NULL): no estimate at all, not a TP of 0. */
    e_auc_pairs AS auc_pairs,
    e_var_flagged AS var_f,
    e_var_unflagged AS var_u,
    not_probability,
    mature,
    labelled,
    other_labels
  FROM sums
  WHERE
    sample = 'cur'
  UNION ALL
  SELECT
    sample,
    segment,
    'realized',
    scored,
    CAST(r_pos + r_neg AS DOUBLE),
    CAST(r_tp + r_fp AS DOUBLE),
    CAST(r_pos AS DOUBLE),
    CAST(r_tp AS DOUBLE),
    CAST(r_auc_pairs AS DOUBLE),
    CAST(NULL AS DOUBLE),
    CAST(NULL AS DOUBLE),
    not_probability,
    mature,
    labelled,
    other_labels
  FROM sums
), formulas AS (
  SELECT
    c.*,
    m.metric,
    CASE m.metric
      WHEN 'accuracy'
      THEN CAST((
        n - f - pos + 2 * tp
      ) AS DOUBLE) / NULLIF(n, 0)
      WHEN 'precision'
      THEN CAST(tp AS DOUBLE) / NULLIF(f, 0)
      WHEN 'recall'
      THEN CAST(tp AS DOUBLE) / NULLIF(pos, 0)
      WHEN 'f1'
      THEN CAST(2 * tp AS DOUBLE) / NULLIF(f + pos, 0)
      WHEN 'auc'
      THEN CAST(auc_pairs AS DOUBLE) / NULLIF(pos * (
        n - pos
      ), 0)
    END AS value,
    CASE m.metric
      WHEN 'precision'
      THEN f
      WHEN 'recall'
      THEN FLOOR(pos + 0.5)
      WHEN 'auc'
      THEN FLOOR(LEAST(pos, n - pos) + 0.5)
      ELSE n
    END AS denominator
  FROM confusion AS c
  CROSS JOIN (VALUES
    ('auc'),
    ('f1')) AS m(metric)
), judged /* The estimate's standard error (the delta method for recall and f1; Hanley & McNeil */ /* for the AUC, from the expected class sizes), and why a value is undefined. */ AS (
  SELECT
    *,
    CASE
      WHEN kind = 'estimated' AND NOT value IS NULL
      THEN CASE metric
        WHEN 'accuracy'
        THEN CAST(SQRT(var_f + var_u) AS DOUBLE) / n
        WHEN 'precision'
        THEN CAST(SQRT(var_f) AS DOUBLE) / f
        WHEN 'recall'
        THEN CAST(SQRT((
          pos - tp
        ) * (
          pos - tp
        ) * var_f + tp * tp * var_u) AS DOUBLE) / (
          pos * pos
        )
        WHEN 'f1'
        THEN CAST(2 * SQRT((
          f + pos - tp
        ) * (
          f + pos - tp
        ) * var_f + tp * tp * var_u) AS DOUBLE) / (
          (
            f + pos
          ) * (
            f + pos
          )
        )
        WHEN 'auc'
        THEN CASE
          WHEN pos >= 1 AND n - pos >= 1
          THEN SQRT(
            GREATEST(
              CAST((
                value * (
                  1 - value
                ) + (
                  pos - 1
                ) * (
                  CAST(value AS DOUBLE) / (
                    2 - value
                  ) - value * value
                ) + (
                  n - pos - 1
                ) * (
                  CAST(2 * value * value AS DOUBLE) / (
                    1 + value
                  ) - value * value
                )
              ) AS DOUBLE) / (
                pos * (
                  n - pos
                )
              ),
              0
            )
          )
        END
      END
    END AS standard_error,
    CASE
      WHEN NOT value IS NULL
      AND (
        CASE WHEN kind = 'realized' THEN other_labels ELSE not_probability END
      ) = 0
      THEN NULL
      WHEN kind = 'realized' AND other_labels > 0
      THEN CONCAT(
        CAST(other_labels AS VARCHAR),
        CAST(' mature label(s) are neither 0 nor 1: the classification metrics need 0/1 labels' AS VARCHAR)
      )
      WHEN kind = 'realized' AND mature = 0 AND window_rows = 0
      THEN 'the window has no scored predictions'
      WHEN kind = 'realized' AND mature = 0
      THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
      WHEN kind = 'realized' AND labelled = 0
      THEN 'no mature prediction has a 0/1 label (feedback missing?)'
      WHEN kind = 'realized' AND n = 0
      THEN 'no mature labelled prediction has a score'
      WHEN n = 0
      THEN 'the window has no scored predictions'
      WHEN kind = 'estimated' AND not_probability > 0
      THEN CONCAT(
        CAST(not_probability AS VARCHAR),
        CAST(' score(s) of the window lie outside [0, 1]: not probabilities' AS VARCHAR)
      )
      WHEN pos IS NULL
      THEN 'no calibration: the baseline has no mature labelled predictions in this segment'
      WHEN metric = 'precision'
      THEN 'no prediction scored at or above the threshold'
      WHEN metric = 'f1'
      THEN 'no positive, predicted or actual'
      WHEN kind = 'realized' AND pos = 0
      THEN 'no actual positive among the mature labelled predictions'
      WHEN kind = 'realized'
      THEN 'no actual negative among the mature labelled predictions'
      WHEN pos = 0
      THEN 'the calibrated probabilities expect no positive'
      ELSE 'the calibrated probabilities expect no negative'
    END AS reason
  FROM formulas
), metric_values /* A realized value is NULL whenever a mature label is neither 0 nor 1, as in */ /* performance/classification; an estimate whenever a window score is not a */ /* probability. */ AS (
  SELECT
    sample,
    segment,
    kind,
    metric,
    denominator,
    CASE WHEN reason IS NULL THEN value END AS value,
    CASE WHEN reason IS NULL THEN standard_error END AS standard_error,
    reason
  FROM judged
)
/* The window's values beside the baseline's realized one. */
SELECT
  c.segment,
  '' AS feature,
  CONCAT(CAST(c.kind AS VARCHAR), CAST('_' AS VARCHAR), CAST(c.metric AS VARCHAR)) AS metric,
  c.value,
  CAST(c.denominator AS BIGINT) AS sample_size,
  b.value AS baseline_value,
  CAST(b.denominator AS BIGINT) AS baseline_size,
  c.reason,
  CASE
    WHEN NOT c.standard_error IS NULL
    THEN JSON_OBJECT(
      'standard_error': c.standard_error,
      'lower': GREATEST(c.value - 3.0 * c.standard_error, 0),
      'upper': LEAST(c.value + 3.0 * c.standard_error, 1)
    )
  END AS detail
FROM metric_values AS c
LEFT JOIN metric_values AS b
  ON b.segment = c.segment
  AND b.metric = c.metric
  AND b.sample = 'base'
  AND b.kind = 'realized'
WHERE
  c.sample = 'cur'
ORDER BY
  c.segment,
  metric
