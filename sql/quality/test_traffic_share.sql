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
{%- set samples = [('cur', 'current_window')] + ([('base', 'baseline_window')] if baseline is not none else []) %}
WITH
{{ window_ctes() }}
observations AS (
{%- for seg in [[]] + by %}{% set first_slice = loop.first %}
{%- for sample, source in samples %}
    {% if not (first_slice and loop.first) %}UNION ALL {% endif -%}
    SELECT {{ sample | literal }} AS sample, {{ segment_label(seg) }} AS segment,
           CASE WHEN {{ column | ident }} THEN 1 ELSE 0 END AS is_test
    FROM {{ source }}
{%- endfor %}{% endfor %}
    -- The 'all' segment exists even when the windows are empty.
    UNION ALL SELECT 'none', 'all', 0
),
totals AS (
    SELECT segment,
           SUM(CASE WHEN sample = 'cur' THEN 1 ELSE 0 END) AS rows_cur,
           SUM(CASE WHEN sample = 'cur' THEN is_test ELSE 0 END) AS test_cur,
           SUM(CASE WHEN sample = 'base' THEN 1 ELSE 0 END) AS rows_base,
           SUM(CASE WHEN sample = 'base' THEN is_test ELSE 0 END) AS test_base
    FROM observations
    GROUP BY segment
)
SELECT segment,
       {{ column | literal }} AS feature,
       'test_traffic_share' AS metric,
       test_cur * 1.0 / NULLIF(rows_cur, 0) AS value,
       rows_cur AS sample_size,
       {% if baseline is not none %}test_base * 1.0 / NULLIF(rows_base, 0){% else %}CAST(NULL AS DOUBLE){% endif %} AS baseline_value,
       {% if baseline is not none %}rows_base{% else %}CAST(NULL AS BIGINT){% endif %} AS baseline_size,
       CASE WHEN rows_cur = 0 THEN 'the current window has no rows' END AS reason
FROM totals
ORDER BY segment
