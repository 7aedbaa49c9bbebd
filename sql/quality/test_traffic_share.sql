/* ---
name: test_traffic_share
family: quality
description: |
  Synthetic and test requests mixed into production traffic skew every other metric.
  - test_traffic_share: share of the window's rows whose boolean `column` is TRUE
    (NULL counts as not test). baseline_value: the baseline's share, when the monitor
    has a baseline.
  An empty window is NULL with a reason.
params:
  column: {type: str, default: is_test, description: boolean column that flags test traffic}
  by: {type: list[list[str]], default: [], description: "slices, e.g. [[country]]"}
metrics: [test_traffic_share]
returns: [segment, feature, metric, value, sample_size, baseline_value, baseline_size, reason]
--- */
{#- Helpers (sql/macros/): the model's rows in a time range, and segment labels. -#}
{%- from 'macros/model_rows.sql' import model_rows %}
{%- from 'macros/segment_label.sql' import segment_label %}
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
-- One row per row of each sample, per slice of `by` ('all' first) and per column:
-- flagged is 1 when the flag column is TRUE (NULL is
-- not test traffic).
observations AS (
{%- for slice in [[]] + by %}{% set first_slice = loop.first %}
{%- for col in [column] %}{% set first_col = first_slice and loop.first %}
{%- for sample, source in samples %}
    {% if not (first_col and loop.first) %}UNION ALL {% endif -%}
    SELECT {{ sample | literal }} AS sample, {{ segment_label(slice, segment_pools) }} AS segment, {{ col | literal }} AS feature,
           CASE WHEN {{ col | ident }} THEN 1 ELSE 0 END AS flagged
    FROM {{ source }}
{%- endfor %}{% endfor %}{% endfor %}
{%- for col in [column] %}
    -- The 'all' segment of every column exists even when the windows are empty.
    UNION ALL SELECT 'none', 'all', {{ col | literal }}, 0
{%- endfor %}
),
totals AS (
    SELECT segment, feature,
           COUNT(CASE WHEN sample = 'cur' THEN 1 END) AS rows_cur,
           SUM(CASE WHEN sample = 'cur' THEN flagged ELSE 0 END) AS flagged_cur,
           COUNT(CASE WHEN sample = 'base' THEN 1 END) AS rows_base,
           SUM(CASE WHEN sample = 'base' THEN flagged ELSE 0 END) AS flagged_base
    FROM observations
    GROUP BY segment, feature
)
-- The share of flagged rows in the window, and in the baseline when there is one.
SELECT segment,
       feature,
       'test_traffic_share' AS metric,
       flagged_cur * 1.0 / NULLIF(rows_cur, 0) AS value,
       rows_cur AS sample_size,
       {% if baseline is not none %}flagged_base * 1.0 / NULLIF(rows_base, 0){% else %}CAST(NULL AS DOUBLE){% endif %} AS baseline_value,
       {% if baseline is not none %}rows_base{% else %}CAST(NULL AS BIGINT){% endif %} AS baseline_size,
       CASE WHEN rows_cur = 0 THEN 'the current window has no rows' END AS reason
FROM totals
ORDER BY segment, feature
