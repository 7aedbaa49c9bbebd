{#-
  The marts' builds run in UTC: a TIMESTAMPTZ load time cast to text (the row hash,
  the delivery tie-break) then reads the same from a daemon and from a shell in
  another time zone, so neither rewrites rows the other wrote.
-#}
{% macro utc_session() %}
    {{- return(adapter.dispatch('utc_session', 'sql_drift_monitor')()) -}}
{% endmacro %}

{% macro default__utc_session() -%}
set time zone 'UTC'
{%- endmacro %}

{% macro duckdb__utc_session() -%}
set TimeZone = 'UTC'
{%- endmacro %}
