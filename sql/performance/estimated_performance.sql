/* ---
name: estimated_performance
family: performance
description: |
  Performance before the labels arrive: confidence-based performance estimation
  (CBPE; NannyML's docs, "Estimation of Performance of the Monitored Model";
  Kivimäki et al. 2024, arXiv:2407.08649). Each score is read as the probability of a
  positive through a calibration map fitted on the baseline, and the window's
  confusion matrix is its expectation under those probabilities: no label is read.
  The fit, once per monitor and segment, then frozen (monitor.bin_specs, kind
  isotonic) once every prediction of the baseline has matured and each class has
  min_samples of them: `calibration_bins` below cuts the baseline's mature predictions with a
  0/1 label and a score into `bins` bins, half of equal count in the positives, half
  in the negatives (a score in bin ⌊(bins/2)·positives below it / positives⌋ +
  ⌊(bins/2)·negatives below it / negatives⌋, ties together; a rare class still gets
  bins where its scores are); the runner
  (monitor/fit.py) makes the bins' positive rates non-decreasing by isotonic
  regression (weighted by rows, pool adjacent violators), and the map p(s)
  interpolates linearly between the bins' mean scores, holding the end values beyond
  them (scikit-learn's IsotonicRegression(out_of_bounds='clip')).
  Over the window's scored predictions, n of them, a prediction flagged when
  s >= threshold, F the flagged ones, with p_i = p(s_i):
    P = Σ p_i (expected positives), TP = Σ_flagged p_i, FP = F − TP, FN = P − TP,
    TN = n − F − FN.
  - estimated_accuracy = (TP + TN) / n; estimated_precision = TP / F;
    estimated_recall = TP / P; estimated_f1 = 2TP / (F + P).
  - estimated_auc: the area under the ROC curve when each prediction counts p_i as
    a positive and 1 − p_i as a negative, ordered by score, a tie counting ½:
    Σ_groups P_g·(N_below + ½ N_g) / (P·N) over groups of equal score (the AUC
    scikit-learn's roc_auc_score gives each row twice, label 1 with weight p_i and
    label 0 with weight 1 − p_i).
  - detail: {standard_error, lower, upper}, the band value ± `band` standard errors,
    clipped to [0, 1]. The standard error is the spread of the realized value were
    the window's labels drawn from the p_i: accuracy √(Σ p_i(1 − p_i)) / n,
    precision √(V_F) / F, recall √(FN²·V_F + TP²·V_U) / P², f1
    2·√((F + FN)²·V_F + TP²·V_U) / (F + P)² (the delta method; V_F, V_U: Σ p_i(1 − p_i)
    over flagged and unflagged predictions), AUC Hanley & McNeil (1982) with P and N.
  - realized_<metric>: the same metric over the window's mature predictions with a
    0/1 label, as performance/classification computes it: NULL until labels mature;
    the runner runs each window again once they have (`rerun_when_mature`), and the
    realized value fills in beside the estimate.
  baseline_value/baseline_size: the realized metric over the baseline's mature
  labelled predictions. sample_size: the metric's denominator (estimated recall: P
  rounded half up; estimated auc: min(P, N) rounded half up). Undefined values are NULL with a reason:
  no calibration (no mature labelled baseline, one class only, baseline scores
  outside [0, 1]), window scores outside [0, 1], an empty window, a zero denominator.
params:
  metrics: {type: list[str], default: [auc, accuracy, precision, recall, f1], description: "among auc, accuracy, precision, recall, f1"}
  slices: {type: list[list[str]], default: [], description: "slices, e.g. [[country], [country, device]]"}
  bins: {type: int, default: 20, description: "calibration bins on the baseline's labelled scores (half equal in positives, half in negatives)"}
  threshold: {type: float, default: null, description: "a prediction is positive when score >= threshold (default: the model's thresholds for the monitor's role, else 0.5)"}
  band: {type: float, default: 3.0, description: "the band is the estimate ± this many standard errors"}
  score_column: {type: str, default: score, description: "the model's score, a probability"}
  label_column: {type: str, default: label, description: "the outcome: 1 positive, 0 negative"}
fit: {query: calibration_bins, method: isotonic}
rerun_when_mature: true
metrics: [estimated_auc, estimated_accuracy, estimated_precision, estimated_recall, estimated_f1, realized_auc, realized_accuracy, realized_precision, realized_recall, realized_f1]
returns: [segment, feature, metric, value, sample_size, baseline_value, baseline_size, reason, detail]
--- */
{#- Helpers (sql/macros/): the model's rows in a time range, NaN and ±inf as missing,
    segment labels, and the GROUPING SETS of the slices. -#}
{%- from 'macros/model_rows.sql' import model_rows %}
{%- from 'macros/finite_double.sql' import finite_double %}
{%- from 'macros/segment_label.sql' import segment_label %}
{%- from 'macros/distinct_slices.sql' import distinct_slices %}
{%- from 'macros/grouping_sets.sql' import grouping_sets %}
{%- from 'macros/grouping_segment.sql' import grouping_segment %}
{%- from 'macros/slice_projection.sql' import slice_projection %}
{%- set known = ['auc', 'accuracy', 'precision', 'recall', 'f1'] %}
{%- if not metrics or metrics | reject('in', known) | list %}{{ fail("estimated_performance: `metrics` must be a non-empty list among " ~ known | join(', ') ~ " (got " ~ metrics ~ ")") }}{% endif %}
{%- if bins < 2 %}{{ fail("estimated_performance: `bins` must be at least 2") }}{% endif %}
{%- if band <= 0 %}{{ fail("estimated_performance: `band` must be above 0 (standard errors each side)") }}{% endif %}
{%- if baseline is none %}{{ fail("estimated_performance needs a baseline to calibrate on: set `baseline:` on the monitor (fixed, rolling, seasonal or table) to a time whose labels have matured") }}{% endif %}
{{- distinct_slices(slices) }}
{%- set cut = threshold if threshold is not none else model.thresholds.get(role, 0.5) %}
{#- The baseline's rows: a reference table, or the model's rows in the baseline ranges. -#}
{%- macro baseline_source() %}
    {%- if baseline.table %}
    SELECT * FROM {{ baseline.table | table }}
    {%- else %}
    {{ model_rows(model.predictions, model.name, baseline.ranges, role) }}
    {%- endif %}
{%- endmacro %}
{#- The fit query (header `fit`): per segment not in `skip` (those have a frozen map),
    the baseline's mature predictions with a 0/1 label and a finite score in `bins`
    bins of equal count by score: rows, positives and the scores' sum, min and max.
    monitor/fit.py turns a segment's bins into the calibration map. -#}
{%- macro calibration_bins(skip) %}
WITH baseline_rows AS (
    {{- baseline_source() }}
),
labelled AS (
    {%- for slice in [[]] + slices %}
    {% if not loop.first %}UNION ALL {% endif -%}
    SELECT {{ segment_label(slice, segment_pools) }} AS segment,
           {{ finite_double(score_column) }} AS score,
           CAST({{ label_column | ident }} AS DOUBLE) AS label
    FROM baseline_rows
    WHERE ts <= {{ mature_before | literal }}
      AND CAST({{ label_column | ident }} AS DOUBLE) IN (0, 1)
    {%- endfor %}
),
-- Each distinct score once, with its rows and positives, and each class's rows scored
-- below it.
scores AS (
    SELECT segment, score, COUNT(*) AS n, SUM(label) AS positives
    FROM labelled
    WHERE score IS NOT NULL
    {%- if skip %}
      AND segment NOT IN {{ skip | literal }}
    {%- endif %}
    GROUP BY segment, score
),
ranked AS (
    SELECT *,
           COALESCE(SUM(positives) OVER (PARTITION BY segment ORDER BY score
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS positives_below,
           COALESCE(SUM(n - positives) OVER (PARTITION BY segment ORDER BY score
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS negatives_below,
           SUM(positives) OVER (PARTITION BY segment) AS positives_total,
           SUM(n - positives) OVER (PARTITION BY segment) AS negatives_total
    FROM scores
),
-- Bins of equal count in each class: half of them split the positives evenly by score,
-- half the negatives, and a bin ends wherever either does, so a rare class still has
-- bins where its scores are. A score's ties stay in one bin (no engine splits them its
-- own way): bin = ⌊(bins/2)·positives below / positives⌋ + ⌊(bins/2)·negatives below /
-- negatives⌋, non-decreasing in the score.
binned AS (
    SELECT *,
           COALESCE(FLOOR({{ bins / 2 }} * positives_below / NULLIF(positives_total, 0)), 0)
           + COALESCE(FLOOR({{ bins / 2 }} * negatives_below / NULLIF(negatives_total, 0)), 0) AS bin
    FROM ranked
)
-- unripe: the baseline's predictions not mature yet, whose labels may still come: a
-- map fitted while there are any serves the run but is not frozen.
SELECT segment, bin, SUM(n) AS n, SUM(positives) AS positives, SUM(n * score) AS score_sum,
       MIN(score) AS score_min, MAX(score) AS score_max,
       (SELECT COUNT(*) FROM baseline_rows WHERE ts > {{ mature_before | literal }}) AS unripe
FROM binned
GROUP BY segment, bin
{%- endmacro %}
{#- The segments with a calibration map, and the reasons of those without. -#}
{%- set found = namespace(maps=[], reasons=[]) %}
{%- for segment, spec in fits | dictsort %}
{%- if spec.get('scores') %}
{%- set found.maps = found.maps + [(segment, spec)] %}
{%- elif spec.get('reason') %}
{%- set found.reasons = found.reasons + [(segment, 'no calibration: ' ~ spec.reason)] %}
{%- endif %}
{%- endfor %}
{%- set maps, reasons = found.maps, found.reasons %}
WITH
current_window AS (
    {{ model_rows(model.predictions, model.name, [window], role) }}
),
baseline_window AS (
    {{- baseline_source() }}
),
-- One row per prediction of each sample: the slice columns, the score (NaN, ±inf as
-- NULL), the label, and whether it has matured at the run's time T
-- (ts + label_maturity <= T).
scored AS (
    {%- for sample, source in [('cur', 'current_window'), ('base', 'baseline_window')] %}
    {% if not loop.first %}UNION ALL
    {% endif -%}
    SELECT {{ sample | literal }} AS sample,
          {{- slice_projection(slices, segment_pools) }}
           {{ finite_double(score_column) }} AS score,
           CAST({{ label_column | ident }} AS DOUBLE) AS label,
           ts <= {{ mature_before | literal }} AS mature
    FROM {{ source }}
    {%- endfor %}
),
-- One GROUP BY GROUPING SETS pass reduces the rows to (sample, segment, distinct score)
-- with counts: every sum below is over these groups. Label 1 is a positive, 0 a
-- negative, only mature rows count as labelled, any other label as neither.
score_groups AS (
    SELECT sample,
           {{ grouping_segment(slices, segment_pools) }} AS segment,
           score,
           COUNT(*) AS n_rows,
           COUNT(CASE WHEN mature THEN 1 END) AS n_mature,
           COUNT(CASE WHEN mature AND label = 1 THEN 1 END) AS n_pos,
           COUNT(CASE WHEN mature AND label = 0 THEN 1 END) AS n_neg,
           COUNT(CASE WHEN mature AND label NOT IN (0, 1) THEN 1 END) AS n_other
    FROM scored
    GROUP BY {{ grouping_sets(slices, ['sample', 'score'], segment_pools) }}
),
-- The calibrated probability p(s) of each distinct score of the window: the segment's
-- frozen map, linear between its knots (mean score of a bin, its isotonic positive
-- rate), the end values beyond them; numpy's interp. NULL for a segment without a map.
calibrated AS (
    SELECT *,
           {%- if maps %}
           CASE WHEN sample = 'cur' AND score IS NOT NULL THEN CASE segment
           {%- for segment, spec in maps %}
               {%- set xs, ys = spec.scores, spec.rates %}
               WHEN {{ segment | literal }} THEN CASE
                   WHEN score <= {{ xs[0] | float }} THEN {{ ys[0] | float }}
                   {%- for i in range(1, xs | length) %}
                   WHEN score <= {{ xs[i] | float }} THEN {{ ys[i - 1] | float }} + (score - {{ xs[i - 1] | float }}) * {{ ((ys[i] - ys[i - 1]) / (xs[i] - xs[i - 1])) | float }}
                   {%- endfor %}
                   ELSE {{ ys[-1] | float }} END
           {%- endfor %}
           END END AS p
           {%- else %}
           CAST(NULL AS DOUBLE) AS p
           {%- endif %}
    FROM score_groups
    WHERE score IS NOT NULL
),
-- Two weightings of each score group, ranked in one sort: the estimate, where every
-- scored prediction counts p as a positive and 1 − p as a negative (window only), and
-- the realized one, the mature labelled predictions as they are. *_below: the
-- negatives' weight strictly below the group's score, for the AUC (only auc needs
-- the scores in order: without it nothing is sorted).
ranked AS (
    {%- if 'auc' in metrics %}
    SELECT *,
           COALESCE(SUM(n_rows * (1 - p)) OVER (
               PARTITION BY sample, segment ORDER BY score
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS e_neg_below,
           COALESCE(SUM(n_neg) OVER (
               PARTITION BY sample, segment ORDER BY score
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS r_neg_below
    {%- else %}
    SELECT *, 0 AS e_neg_below, 0 AS r_neg_below
    {%- endif %}
    FROM calibrated
),
-- Per sample and segment, the sums every metric is written over. A prediction is
-- flagged when score >= threshold.
segment_stats AS (
    SELECT sample, segment,
           SUM(n_rows) AS scored,
           SUM(CASE WHEN score >= {{ cut | float }} THEN n_rows ELSE 0 END) AS flagged,
           SUM(CASE WHEN score < 0 OR score > 1 THEN n_rows ELSE 0 END) AS not_probability,
           SUM(n_rows * p) AS e_pos,
           SUM(CASE WHEN score >= {{ cut | float }} THEN n_rows * p ELSE 0 END) AS e_tp,
           -- Σ p(1 − p), flagged and not: the variance of the realized counts.
           SUM(CASE WHEN score >= {{ cut | float }} THEN n_rows * p * (1 - p) ELSE 0 END) AS e_var_flagged,
           SUM(CASE WHEN score < {{ cut | float }} THEN n_rows * p * (1 - p) ELSE 0 END) AS e_var_unflagged,
           SUM(n_rows * p * (e_neg_below + 0.5 * n_rows * (1 - p))) AS e_auc_pairs,
           SUM(n_pos) AS r_pos,
           SUM(n_neg) AS r_neg,
           SUM(CASE WHEN score >= {{ cut | float }} THEN n_pos ELSE 0 END) AS r_tp,
           SUM(CASE WHEN score >= {{ cut | float }} THEN n_neg ELSE 0 END) AS r_fp,
           SUM(n_pos * (r_neg_below + 0.5 * n_neg)) AS r_auc_pairs
    FROM ranked
    GROUP BY sample, segment
),
-- Per segment: mature and labelled rows (with or without a score) and other labels,
-- for the realized metrics' reasons.
label_stats AS (
    SELECT sample, segment, SUM(n_mature) AS mature, SUM(n_pos + n_neg) AS labelled,
           SUM(n_other) AS other_labels
    FROM score_groups
    GROUP BY sample, segment
),
-- Every segment in both samples, the 'all' segment always (so an empty window says
-- so): a sample without rows in a segment sums to 0 (its p sums stay NULL).
sums AS (
    SELECT k.segment, s.sample,
           {%- for name in ['scored', 'flagged', 'not_probability', 'r_pos', 'r_neg', 'r_tp', 'r_fp', 'r_auc_pairs'] %}
           COALESCE(t.{{ name }}, 0) AS {{ name }},
           {%- endfor %}
           {%- for name in ['mature', 'labelled', 'other_labels'] %}
           COALESCE(l.{{ name }}, 0) AS {{ name }},
           {%- endfor %}
           t.e_pos, t.e_tp, t.e_var_flagged, t.e_var_unflagged, t.e_auc_pairs
    FROM (SELECT segment FROM score_groups UNION SELECT 'all') AS k
    CROSS JOIN (VALUES ('cur'), ('base')) AS s(sample)
    LEFT JOIN segment_stats AS t ON t.segment = k.segment AND t.sample = s.sample
    LEFT JOIN label_stats AS l ON l.segment = k.segment AND l.sample = s.sample
),
-- One confusion matrix per (sample, segment, kind), in the same terms for both kinds:
-- n predictions, F flagged, P positives, TP, the AUC's pair sum, and (estimate only)
-- the variances. The estimate is of the window only.
confusion AS (
    SELECT sample, segment, 'estimated' AS kind, scored AS window_rows, CAST(scored AS DOUBLE) AS n,
           CAST(flagged AS DOUBLE) AS f, e_pos AS pos,
           -- No map (e_pos NULL): no estimate at all, not a TP of 0.
           CASE WHEN e_pos IS NOT NULL THEN e_tp END AS tp, e_auc_pairs AS auc_pairs,
           e_var_flagged AS var_f, e_var_unflagged AS var_u, not_probability, mature,
           labelled, other_labels
    FROM sums
    WHERE sample = 'cur'
    UNION ALL
    SELECT sample, segment, 'realized', scored, CAST(r_pos + r_neg AS DOUBLE), CAST(r_tp + r_fp AS DOUBLE),
           CAST(r_pos AS DOUBLE), CAST(r_tp AS DOUBLE), CAST(r_auc_pairs AS DOUBLE),
           CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE), not_probability, mature, labelled,
           other_labels
    FROM sums
),
formulas AS (
    SELECT c.*, m.metric,
           CASE m.metric
               WHEN 'accuracy' THEN (n - f - pos + 2 * tp) / NULLIF(n, 0)
               WHEN 'precision' THEN tp / NULLIF(f, 0)
               WHEN 'recall' THEN tp / NULLIF(pos, 0)
               WHEN 'f1' THEN 2 * tp / NULLIF(f + pos, 0)
               WHEN 'auc' THEN auc_pairs / NULLIF(pos * (n - pos), 0)
           END AS value,
           CASE m.metric
               WHEN 'precision' THEN f
               -- Rounded half up on every engine (ROUND breaks ties its own way).
               WHEN 'recall' THEN FLOOR(pos + 0.5)
               WHEN 'auc' THEN FLOOR(LEAST(pos, n - pos) + 0.5)
               ELSE n
           END AS denominator
    FROM confusion AS c
    CROSS JOIN (VALUES {% for m in metrics %}{{ ', ' if not loop.first }}({{ m | literal }}){% endfor %}) AS m(metric)
),
-- The estimate's standard error (the delta method for recall and f1; Hanley & McNeil
-- for the AUC, from the expected class sizes), and why a value is undefined.
judged AS (
    SELECT *,
           CASE WHEN kind = 'estimated' AND value IS NOT NULL THEN
               CASE metric
                   WHEN 'accuracy' THEN SQRT(var_f + var_u) / n
                   WHEN 'precision' THEN SQRT(var_f) / f
                   WHEN 'recall' THEN SQRT((pos - tp) * (pos - tp) * var_f + tp * tp * var_u) / (pos * pos)
                   WHEN 'f1' THEN 2 * SQRT((f + pos - tp) * (f + pos - tp) * var_f + tp * tp * var_u) / ((f + pos) * (f + pos))
                   WHEN 'auc' THEN CASE WHEN pos >= 1 AND n - pos >= 1 THEN SQRT(GREATEST(
                       (value * (1 - value)
                        + (pos - 1) * (value / (2 - value) - value * value)
                        + (n - pos - 1) * (2 * value * value / (1 + value) - value * value))
                       / (pos * (n - pos)), 0)) END
               END
           END AS standard_error,
           CASE
               WHEN value IS NOT NULL AND (CASE WHEN kind = 'realized' THEN other_labels ELSE not_probability END) = 0 THEN NULL
               WHEN kind = 'realized' AND other_labels > 0
                   THEN CAST(other_labels AS VARCHAR) || ' mature label(s) are neither 0 nor 1: the classification metrics need 0/1 labels'
               WHEN kind = 'realized' AND mature = 0 AND window_rows = 0 THEN 'the window has no scored predictions'
               WHEN kind = 'realized' AND mature = 0 THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
               WHEN kind = 'realized' AND labelled = 0 THEN 'no mature prediction has a 0/1 label (feedback missing?)'
               WHEN kind = 'realized' AND n = 0 THEN 'no mature labelled prediction has a score'
               WHEN n = 0 THEN 'the window has no scored predictions'
               WHEN kind = 'estimated' AND not_probability > 0 THEN CAST(not_probability AS VARCHAR) || ' score(s) of the window lie outside [0, 1]: not probabilities'
               WHEN pos IS NULL THEN
                   {%- if reasons %}
                   CASE segment
                   {%- for segment, reason in reasons %}
                       WHEN {{ segment | literal }} THEN {{ reason | literal }}
                   {%- endfor %}
                       ELSE 'no calibration: the baseline has no mature labelled predictions in this segment' END
                   {%- else %}
                   'no calibration: the baseline has no mature labelled predictions in this segment'
                   {%- endif %}
               WHEN metric = 'precision' THEN 'no prediction scored at or above the threshold'
               WHEN metric = 'f1' THEN 'no positive, predicted or actual'
               WHEN kind = 'realized' AND pos = 0 THEN 'no actual positive among the mature labelled predictions'
               WHEN kind = 'realized' THEN 'no actual negative among the mature labelled predictions'
               WHEN pos = 0 THEN 'the calibrated probabilities expect no positive'
               ELSE 'the calibrated probabilities expect no negative'
           END AS reason
    FROM formulas
),
-- A realized value is NULL whenever a mature label is neither 0 nor 1, as in
-- performance/classification; an estimate whenever a window score is not a
-- probability.
metric_values AS (
    SELECT sample, segment, kind, metric, denominator,
           CASE WHEN reason IS NULL THEN value END AS value,
           CASE WHEN reason IS NULL THEN standard_error END AS standard_error,
           reason
    FROM judged
)
-- The window's values beside the baseline's realized one.
SELECT c.segment,
       '' AS feature,
       c.kind || '_' || c.metric AS metric,
       c.value,
       CAST(c.denominator AS BIGINT) AS sample_size,
       b.value AS baseline_value,
       CAST(b.denominator AS BIGINT) AS baseline_size,
       c.reason,
       CASE WHEN c.standard_error IS NOT NULL THEN JSON_OBJECT(
           'standard_error', c.standard_error,
           'lower', GREATEST(c.value - {{ band | float }} * c.standard_error, 0),
           'upper', LEAST(c.value + {{ band | float }} * c.standard_error, 1)) END AS detail
FROM metric_values AS c
LEFT JOIN metric_values AS b
    ON b.segment = c.segment AND b.metric = c.metric AND b.sample = 'base' AND b.kind = 'realized'
WHERE c.sample = 'cur'
ORDER BY c.segment, metric
