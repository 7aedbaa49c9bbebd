{#- One row per observation of column `col` in the CTEs `current_window` ('cur') and
    `baseline_window` ('base'), for every slice of `by` ('all' first): sample, segment,
    v. Plus one row of sample 'none' (counted in neither), so the 'all' segment exists
    even when both windows are empty and a check can say so instead of going silent. -#}
{% from 'macros/finite_double.sql' import finite_double with context %}
{% from 'macros/segment_label.sql' import segment_label with context %}
{% macro observations(col, by, numeric) -%}
{%- for seg in [[]] + by %}{% set first_slice = loop.first %}
{%- for sample, source in [('cur', 'current_window'), ('base', 'baseline_window')] %}
    {% if not (first_slice and loop.first) %}UNION ALL {% endif -%}
    SELECT {{ sample | literal }} AS sample, {{ segment_label(seg) }} AS segment,
           {% if numeric %}{{ finite_double(col) }}{% else %}CAST({{ col | ident }} AS VARCHAR){% endif %} AS v
    FROM {{ source }}
{%- endfor %}{% endfor %}
    UNION ALL SELECT 'none' AS sample, 'all' AS segment, CAST(NULL AS {{ 'DOUBLE' if numeric else 'VARCHAR' }}) AS v
{%- endmacro %}
