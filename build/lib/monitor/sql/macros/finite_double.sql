{#- A numeric column as DOUBLE, with NaN and ±inf treated as missing (like NULL):
    they are counted by null_rate and kept out of every distribution statistic. -#}
{% macro finite_double(col) -%}
CASE WHEN isfinite(CAST({{ col | ident }} AS DOUBLE)) THEN CAST({{ col | ident }} AS DOUBLE) END
{%- endmacro %}
