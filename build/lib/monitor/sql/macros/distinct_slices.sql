{#- Nothing, or a clear failure when `slices` (a list of column lists) repeats a slice
    set or holds an empty one: a request would count twice in one segment. The order of
    columns does not make a new slice. -#}
{% macro distinct_slices(slices) -%}
{%- set keys = slices | map('sort') | map('join', ',') | list -%}
{%- if keys | unique | list | length != keys | length or '' in keys -%}
{{ fail("slices must be distinct, non-empty column lists (the order of columns does not make a new slice): " ~ slices) }}
{%- endif -%}
{%- endmacro %}
