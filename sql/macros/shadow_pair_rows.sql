{#- The model's shadow_pairs rows with `ts` in `ranges`. Slices must be among the
    model's `slices`: those are the columns dbt copies into shadow_pairs. -#}
{% from 'macros/in_ranges.sql' import in_ranges with context %}
{% macro shadow_pair_rows(ranges, slices) -%}
{%- set unpaired = slices | sum(start=[]) | unique | reject('in', model.slices) | list -%}
{%- if unpaired -%}
{{ fail("slices must be among the model's `slices` in alerts.yaml (dbt copies those into shadow_pairs, var slice_columns); not: " ~ unpaired | join(', ')) }}
{%- endif -%}
SELECT * FROM {{ model.shadow_pairs | table }}
WHERE {{ 'model_name' | ident }} = {{ model.name | literal }} AND {{ in_ranges(ranges) }}
{%- endmacro %}
