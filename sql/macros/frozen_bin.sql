{#- The bin of `value` under the edges frozen for feature `col` (context `frozen_bins`),
    by `segment`: the number of edges strictly below the value, bins (e_j, e_j+1]. Only
    for segments that have a frozen spec. -#}
{% macro frozen_bin(col, segment, value) -%}
CASE {{ segment }}
{%- for seg, edges in frozen_bins[col] | dictsort %}
    WHEN {{ seg | literal }} THEN {% if not edges %}0{% else %}CASE
    {%- for edge in edges %}
        WHEN {{ value }} <= CAST({{ (edge | string) | literal }} AS DOUBLE) THEN {{ loop.index0 }}
    {%- endfor %}
        ELSE {{ edges | length }}
    END{% endif %}
{%- endfor %}
END
{%- endmacro %}
