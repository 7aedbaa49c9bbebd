{#- The CTEs `current_window` and, when the monitor has a baseline, `baseline_window`,
    each followed by a comma: for checks whose baseline is optional (quality checks). -#}
{% from 'macros/baseline_rows.sql' import baseline_rows with context %}
{% from 'macros/current_rows.sql' import current_rows with context %}
{% macro window_ctes() -%}
current_window AS (
    {{ current_rows() }}
),
{%- if baseline is not none %}
baseline_window AS (
    {{ baseline_rows() }}
),
{%- endif %}
{%- endmacro %}
