{#- The segment label of a row of a GROUPING SETS query over `slices` (a list of
    column lists; see grouping_sets): GROUPING(col) is 0 for the columns a row's set
    groups by, so the pattern of flags names the set. The label is written as
    segment_label writes it: `col=value` joined by ',', a NULL value `col=<null>`
    (a grouped column's NULL is a real NULL); the set of no columns is 'all'. A slice
    in `pools` (over the segment budget) is grouped by its pooled label,
    `pooled_segment_<i>`, which is the segment. -#}
{% macro grouping_segment(slices, pools={}) -%}
{%- set ns = namespace(grouped=[]) -%}
{%- for set_cols in slices %}{% set ns.grouped = ns.grouped + [['pooled_segment_' ~ loop.index0] if set_cols | join(',') in pools else set_cols] %}{% endfor -%}
{%- set grouped = ns.grouped -%}
{%- set cols = grouped | sum(start=[]) | unique | list -%}
{%- if not slices -%}
'all'
{%- else -%}
CASE
{%- for set_cols in grouped %}
        WHEN {% for c in cols %}{% if not loop.first %} AND {% endif %}GROUPING({{ c | ident }}) = {{ 0 if c in set_cols else 1 }}{% endfor %}
        THEN {% if slices[loop.index0] | join(',') in pools %}{{ set_cols[0] | ident }}{% else %}{% for c in set_cols %}{% if not loop.first %} || {% endif %}{{ ((',' if not loop.first else '') ~ c ~ '=') | literal }} || COALESCE(CAST({{ c | ident }} AS VARCHAR), '<null>'){% endfor %}{% endif %}
{%- endfor %}
        ELSE 'all'
    END
{%- endif -%}
{%- endmacro %}
