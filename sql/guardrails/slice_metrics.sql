/* ---
name: slice_metrics
family: guardrails
description: |
  Per-slice metrics against a baseline or a champion model, with significance tests.
  A regression in one segment that the aggregate hides is found (and a noisy small
  slice is not). Formulas and references: docs/metrics.md, "Guardrail slices".
  compare: baseline — the model's window against its baseline window (independent
  samples); champion — on the same window and the same requests (shadow_pairs rows
  with both sides), the shadow model's scores (value) against production's
  (baseline_value), so a candidate is judged before it ships. With champion the
  monitor's baseline and score_column are not used (shadow_pairs has prod_score and
  shadow_score), and slices must be among the model's `slices` (the columns dbt
  copies into shadow_pairs).
  Every slice set of `slices` (and the 'all' segment) comes from one GROUP BY
  GROUPING SETS pass. Metrics as in performance/classification (label metrics over
  mature labelled predictions, positive_rate over every scored one).
  statistic (test z, p_value filled by the runner, two-sided):
  - rates: two-proportion z-test with the pooled proportion,
    z = (p₁ − p₂) / √(p̄(1 − p̄)(1/n₁ + 1/n₂));
  - auc: Hanley & McNeil (1982) standard errors, z = (A₁ − A₂) / √(SE₁² + SE₂²),
    both taken at the pooled AUC (weighted by P·N) as the rates' pooled proportion.
  For the paired champion comparison both treat the two models as independent,
  which overstates the variance when their errors are positively correlated (two
  models scoring the same requests): conservative, fewer false alarms.
  detail: delta and 95% intervals (Wilson for rates, Hanley–McNeil for auc) of the
  value and the baseline. Rules use `measure: delta` or `relative_delta` for the
  tolerance and `max_q_value` for the Benjamini–Hochberg correction across every
  slice × metric the run tests.
params:
  slices: {type: list[list[str]], default: [], description: "slice sets, e.g. [[country], [country, device]]; default: each of the model's slices alone"}
  metrics: {type: list[str], default: [positive_rate, precision, recall], description: "any of accuracy, precision, recall, fpr, positive_rate, base_rate, label_coverage, auc"}
  compare: {type: str, default: baseline, description: "baseline (same model, baseline window) or champion (shadow vs production, same requests)"}
  threshold: {type: float, default: null, description: "a prediction is positive when score >= threshold (default: the model's thresholds for the role, else 0.5; with champion each model's own)"}
  score_column: {type: str, default: score, description: "the score, for compare: baseline"}
  label_column: {type: str, default: label, description: "the outcome: 1 positive, 0 negative"}
metrics: [accuracy, precision, recall, fpr, positive_rate, base_rate, label_coverage, auc]
returns: [segment, feature, metric, value, sample_size, baseline_value, baseline_size, test, statistic, reason, detail]
--- */
{#- Helpers (sql/macros/): the model's rows in a time range, NaN and ±inf as missing,
    the GROUPING SETS of the slices with their segment labels, and the check that
    shadow_pairs has the slice columns. -#}
{%- from 'macros/model_rows.sql' import model_rows %}
{%- from 'macros/finite_double.sql' import finite_double %}
{%- from 'macros/distinct_slices.sql' import distinct_slices %}
{%- from 'macros/grouping_sets.sql' import grouping_sets %}
{%- from 'macros/grouping_segment.sql' import grouping_segment %}
{%- from 'macros/slice_projection.sql' import slice_projection %}
{%- from 'macros/paired_slices.sql' import paired_slices %}
{%- set slice_sets = slices or (model.slices | batch(1) | list) %}
{%- set testable = ['accuracy', 'precision', 'recall', 'fpr', 'positive_rate', 'base_rate', 'label_coverage', 'auc'] %}
{%- set untested = metrics | reject('in', testable) | list %}
{%- if untested %}{{ fail("slice_metrics tests rates and auc only; not " ~ untested | join(', ') ~ " (use performance/classification for them)") }}{% endif %}
{%- if not metrics %}{{ fail("slice_metrics needs at least one metric") }}{% endif %}
{#- AUC needs every distinct score in order within its segment (a sort); the rates need
    only which side of the threshold a score falls on. Without auc the rows group to
    a few (sample, segment, above_cut) counts and no window sorts the scores. #}
{%- set ranks = 'auc' in metrics %}
{{- distinct_slices(slice_sets) }}
{%- if compare == 'champion' %}
{%- if not model.shadow_pairs %}{{ fail("compare: champion needs the model's shadow_pairs table") }}{% endif %}
{{- paired_slices(slice_sets, model.slices) }}
{%- set prod_cut = threshold if threshold is not none else model.thresholds.get('production', 0.5) %}
{%- set shadow_cut = threshold if threshold is not none else model.thresholds.get('shadow', prod_cut) %}
{#- (sample, source, score column, threshold): the shadow's scores are the value, production's the baseline. #}
{%- set samples = [('cur', 'pairs', 'shadow_score', shadow_cut), ('base', 'pairs', 'prod_score', prod_cut)] %}
{%- elif compare == 'baseline' %}
{%- if baseline is none %}{{ fail("compare: baseline needs a baseline: set `baseline:` on the monitor (fixed, rolling, seasonal or table)") }}{% endif %}
{%- set cut = threshold if threshold is not none else model.thresholds.get(role, 0.5) %}
{%- set samples = [('cur', 'current_window', score_column, cut), ('base', 'baseline_window', score_column, cut)] %}
{%- else %}{{ fail("compare must be 'baseline' or 'champion', not " ~ compare) }}
{%- endif %}
{%- set not_mature = 'no prediction of the window has matured yet (ts + label_maturity <= run time)' %}
{#- The Hanley & McNeil (1982) variance of an AUC `a` from `pos` positives and `neg`
    negatives: (A(1−A) + (P−1)(Q₁−A²) + (N−1)(Q₂−A²)) / (P·N), Q₁ = A/(2−A),
    Q₂ = 2A²/(1+A). Each term is ≥ 0 for A in [0, 1]; GREATEST guards rounding. #}
{%- macro hanley_mcneil_variance(a, pos, neg) -%}
GREATEST(({{ a }} * (1 - {{ a }})
    + ({{ pos }} - 1) * ({{ a }} / (2 - {{ a }}) - {{ a }} * {{ a }})
    + ({{ neg }} - 1) * (2 * {{ a }} * {{ a }} / (1 + {{ a }}) - {{ a }} * {{ a }}))
    / NULLIF({{ pos }} * {{ neg }}, 0), 0)
{%- endmacro %}
{#- z = Φ⁻¹(0.975) and z², for the 95% intervals. #}
{%- set z = 1.959963984540054 %}
{%- set z2 = z * z %}
WITH
{%- if compare == 'champion' %}
pairs AS (
    -- The requests both models scored, in the window (prediction time).
    SELECT * FROM ({{ model_rows(model.shadow_pairs, model.name, [window]) }}) AS window_pairs
    WHERE has_production AND has_shadow
),
{%- else %}
current_window AS (
    {{ model_rows(model.predictions, model.name, [window], role) }}
),
baseline_window AS (
    {%- if baseline.table %}
    SELECT * FROM {{ baseline.table | table }}
    {%- else %}
    {{ model_rows(model.predictions, model.name, baseline.ranges, role) }}
    {%- endif %}
),
{%- endif %}
-- One row per prediction of each sample: the slice columns, the score (NaN, ±inf as
-- NULL), the sample's operating threshold `cut`, the label, and whether it has matured
-- at the run's time T (ts + label_maturity <= T).
scored AS (
    {%- for sample, source, score, cut in samples %}
    {% if not loop.first %}UNION ALL
    {% endif -%}
    SELECT {{ sample | literal }} AS sample,
          {{- slice_projection(slice_sets, segment_pools) }}
           {{ finite_double(score) }} AS score,
           CAST({{ cut | literal }} AS DOUBLE) AS cut,
           {{ finite_double(score) }} >= CAST({{ cut | literal }} AS DOUBLE) AS above_cut,
           CAST({{ label_column | ident }} AS DOUBLE) AS label,
           ts <= {{ mature_before | literal }} AS mature
    FROM {{ source }}
    {%- endfor %}
),
-- One GROUP BY GROUPING SETS pass reduces the rows to (sample, segment, above_cut, and
-- with auc, distinct score) with counts; every metric below is a sum over these groups,
-- so each slice and metric costs no extra scan. Label 1 is a positive, 0 a negative;
-- only mature rows count as labelled; any other label (NULL: no feedback yet) is
-- unlabelled.
score_groups AS (
    SELECT sample,
           {{ grouping_segment(slice_sets, segment_pools) }} AS segment,
           cut,
           above_cut,
           {%- if ranks %}
           score,
           {%- endif %}
           COUNT(*) AS n_rows,
           COUNT(CASE WHEN mature THEN 1 END) AS n_mature,
           COUNT(CASE WHEN mature AND label = 1 THEN 1 END) AS n_pos,
           COUNT(CASE WHEN mature AND label = 0 THEN 1 END) AS n_neg,
           COUNT(CASE WHEN mature AND label NOT IN (0, 1) THEN 1 END) AS n_other
    FROM scored
    GROUP BY {{ grouping_sets(slice_sets, ['sample', 'cut', 'above_cut'] + (['score'] if ranks else []), segment_pools) }}
),
ranked AS (
    {%- if ranks %}
    -- Negatives scored strictly below each distinct score. AUC is the Mann–Whitney
    -- statistic: the share of (positive, negative) pairs ranked right, a tie counting
    -- ½, which is the ROC curve's trapezoid area (mid-ranks for ties).
    SELECT *,
           COALESCE(SUM(n_neg) OVER (
               PARTITION BY sample, segment ORDER BY score NULLS LAST
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS neg_below
    {%- else %}
    -- auc is not asked for: no ranks.
    SELECT *, 0 AS neg_below
    {%- endif %}
    FROM score_groups
),
-- Per sample and segment, the sums every metric is written over. A prediction is
-- positive (flagged) when score >= cut; pos and neg count the labelled ones that have
-- a score.
segment_stats AS (
    SELECT sample, segment,
           SUM(CASE WHEN above_cut IS NOT NULL THEN n_rows ELSE 0 END) AS scored,
           SUM(CASE WHEN above_cut THEN n_rows ELSE 0 END) AS flagged,
           SUM(n_mature) AS mature,
           SUM(n_pos + n_neg) AS labelled,
           SUM(n_other) AS other_labels,
           SUM(CASE WHEN above_cut IS NOT NULL THEN n_pos ELSE 0 END) AS pos,
           SUM(CASE WHEN above_cut IS NOT NULL THEN n_neg ELSE 0 END) AS neg,
           SUM(CASE WHEN above_cut THEN n_pos ELSE 0 END) AS tp,
           SUM(CASE WHEN above_cut THEN n_neg ELSE 0 END) AS fp,
           -- Σ over positives of the negatives ranked below them (ties ½).
           SUM(CASE WHEN above_cut IS NOT NULL THEN n_pos * (neg_below + 0.5 * n_neg) ELSE 0 END) AS auc_pairs
    FROM ranked
    GROUP BY sample, segment
),
-- Every segment in both samples, the 'all' segment always (so an empty window says
-- so): a sample without rows in a segment sums to 0.
sums AS (
    SELECT k.segment, s.sample,
           {%- for name in ['scored', 'flagged', 'mature', 'labelled', 'other_labels', 'pos', 'neg', 'tp', 'fp', 'auc_pairs'] %}
           COALESCE(t.{{ name }}, 0) AS {{ name }}{{ ',' if not loop.last }}
           {%- endfor %}
    FROM (SELECT segment FROM segment_stats UNION SELECT 'all') AS k
    CROSS JOIN (VALUES ('cur'), ('base')) AS s(sample)
    LEFT JOIN segment_stats AS t ON t.segment = k.segment AND t.sample = s.sample
),
-- Per sample, segment and metric: the value and its sample size, the metric's
-- denominator (precision counts predicted positives, recall actual ones, auc the
-- smaller class: one positive among thousands of negatives ranks nothing).
formulas AS (
    SELECT sample, segment, m.metric, other_labels, mature, labelled, pos, neg,
           CASE m.metric
               WHEN 'accuracy' THEN (tp + neg - fp) * 1.0 / NULLIF(pos + neg, 0)
               WHEN 'precision' THEN tp * 1.0 / NULLIF(tp + fp, 0)
               WHEN 'recall' THEN tp * 1.0 / NULLIF(pos, 0)
               WHEN 'fpr' THEN fp * 1.0 / NULLIF(neg, 0)
               WHEN 'positive_rate' THEN flagged * 1.0 / NULLIF(scored, 0)
               WHEN 'base_rate' THEN pos * 1.0 / NULLIF(pos + neg, 0)
               WHEN 'auc' THEN auc_pairs * 1.0 / NULLIF(pos * neg, 0)
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
    CROSS JOIN (VALUES {% for m in metrics %}{{ ', ' if not loop.first }}({{ m | literal }}){% endfor %}) AS m(metric)
),
-- A label that is neither 0 nor 1 (-1/+1, a probability, a class id) means these are
-- not binary outcomes: every label metric says so instead of reading them wrong. Why
-- a value is undefined goes in `reason`.
metric_values AS (
    SELECT sample, segment, metric, n, pos, neg,
           CASE WHEN other_labels = 0 OR metric IN ('positive_rate', 'label_coverage') THEN value END AS value,
           CASE
               WHEN other_labels = 0 OR metric IN ('positive_rate', 'label_coverage') THEN
                   CASE
                       WHEN value IS NOT NULL THEN NULL
                       WHEN metric = 'positive_rate' THEN 'the window has no scored predictions'
                       WHEN mature = 0 THEN {{ not_mature | literal }}
                       WHEN labelled = 0 THEN 'no mature prediction has a 0/1 label (feedback missing?)'
                       WHEN pos + neg = 0 THEN 'no mature labelled prediction has a score'
                       WHEN metric = 'precision' THEN 'no mature labelled prediction scored at or above the threshold'
                       WHEN metric = 'recall' THEN 'no actual positive among the mature labelled predictions'
                       WHEN metric = 'fpr' THEN 'no actual negative among the mature labelled predictions'
                       WHEN metric = 'auc' AND pos = 0 THEN 'AUC is undefined: every mature labelled prediction is negative'
                       WHEN metric = 'auc' THEN 'AUC is undefined: every mature labelled prediction is positive'
                   END
               ELSE CAST(other_labels AS VARCHAR) || ' mature label(s) are neither 0 nor 1: the classification metrics need 0/1 labels'
           END AS reason
    FROM formulas
),
-- Each side's 95% interval (value's and baseline's alike), clamped to [0, 1]: at v = 0
-- or 1 rounding can step a hair outside. For a rate, Wilson's score interval
-- (v + z²/2n ± z·√(v(1−v)/n + z²/4n²)) / (1 + z²/n); for auc, v ± z·SE with the
-- Hanley–McNeil variance at the side's own AUC. NULL without a value or a sample (and
-- no division by zero on strict engines).
sides AS (
    SELECT *,
           CASE WHEN value IS NULL OR n = 0 THEN NULL
                WHEN metric = 'auc' THEN LEAST(1.0, GREATEST(0.0, value - {{ z }} * auc_se))
                ELSE LEAST(1.0, GREATEST(0.0, (wilson_centre - {{ z }} * wilson_root) / wilson_scale))
           END AS low,
           CASE WHEN value IS NULL OR n = 0 THEN NULL
                WHEN metric = 'auc' THEN LEAST(1.0, GREATEST(0.0, value + {{ z }} * auc_se))
                ELSE LEAST(1.0, GREATEST(0.0, (wilson_centre + {{ z }} * wilson_root) / wilson_scale))
           END AS high
    FROM (
        SELECT *,
               CASE WHEN metric = 'auc' THEN SQRT({{ hanley_mcneil_variance('value', 'pos', 'neg') | indent(15) }}) END AS auc_se,
               CASE WHEN n > 0 THEN value + {{ z2 }} / (2.0 * n) END AS wilson_centre,
               CASE WHEN n > 0 THEN SQRT(value * (1 - value) / n + {{ z2 }} / (4.0 * n * n)) END AS wilson_root,
               CASE WHEN n > 0 THEN 1 + {{ z2 }} / n END AS wilson_scale
        FROM metric_values
    ) AS terms
),
-- The window's (or the shadow's) value beside the baseline's (or production's), with
-- each side's class counts for AUC's standard errors, and the pooled estimates the z
-- test takes both variances at: the pooled proportion p̄ = (v₁n₁ + v₂n₂) / (n₁ + n₂)
-- for a rate, the AUC weighted by P·N for auc.
paired AS (
    SELECT c.segment, c.metric, c.value, c.n AS sample_size, b.value AS baseline_value,
           b.n AS baseline_size, c.reason,
           c.pos AS cur_pos, c.neg AS cur_neg, b.pos AS base_pos, b.neg AS base_neg,
           c.low, c.high, b.low AS baseline_low, b.high AS baseline_high,
           (c.value * c.n + b.value * b.n) / NULLIF(c.n + b.n, 0) AS pooled_rate,
           (c.value * c.pos * c.neg + b.value * b.pos * b.neg)
               / NULLIF(c.pos * c.neg + b.pos * b.neg, 0) AS pooled_auc
    FROM sides AS c
    JOIN sides AS b ON b.segment = c.segment AND b.metric = c.metric AND b.sample = 'base'
    WHERE c.sample = 'cur'
),
-- z (test z; the runner turns it into a two-sided p-value): 0 when the values are
-- equal, NULL when either is undefined; for a rate, the pooled two-proportion z
-- (v₁ − v₂) / √(p̄(1 − p̄)(1/n₁ + 1/n₂)); for auc, (A₁ − A₂) / √(SE₁² + SE₂²), both
-- variances at the pooled AUC, as the two-proportion test pools its proportion: at a
-- side's own AUC of 0 or 1 the variance is 0, and one misranked positive would look
-- certain.
tested AS (
    SELECT *,
           CASE
               WHEN value IS NULL OR baseline_value IS NULL THEN NULL
               WHEN value = baseline_value THEN 0.0
               WHEN metric != 'auc' THEN (value - baseline_value) / NULLIF(SQRT(
                   pooled_rate * (1 - pooled_rate) * (1.0 / sample_size + 1.0 / baseline_size)), 0)
               ELSE (value - baseline_value) / NULLIF(SQRT(
                   {{ hanley_mcneil_variance('pooled_auc', 'cur_pos', 'cur_neg') }}
                   + {{ hanley_mcneil_variance('pooled_auc', 'base_pos', 'base_neg') }}), 0)
           END AS statistic
    FROM paired
)
SELECT segment,
       '' AS feature,
       metric,
       value,
       sample_size,
       baseline_value,
       baseline_size,
       'z' AS test,
       statistic,
       reason,
       -- (value − baseline_value) in parentheses: sqlglot reads a bare `value` after a
       -- key as JSON_OBJECT's KEY … VALUE syntax and drops it.
       CASE WHEN value IS NOT NULL THEN json_object(
           'delta', (value - baseline_value),
           'interval', CASE WHEN metric = 'auc' THEN 'Hanley-McNeil 95%' ELSE 'Wilson 95%' END,
           'low', low, 'high', high, 'baseline_low', baseline_low, 'baseline_high', baseline_high
       ) END AS detail
FROM tested
ORDER BY segment, metric
