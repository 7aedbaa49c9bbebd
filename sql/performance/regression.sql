/* ---
name: regression
family: performance
description: |
  Regression error once the outcomes are known, overall and per slice.
  Slices come from `by`. Formulas and references: docs/metrics.md, "Performance".
  Over the window's mature predictions (ts + label_maturity <= the run's time) that
  have a finite target and a finite prediction, e = prediction − target:
  - mae = Σ|e| / n; rmse = √(Σe² / n); mean_bias = Σe / n (positive: over-predicts);
  - wape = Σ|e| / Σ|target|: a relative error that stays finite when some targets are
    0 (MAPE divides by each target and explodes); NULL when every target is 0.
  - label_coverage: mature predictions with a target / mature predictions.
  baseline_value/baseline_size: the same over the baseline, when the monitor has one.
params:
  by: {type: list[list[str]], default: [], description: "slices, e.g. [[country], [country, device]]"}
  prediction_column: {type: str, default: score, description: the model's prediction}
  target_column: {type: str, default: label, description: the true value}
metrics: [mae, rmse, mean_bias, wape, label_coverage]
returns: [segment, feature, metric, value, sample_size, baseline_value, baseline_size, reason]
--- */
{%- set samples = [('cur', 'current_window', prediction_column, none)] %}
{%- if baseline is not none %}{% set samples = samples + [('base', 'baseline_window', prediction_column, none)] %}{% endif %}
{%- set no_targets -%}
CASE WHEN @mature = 0 THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
     WHEN @labelled = 0 THEN 'no mature prediction has a target (feedback missing?)'
     ELSE 'no mature prediction with a target has a finite prediction' END
{%- endset %}
{%- set defs = {
    'mae': ('@abs_error / NULLIF(@n, 0)', '@n', no_targets),
    'rmse': ('SQRT(@squared_error / NULLIF(@n, 0))', '@n', no_targets),
    'mean_bias': ('@error / NULLIF(@n, 0)', '@n', no_targets),
    'wape': ('@abs_error / NULLIF(@abs_target, 0)', '@n',
        "CASE WHEN @n = 0 THEN " ~ no_targets ~ " ELSE 'every target is 0: a relative error is undefined' END"),
    'label_coverage': ('@labelled * 1.0 / NULLIF(@mature, 0)', '@mature',
        "'no prediction of the window has matured yet (ts + label_maturity <= run time)'"),
} %}
WITH
{{ window_ctes() }}
scored AS (
    {{ scored_rows(samples, by, target_column) }}
),
errors AS (
    -- e = prediction − target on the mature rows that have both; NULL elsewhere.
    SELECT *,
           CASE WHEN mature AND isfinite(label) THEN score - label END AS e,
           CASE WHEN mature AND isfinite(label) AND score IS NOT NULL THEN ABS(label) END AS abs_target
    FROM scored
),
segment_stats AS (
    SELECT sample,
           {{ grouping_segment(by) }} AS segment,
           COUNT(CASE WHEN mature THEN 1 END) AS mature,
           COUNT(CASE WHEN mature AND isfinite(label) THEN 1 END) AS labelled,
           COUNT(e) AS n,
           SUM(ABS(e)) AS abs_error,
           SUM(e * e) AS squared_error,
           SUM(e) AS error,
           SUM(abs_target) AS abs_target
    FROM errors
    GROUP BY {{ grouping_sets(by, ['sample']) }}
),
{{ compared_rows(defs, ['mae', 'rmse', 'mean_bias', 'wape', 'label_coverage'], ['mature', 'labelled', 'n', 'abs_error', 'squared_error', 'error', 'abs_target'], [], baseline is not none) }}
SELECT segment,
       '' AS feature,
       metric,
       value,
       sample_size,
       baseline_value,
       baseline_size,
       reason
FROM metric_rows
ORDER BY segment, metric
