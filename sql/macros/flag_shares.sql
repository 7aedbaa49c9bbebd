{#- The share of rows for which a condition holds, per segment and column: the query
    after `WITH {{ window_ctes() }}` for checks such as null_rate and
    test_traffic_share. `when` is 'is_null' (the column is NULL) or 'is_true' (a boolean
    column is TRUE; NULL counts as false). Rows: segment, feature (the column), metric,
    value (the share in the window), sample_size, baseline_value and baseline_size (the
    baseline's, when the monitor has one), reason (an empty window). -#}
{% from 'macros/segment_label.sql' import segment_label with context %}
{% macro flag_shares(metric, columns, by, when) -%}
{%- set samples = [('cur', 'current_window')] + ([('base', 'baseline_window')] if baseline is not none else []) %}
observations AS (
{%- for seg in [[]] + by %}{% set first_slice = loop.first %}
{%- for col in columns %}{% set first_col = first_slice and loop.first %}
{%- for sample, source in samples %}
    {% if not (first_col and loop.first) %}UNION ALL {% endif -%}
    SELECT {{ sample | literal }} AS sample, {{ segment_label(seg) }} AS segment, {{ col | literal }} AS feature,
           CASE WHEN {{ col | ident }}{% if when == 'is_null' %} IS NULL{% elif when != 'is_true' %}{{ fail("flag_shares: when must be 'is_null' or 'is_true'") }}{% endif %} THEN 1 ELSE 0 END AS flagged
    FROM {{ source }}
{%- endfor %}{% endfor %}{% endfor %}
{%- for col in columns %}
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
SELECT segment,
       feature,
       {{ metric | literal }} AS metric,
       flagged_cur * 1.0 / NULLIF(rows_cur, 0) AS value,
       rows_cur AS sample_size,
       {% if baseline is not none %}flagged_base * 1.0 / NULLIF(rows_base, 0){% else %}CAST(NULL AS DOUBLE){% endif %} AS baseline_value,
       {% if baseline is not none %}rows_base{% else %}CAST(NULL AS BIGINT){% endif %} AS baseline_size,
       CASE WHEN rows_cur = 0 THEN 'the current window has no rows' END AS reason
FROM totals
ORDER BY segment, feature
{%- endmacro %}
