{#- A row's UTC day, for stored day counts (a check's `day_counts:`; docs/
    writing-checks.md): the start of the UTC day its `ts` falls in, as a TIMESTAMP
    (the runner's sessions are in UTC, so this holds for TIMESTAMPTZ too). -#}
{% macro day_of() -%}
CAST(DATE_TRUNC('DAY', ts) AS TIMESTAMP)
{%- endmacro %}
