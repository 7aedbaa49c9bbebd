{#- A SQL string literal of `value`, its single quotes doubled (standard SQL, as DuckDB,
    PostgreSQL, Snowflake, Trino and Spark read it): text from alerts.yaml, such as a
    model's name, reaches SQL only through this. dbt.string_literal does not escape, so
    a model named o'brien broke every build. -#}
{% macro text_literal(value) -%}
'{{ value | string | replace("'", "''") }}'
{%- endmacro %}
