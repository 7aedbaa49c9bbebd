/* ---
name: classification
family: performance
description: |
  Classification quality once the outcomes are known, overall and per slice.
  Slices come from `by`. Formulas and references: docs/metrics.md, "Performance".
  - Label metrics (accuracy, precision, recall, f1, fpr, base_rate, auc, log_loss,
    brier, ece) use the window's mature predictions only (ts + label_maturity <= the
    run's time) that have a 0/1 label and a score; a prediction is positive when
    score >= threshold. auc is exact: Mann–Whitney with ties counted ½ (mid-ranks).
    log_loss clips scores to [ε, 1 − ε], ε = 2⁻⁵²; ece uses `ece_bins` equal-width
    bins (k/B, (k+1)/B]: Σ_bins |Σ label − Σ score| / n.
  - positive_rate (score >= threshold) uses every scored prediction of the window.
  - label_coverage: labelled / mature, so a broken feedback pipeline shows instead
    of silently shrinking the sample.
  Each metric's sample_size is its denominator (precision: predicted positives;
  recall: actual positives). An undefined value (one class only, an empty window,
  scores outside [0, 1] for the probability metrics) is NULL with a reason.
  baseline_value/baseline_size: the same over the baseline, when the monitor has one.
params:
  threshold: {type: float, default: null, description: "a prediction is positive when score >= threshold (default: the model's thresholds for the monitor's role, else 0.5)"}
  by: {type: list[list[str]], default: [], description: "slices, e.g. [[country], [country, device]]"}
  ece_bins: {type: int, default: 10, description: "equal-width calibration bins on [0, 1]"}
  score_column: {type: str, default: score, description: "the model's score (a probability for log_loss, brier, ece)"}
  label_column: {type: str, default: label, description: "the outcome: 1 positive, 0 negative"}
metrics: [accuracy, precision, recall, f1, fpr, positive_rate, base_rate, auc, log_loss, brier, ece, label_coverage]
returns: [segment, feature, metric, value, sample_size, baseline_value, baseline_size, reason]
--- */
{#- Helpers (sql/macros/): the model's rows in a time range, NaN and ±inf as missing,
    and the GROUPING SETS of the slices with their segment labels. -#}
{%- from 'macros/model_rows.sql' import model_rows %}
{%- from 'macros/finite_double.sql' import finite_double %}
{%- from 'macros/distinct_slices.sql' import distinct_slices %}
{%- from 'macros/grouping_sets.sql' import grouping_sets %}
{%- from 'macros/grouping_segment.sql' import grouping_segment %}
{%- from 'macros/slice_projection.sql' import slice_projection %}
{%- if ece_bins < 1 %}{{ fail("ece_bins must be at least 1") }}{% endif %}
{{- distinct_slices(by) }}
{%- set cut = threshold if threshold is not none else model.thresholds.get(role, 0.5) %}
{%- set samples = [('cur', 'current_window')] + ([('base', 'baseline_window')] if baseline is not none else []) %}
{%- set not_mature = 'no prediction of the window has matured yet (ts + label_maturity <= run time)' %}
WITH
current_window AS (
    {{ model_rows(model.predictions, model.name, [window], role) }}
),
{%- if baseline is not none %}
baseline_window AS (
    {%- if baseline.table %}
    SELECT * FROM {{ baseline.table | table }}
    {%- else %}
    {{ model_rows(model.predictions, model.name, baseline.ranges, role) }}
    {%- endif %}
),
{%- endif %}
-- One row per prediction of each sample: the slice columns, the score (NaN, ±inf as
-- NULL), the operating threshold `cut`, the label, and whether it has matured at the
-- run's time T (ts + label_maturity <= T).
scored AS (
    {%- for sample, source in samples %}
    {% if not loop.first %}UNION ALL
    {% endif -%}
    SELECT {{ sample | literal }} AS sample,
          {{- slice_projection(by, segment_pools) }}
           {{ finite_double(score_column) }} AS score,
           CAST({{ cut | literal }} AS DOUBLE) AS cut,
           CAST({{ label_column | ident }} AS DOUBLE) AS label,
           ts <= {{ mature_before | literal }} AS mature
    FROM {{ source }}
    {%- endfor %}
),
-- One GROUP BY GROUPING SETS pass reduces the rows to (sample, segment, distinct score)
-- with counts; every metric below is a sum over these groups, so each slice and metric
-- costs no extra scan. Label 1 is a positive, 0 a negative; only mature rows count as
-- labelled; any other label (NULL: no feedback yet) is unlabelled.
score_groups AS (
    SELECT sample,
           {{ grouping_segment(by, segment_pools) }} AS segment,
           cut,
           score,
           COUNT(*) AS n_rows,
           COUNT(CASE WHEN mature THEN 1 END) AS n_mature,
           COUNT(CASE WHEN mature AND label = 1 THEN 1 END) AS n_pos,
           COUNT(CASE WHEN mature AND label = 0 THEN 1 END) AS n_neg,
           COUNT(CASE WHEN mature AND label NOT IN (0, 1) THEN 1 END) AS n_other
    FROM scored
    GROUP BY {{ grouping_sets(by, ['sample', 'cut', 'score'], segment_pools) }}
),
ranked AS (
    -- Negatives scored strictly below each distinct score. AUC is the Mann–Whitney
    -- statistic: the share of (positive, negative) pairs ranked right, a tie counting
    -- ½, which is the ROC curve's trapezoid area (mid-ranks for ties).
    SELECT *,
           COALESCE(SUM(n_neg) OVER (
               PARTITION BY sample, segment ORDER BY score NULLS LAST
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS neg_below
    FROM score_groups
),
calibration_bins AS (
    -- ECE's equal-width bins (k/B, (k+1)/B], the first closed at 0, as scikit-learn's
    -- calibration_curve: per bin, Σ label − Σ score; ECE = Σ_bins |gap| / n.
    SELECT sample, segment,
           CASE
           {%- for k in range(1, ece_bins) %}
               WHEN score <= {{ (k / ece_bins) | literal }} THEN {{ k - 1 }}
           {%- endfor %}
               ELSE {{ ece_bins - 1 }}
           END AS bin,
           SUM(n_pos - (n_pos + n_neg) * score) AS gap
    FROM score_groups
    WHERE score IS NOT NULL
    GROUP BY sample, segment, bin
),
-- Per sample and segment, the sums every metric is written over. A prediction is
-- positive (flagged) when score >= cut; pos and neg count the labelled ones that have
-- a score.
segment_stats AS (
    SELECT r.sample, r.segment,
           SUM(CASE WHEN score IS NOT NULL THEN n_rows ELSE 0 END) AS scored,
           SUM(CASE WHEN score >= cut THEN n_rows ELSE 0 END) AS flagged,
           SUM(n_mature) AS mature,
           SUM(n_pos + n_neg) AS labelled,
           SUM(n_other) AS other_labels,
           SUM(CASE WHEN score IS NOT NULL THEN n_pos ELSE 0 END) AS pos,
           SUM(CASE WHEN score IS NOT NULL THEN n_neg ELSE 0 END) AS neg,
           SUM(CASE WHEN score >= cut THEN n_pos ELSE 0 END) AS tp,
           SUM(CASE WHEN score >= cut THEN n_neg ELSE 0 END) AS fp,
           -- Σ over positives of the negatives ranked below them (ties ½).
           SUM(CASE WHEN score IS NOT NULL THEN n_pos * (neg_below + 0.5 * n_neg) ELSE 0 END) AS auc_pairs,
           SUM(CASE WHEN score < 0 OR score > 1 THEN n_pos + n_neg ELSE 0 END) AS not_probability,
           -- Brier: Σ (score − label)²; log loss: −Σ ln(the score given to the true
           -- class), clipped to [ε, 1 − ε] with ε = 2⁻⁵² as scikit-learn does. The CASE
           -- is needed: GREATEST and LEAST skip a NULL score instead of returning NULL.
           SUM(n_pos * (1 - score) * (1 - score) + n_neg * score * score) AS brier_sum,
           -SUM(CASE WHEN score IS NOT NULL THEN
                n_pos * LN(LEAST(GREATEST(score, 2.220446049250313e-16), 1 - 2.220446049250313e-16))
                + n_neg * LN(LEAST(GREATEST(1 - score, 2.220446049250313e-16), 1 - 2.220446049250313e-16)) END) AS log_loss_sum,
           MAX(e.ece_sum) AS ece_sum
    FROM ranked AS r
    LEFT JOIN (
        SELECT sample, segment, SUM(ABS(gap)) AS ece_sum FROM calibration_bins GROUP BY sample, segment
    ) AS e ON e.sample = r.sample AND e.segment = r.segment
    GROUP BY r.sample, r.segment
),
-- Every segment in every sample, the 'all' segment always (so an empty window says
-- so): a sample without rows in a segment sums to 0.
sums AS (
    SELECT k.segment, s.sample,
           {%- for name in ['scored', 'flagged', 'mature', 'labelled', 'other_labels', 'pos', 'neg', 'tp', 'fp', 'auc_pairs', 'not_probability', 'brier_sum', 'log_loss_sum', 'ece_sum'] %}
           COALESCE(t.{{ name }}, 0) AS {{ name }}{{ ',' if not loop.last }}
           {%- endfor %}
    FROM (SELECT segment FROM segment_stats UNION SELECT 'all') AS k
    CROSS JOIN (VALUES {% for sample, _ in samples %}{{ ', ' if not loop.first }}({{ sample | literal }}){% endfor %}) AS s(sample)
    LEFT JOIN segment_stats AS t ON t.segment = k.segment AND t.sample = s.sample
),
-- Per sample, segment and metric: the value and its sample size, the metric's
-- denominator (precision counts predicted positives, recall actual ones, auc the
-- smaller class: one positive among thousands of negatives ranks nothing).
formulas AS (
    SELECT sample, segment, m.metric, other_labels, mature, labelled, pos, neg, not_probability,
           CASE m.metric
               WHEN 'accuracy' THEN (tp + neg - fp) * 1.0 / NULLIF(pos + neg, 0)
               WHEN 'precision' THEN tp * 1.0 / NULLIF(tp + fp, 0)
               WHEN 'recall' THEN tp * 1.0 / NULLIF(pos, 0)
               WHEN 'f1' THEN 2.0 * tp / NULLIF(tp + fp + pos, 0)
               WHEN 'fpr' THEN fp * 1.0 / NULLIF(neg, 0)
               WHEN 'positive_rate' THEN flagged * 1.0 / NULLIF(scored, 0)
               WHEN 'base_rate' THEN pos * 1.0 / NULLIF(pos + neg, 0)
               WHEN 'auc' THEN auc_pairs * 1.0 / NULLIF(pos * neg, 0)
               -- The probability metrics need scores in [0, 1].
               WHEN 'log_loss' THEN CASE WHEN not_probability = 0 THEN log_loss_sum * 1.0 / NULLIF(pos + neg, 0) END
               WHEN 'brier' THEN CASE WHEN not_probability = 0 THEN brier_sum * 1.0 / NULLIF(pos + neg, 0) END
               WHEN 'ece' THEN CASE WHEN not_probability = 0 THEN ece_sum * 1.0 / NULLIF(pos + neg, 0) END
               WHEN 'label_coverage' THEN labelled * 1.0 / NULLIF(mature, 0)
           END AS value,
           CASE m.metric
               WHEN 'precision' THEN tp + fp
               WHEN 'recall' THEN pos
               WHEN 'fpr' THEN neg
               WHEN 'positive_rate' THEN scored
               WHEN 'auc' THEN LEAST(pos, neg)
               WHEN 'label_coverage' THEN mature
               ELSE pos + neg
           END AS n
    FROM sums
    CROSS JOIN (VALUES ('accuracy'), ('precision'), ('recall'), ('f1'), ('fpr'), ('positive_rate'),
                       ('base_rate'), ('auc'), ('log_loss'), ('brier'), ('ece'),
                       ('label_coverage')) AS m(metric)
),
-- A label that is neither 0 nor 1 (-1/+1, a probability, a class id) means these are
-- not binary outcomes: every label metric says so instead of reading them wrong. Why
-- a value is undefined goes in `reason`.
metric_values AS (
    SELECT sample, segment, metric, n,
           CASE WHEN other_labels = 0 OR metric IN ('positive_rate', 'label_coverage') THEN value END AS value,
           CASE
               WHEN other_labels = 0 OR metric IN ('positive_rate', 'label_coverage') THEN
                   CASE
                       WHEN value IS NOT NULL THEN NULL
                       WHEN metric = 'positive_rate' THEN 'the window has no scored predictions'
                       WHEN metric IN ('log_loss', 'brier', 'ece') AND not_probability > 0
                           THEN CAST(not_probability AS VARCHAR) || ' labelled score(s) lie outside [0, 1]: not probabilities'
                       WHEN mature = 0 THEN {{ not_mature | literal }}
                       WHEN labelled = 0 THEN 'no mature prediction has a 0/1 label (feedback missing?)'
                       WHEN pos + neg = 0 THEN 'no mature labelled prediction has a score'
                       WHEN metric = 'precision' THEN 'no mature labelled prediction scored at or above the threshold'
                       WHEN metric = 'recall' THEN 'no actual positive among the mature labelled predictions'
                       WHEN metric = 'f1' THEN 'no positive, predicted or actual'
                       WHEN metric = 'fpr' THEN 'no actual negative among the mature labelled predictions'
                       WHEN metric = 'auc' AND pos = 0 THEN 'AUC is undefined: every mature labelled prediction is negative'
                       WHEN metric = 'auc' THEN 'AUC is undefined: every mature labelled prediction is positive'
                   END
               ELSE CAST(other_labels AS VARCHAR) || ' mature label(s) are neither 0 nor 1: the classification metrics need 0/1 labels'
           END AS reason
    FROM formulas
)
-- The window's value beside the baseline's (when the monitor has a baseline).
SELECT c.segment,
       '' AS feature,
       c.metric,
       c.value,
       c.n AS sample_size,
       b.value AS baseline_value,
       b.n AS baseline_size,
       c.reason
FROM metric_values AS c
LEFT JOIN metric_values AS b ON b.segment = c.segment AND b.metric = c.metric AND b.sample = 'base'
WHERE c.sample = 'cur'
ORDER BY c.segment, c.metric
