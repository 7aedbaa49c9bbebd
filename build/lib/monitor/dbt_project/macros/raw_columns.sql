{#-
  The column names of a raw table, in order, after checking it has `required` ones.
  Models list columns themselves instead of DuckDB's `* replace (...)` /
  `* exclude (...)`, which PostgreSQL lacks, so extra feature and slice columns still
  pass through on every adapter.
-#}
{% macro raw_columns(relation, required) %}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
    {%- set present = names | map('lower') | list -%}
    {%- set missing = required | reject('in', present) | list -%}
    {%- if missing -%}
        {{ exceptions.raise_compiler_error(
            "raw table " ~ relation ~ " lacks the column(s) " ~ missing | join(', ')
            ~ " (docs/data-model.md lists what the logs must carry)") }}
    {%- endif -%}
    {{ return(names) }}
{% endmacro %}
