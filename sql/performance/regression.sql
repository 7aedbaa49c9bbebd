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
{#- Helpers (sql/macros/): the model's rows in a time range, NaN and ±inf as missing,
    and the GROUPING SETS of the slices with their segment labels. -#}
{%- from 'macros/model_rows.sql' import model_rows %}
{%- from 'macros/finite_double.sql' import finite_double %}
{%- from 'macros/distinct_slices.sql' import distinct_slices %}
{%- from 'macros/grouping_sets.sql' import grouping_sets %}
{%- from 'macros/grouping_segment.sql' import grouping_segment %}
{%- from 'macros/slice_projection.sql' import slice_projection %}
{{- distinct_slices(by) }}
{%- set samples = [('cur', 'current_window')] + ([('base', 'baseline_window')] if baseline is not none else []) %}
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
-- One row per prediction of each sample: the slice columns, the prediction (NaN, ±inf
-- as NULL), the target, and whether it has matured at the run's time T
-- (ts + label_maturity <= T).
scored AS (
    {%- for sample, source in samples %}
    {% if not loop.first %}UNION ALL
    {% endif -%}
    SELECT {{ sample | literal }} AS sample,
          {{- slice_projection(by, segment_pools) }}
           {{ finite_double(prediction_column) }} AS score,
           CAST({{ target_column | ident }} AS DOUBLE) AS label,
           ts <= {{ mature_before | literal }} AS mature
    FROM {{ source }}
    {%- endfor %}
),
errors AS (
    -- e = prediction − target on the mature rows that have both; NULL elsewhere.
    SELECT *,
           CASE WHEN mature AND isfinite(label) THEN score - label END AS e,
           CASE WHEN mature AND isfinite(label) AND score IS NOT NULL THEN ABS(label) END AS abs_target
    FROM scored
),
-- Per sample and segment (every slice set and 'all' in one GROUPING SETS pass), the
-- sums every metric is written over.
segment_stats AS (
    SELECT sample,
           {{ grouping_segment(by, segment_pools) }} AS segment,
           COUNT(CASE WHEN mature THEN 1 END) AS mature,
           COUNT(CASE WHEN mature AND isfinite(label) THEN 1 END) AS labelled,
           COUNT(e) AS n,
           SUM(ABS(e)) AS abs_error,
           SUM(e * e) AS squared_error,
           SUM(e) AS error,
           SUM(abs_target) AS abs_target
    FROM errors
    GROUP BY {{ grouping_sets(by, ['sample'], segment_pools) }}
),
-- Every segment in every sample, the 'all' segment always (so an empty window says
-- so): a sample without rows in a segment sums to 0.
sums AS (
    SELECT k.segment, s.sample,
           {%- for name in ['mature', 'labelled', 'n', 'abs_error', 'squared_error', 'error', 'abs_target'] %}
           COALESCE(t.{{ name }}, 0) AS {{ name }}{{ ',' if not loop.last }}
           {%- endfor %}
    FROM (SELECT segment FROM segment_stats UNION SELECT 'all') AS k
    CROSS JOIN (VALUES {% for sample, _ in samples %}{{ ', ' if not loop.first }}({{ sample | literal }}){% endfor %}) AS s(sample)
    LEFT JOIN segment_stats AS t ON t.segment = k.segment AND t.sample = s.sample
),
-- Per sample, segment and metric: the value, its sample size, and why it is undefined.
metric_values AS (
    SELECT sample, segment, metric, value, n,
           CASE
               WHEN value IS NOT NULL THEN NULL
               WHEN mature = 0 THEN 'no prediction of the window has matured yet (ts + label_maturity <= run time)'
               WHEN labelled = 0 THEN 'no mature prediction has a target (feedback missing?)'
               WHEN n = 0 THEN 'no mature prediction with a target has a finite prediction'
               ELSE 'every target is 0: a relative error is undefined'  -- wape
           END AS reason
    FROM (
        SELECT sample, segment, m.metric, mature, labelled,
               CASE m.metric
                   WHEN 'mae' THEN abs_error / NULLIF(n, 0)
                   WHEN 'rmse' THEN SQRT(squared_error / NULLIF(n, 0))
                   WHEN 'mean_bias' THEN error / NULLIF(n, 0)
                   WHEN 'wape' THEN abs_error / NULLIF(abs_target, 0)
                   WHEN 'label_coverage' THEN labelled * 1.0 / NULLIF(mature, 0)
               END AS value,
               CASE WHEN m.metric = 'label_coverage' THEN mature ELSE n END AS n
        FROM sums
        CROSS JOIN (VALUES ('mae'), ('rmse'), ('mean_bias'), ('wape'), ('label_coverage')) AS m(metric)
    ) AS formulas
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
