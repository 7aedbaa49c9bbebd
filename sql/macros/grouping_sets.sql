{#- The GROUPING SETS clause for `slices` (e.g. [[country], [country, device]]) plus the
    always-present 'all' set; `keys` are grouped in every set (e.g. sample, score).
    A slice in `pools` (the run's `segment_pools`: over the segment budget) is grouped
    by its pooled label, which slice_projection selects as `pooled_segment_<i>`. -#}
{% macro grouping_sets(slices, keys, pools={}) -%}
GROUPING SETS (({{ keys | join(', ') }})
{%- for cols in slices %}, ({% if cols | join(',') in pools %}{{ ('pooled_segment_' ~ loop.index0) | ident }}, {% else %}{% for c in cols %}{{ c | ident }}, {% endfor %}{% endif %}{{ keys | join(', ') }}){% endfor %})
{%- endmacro %}
