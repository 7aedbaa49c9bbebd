{#- The segment label of a row of a GROUPING SETS query: GROUPING(col) is 0 for the
    columns its set groups by, so the pattern of flags names the set. A NULL value in a
    grouped column is a real NULL: `col=<null>`. -#}
{% from 'macros/distinct_slices.sql' import distinct_slices with context %}
{% from 'macros/segment_label.sql' import segment_label with context %}
{% macro grouping_segment(slices) -%}
{%- set cols = slices | sum(start=[]) | unique | list -%}
{{- distinct_slices(slices) -}}
{%- if not slices -%}
'all'
{%- else -%}
CASE
{%- for set_cols in slices %}
        WHEN {% for c in cols %}{% if not loop.first %} AND {% endif %}GROUPING({{ c | ident }}) = {{ 0 if c in set_cols else 1 }}{% endfor %}
        THEN {{ segment_label(set_cols) }}
{%- endfor %}
        ELSE 'all'
    END
{%- endif -%}
{%- endmacro %}
