{#- The bin of the SQL expression `value` under frozen edges, by the SQL expression
    `segment`: the number of edges strictly below the value, so bin j is
    (e_j, e_j+1]. `specs` is one feature's entry of `frozen_bins` ({segment: [edges]});
    only for segments that have a frozen spec. -#}
{% macro frozen_bin(specs, segment, value) -%}
CASE {{ segment }}
{%- for seg, edges in specs | dictsort %}
    WHEN {{ seg | literal }} THEN {% if not edges %}0{% else %}CASE
    {%- for edge in edges %}
        WHEN {{ value }} <= CAST({{ (edge | string) | literal }} AS DOUBLE) THEN {{ loop.index0 }}
    {%- endfor %}
        ELSE {{ edges | length }}
    END{% endif %}
{%- endfor %}
END
{%- endmacro %}
