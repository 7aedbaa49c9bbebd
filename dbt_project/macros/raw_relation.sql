{#-
  A raw log as a relation: the dbt source (models/sources.yml) named by the var
  `var_name` (`raw_predictions`, `schema.table` or `database.schema.table`), checked to
  exist, so a typo in alerts.yaml `dbt.vars` is named rather than surfacing as the
  warehouse's own "table not found" deep inside a model. Going through source() gives
  dbt the lineage from the raw logs and `dbt source freshness`.
-#}
{% macro raw_relation(source_name, table_name, var_name) %}
    {%- set declared = source(source_name, table_name) -%}
    {%- if not execute -%}
        {{ return(declared) }}
    {%- endif -%}
    {%- set relation = adapter.get_relation(
        database=declared.database, schema=declared.schema, identifier=declared.identifier) -%}
    {%- if relation is none -%}
        {{ exceptions.raise_compiler_error(
            "raw table " ~ var(var_name) ~ " not found in " ~ declared.database ~ "." ~ declared.schema
            ~ " (the dbt var " ~ var_name ~ ", set from alerts.yaml dbt.vars)") }}
    {%- endif -%}
    {{ return(relation) }}
{% endmacro %}
