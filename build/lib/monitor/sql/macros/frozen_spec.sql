{#- A frozen bin spec as rows (segment, position, item): `specs` is one feature's
    entry of `frozen_bins` ({segment: [items]}, items the edges or categories in bin
    order), `item_type` the SQL type of an item ('DOUBLE', 'VARCHAR'). Each segment
    also gets a row with a NULL item, so an empty spec (a constant baseline has no
    edges) still counts as frozen. Numbers are written as text and cast, which
    round-trips a DOUBLE exactly. No specs: no rows. -#}
{% macro frozen_spec(specs, item_type) -%}
{%- if not specs -%}
SELECT CAST(NULL AS VARCHAR) AS segment, CAST(NULL AS INTEGER) AS position, CAST(NULL AS {{ item_type }}) AS item
WHERE FALSE
{%- else -%}
SELECT segment, position, CAST(item AS {{ item_type }}) AS item
FROM (VALUES
{%- for segment, items in specs | dictsort %}
    {% if not loop.first %}, {% endif %}({{ segment | literal }}, NULL, NULL)
    {%- for item in items %}, ({{ segment | literal }}, {{ loop.index0 }}, {{ (item | string) | literal }}){% endfor %}
{%- endfor %}
) AS spec(segment, position, item)
{%- endif -%}
{%- endmacro %}
