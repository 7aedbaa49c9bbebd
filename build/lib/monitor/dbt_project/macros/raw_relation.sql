{#-
  The raw log table named by a dbt var (`raw_predictions`, `schema.table` or
  `database.schema.table`), as a relation; a clear error when it does not exist, so a
  typo in alerts.yaml `dbt.vars` is named rather than surfacing as the warehouse's
  own "table not found" deep inside a model.
-#}
{% macro raw_relation(var_name) %}
    {%- set name = var(var_name) -%}
    {%- if not execute -%}
        {{ return(api.Relation.create(identifier=name)) }}
    {%- endif -%}
    {%- set parts = name.split('.') -%}
    {%- set database = parts[-3] if parts | length > 2 else target.database -%}
    {%- set schema = parts[-2] if parts | length > 1 else target.schema -%}
    {%- set relation = adapter.get_relation(database=database, schema=schema, identifier=parts[-1]) -%}
    {%- if relation is none -%}
        {{ exceptions.raise_compiler_error(
            "raw table " ~ name ~ " not found in " ~ database ~ "." ~ schema
            ~ " (the dbt var " ~ var_name ~ ", set from alerts.yaml dbt.vars)") }}
    {%- endif -%}
    {{ return(relation) }}
{% endmacro %}
