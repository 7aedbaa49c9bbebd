{#- The bin spec frozen for feature `col` by an earlier run of this monitor (context
    `frozen_bins`: {feature: {segment: [items]}}), as rows (segment, position, item):
    one row per edge or category, plus a row with a NULL item per segment so that an
    empty spec (a constant baseline has no edges) still counts as frozen. Numbers are
    written as text and cast, which round-trips a DOUBLE exactly. -#}
{% macro frozen_spec(col, item_type) -%}
{%- set specs = frozen_bins.get(col, {}) -%}
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
