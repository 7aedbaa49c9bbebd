{#- Nothing, or a clear failure when a column of `slices` (a list of column lists) is
    not among `model_slices` (the model's `slices` in alerts.yaml): dbt copies only
    those into shadow_pairs, so the shadow checks cannot slice by another. -#}
{% macro paired_slices(slices, model_slices) -%}
{%- set unpaired = slices | sum(start=[]) | unique | reject('in', model_slices) | list -%}
{%- if unpaired -%}
{{ fail("slices must be among the model's `slices` in alerts.yaml (dbt copies those into shadow_pairs, var slice_columns); not: " ~ unpaired | join(', ')) }}
{%- endif -%}
{%- endmacro %}
