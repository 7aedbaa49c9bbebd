{#- The baseline: earlier time ranges of the same model (fixed, rolling, seasonal —
    seasonal pools K disjoint ranges), or a reference table of the same columns. -#}
{% from 'macros/in_ranges.sql' import in_ranges with context %}
{% from 'macros/model_filter.sql' import model_filter with context %}
{% macro baseline_rows() -%}
{%- if baseline is none -%}
{{ fail("check needs a baseline: set `baseline:` on the monitor (fixed, rolling, seasonal or table)") }}
{%- elif baseline.table -%}
SELECT * FROM {{ baseline.table | table }}
{%- else -%}
SELECT * FROM {{ model.predictions | table }}
WHERE {{ model_filter() }}
  AND {{ in_ranges(baseline.ranges) }}
{%- endif %}
{%- endmacro %}
