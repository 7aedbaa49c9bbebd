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
{%- set slice_sets = slices or (model.slices | batch(1) | list) %}
{%- set testable = ['accuracy', 'precision', 'recall', 'fpr', 'positive_rate', 'base_rate', 'label_coverage', 'auc'] %}
{%- set untested = metrics | reject('in', testable) | list %}
{%- if untested %}{{ fail("slice_metrics tests rates and auc only; not " ~ untested | join(', ') ~ " (use performance/classification for them)") }}{% endif %}
{%- if not metrics %}{{ fail("slice_metrics needs at least one metric") }}{% endif %}
{%- if compare == 'champion' %}
{%- if not model.shadow_pairs %}{{ fail("compare: champion needs the model's shadow_pairs table") }}{% endif %}
{%- set prod_cut = threshold if threshold is not none else model.thresholds.get('production', 0.5) %}
{%- set shadow_cut = threshold if threshold is not none else model.thresholds.get('shadow', prod_cut) %}
{%- set samples = [('cur', 'pairs', 'shadow_score', shadow_cut), ('base', 'pairs', 'prod_score', prod_cut)] %}
{%- elif compare == 'baseline' %}
{%- set cut = threshold if threshold is not none else model.thresholds.get(role, 0.5) %}
{%- set samples = [('cur', 'current_window', score_column, cut), ('base', 'baseline_window', score_column, cut)] %}
{%- else %}{{ fail("compare must be 'baseline' or 'champion', not " ~ compare) }}
{%- endif %}
WITH
{%- if compare == 'champion' %}
pairs AS (
    -- The requests both models scored, in the window (prediction time).
    SELECT * FROM ({{ shadow_pair_rows([window], slice_sets) }}) AS window_pairs
    WHERE has_production AND has_shadow
),
{%- else %}
current_window AS (
    {{ current_rows() }}
),
baseline_window AS (
    {{ baseline_rows() }}
),
{%- endif %}
scored AS (
    {{ scored_rows(samples, slice_sets, label_column) }}
),
{{ classification_ctes(slice_sets, metrics, 10, true) }},
tested AS (
    SELECT *,
           CASE
               WHEN metric != 'auc' THEN {{ proportion_z('value', 'sample_size', 'baseline_value', 'baseline_size') }}
               WHEN value IS NULL OR baseline_value IS NULL THEN NULL
               WHEN value = baseline_value THEN 0.0
               -- Both variances at the pooled AUC (weighted by P·N), as the two-proportion
               -- test pools its proportion: at a side's own AUC of 0 or 1 the variance is
               -- 0, and one misranked positive would look certain.
               ELSE (value - baseline_value) / NULLIF(SQRT(
                   {{ auc_variance('pooled_auc', 'cur_pos', 'cur_neg') }}
                   + {{ auc_variance('pooled_auc', 'base_pos', 'base_neg') }}), 0)
           END AS statistic
    FROM (
        SELECT *,
               (value * cur_pos * cur_neg + baseline_value * base_pos * base_neg)
                   / NULLIF(cur_pos * cur_neg + base_pos * base_neg, 0) AS pooled_auc
        FROM metric_rows
    ) AS m
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
           'low', {{ interval('value', 'sample_size', 'cur_pos', 'cur_neg', -1) }},
           'high', {{ interval('value', 'sample_size', 'cur_pos', 'cur_neg', 1) }},
           'baseline_low', {{ interval('baseline_value', 'baseline_size', 'base_pos', 'base_neg', -1) }},
           'baseline_high', {{ interval('baseline_value', 'baseline_size', 'base_pos', 'base_neg', 1) }}
       ) END AS detail
FROM tested
ORDER BY segment, metric
