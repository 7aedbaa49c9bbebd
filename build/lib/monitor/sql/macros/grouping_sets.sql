{#- The GROUPING SETS clause for `slices` (e.g. [[country], [country, device]]) plus the
    always-present 'all' set; `keys` are grouped in every set (e.g. sample, score). -#}
{% macro grouping_sets(slices, keys) -%}
GROUPING SETS (({{ keys | join(', ') }})
{%- for cols in slices %}, ({% for c in cols %}{{ c | ident }}, {% endfor %}{{ keys | join(', ') }}){% endfor %})
{%- endmacro %}
