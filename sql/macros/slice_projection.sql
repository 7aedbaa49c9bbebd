{#- The columns a GROUPING SETS query over `slices` reads from each row, for a SELECT
    list (each followed by a comma): the columns of the slices, and for a slice in
    `pools` (the run's `segment_pools`: over the segment budget) its label, pooled as
    segment_label pools it, as `pooled_segment_<i>` (what grouping_sets groups by). -#}
{% macro slice_projection(slices, pools={}) -%}
{%- for c in slices | sum(start=[]) | unique %} {{ c | ident }},{% endfor %}
{%- for cols in slices %}{% if cols | join(',') in pools %}
{%- set label -%}
{%- for c in cols -%}
{%- if not loop.first %} || {% endif -%}
{{ ((',' if not loop.first else '') ~ c ~ '=') | literal }} || COALESCE(CAST({{ c | ident }} AS VARCHAR), '<null>')
{%- endfor -%}
{%- endset %}
           CASE WHEN {{ label }} IN {{ pools[cols | join(',')] | literal }} THEN {{ label }} ELSE {{ (cols | join('=<other>,') ~ '=<other>') | literal }} END AS {{ ('pooled_segment_' ~ loop.index0) | ident }},
{%- endif %}{% endfor %}
{%- endmacro %}
