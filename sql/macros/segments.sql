{#-
  Segment labels (DESIGN.md): 'all', or `col=value` joined by ',' in the order of the
  slice's columns; a NULL value is its own segment, written `col=<null>`.
  `cols` is a list of column names; the empty list is the 'all' segment.
-#}
{% macro segment_label(cols) -%}
{%- if not cols -%}
'all'
{%- else -%}
{%- for c in cols -%}
{%- if not loop.first %} || {% endif -%}
{{ ((',' if not loop.first else '') ~ c ~ '=') | literal }} || COALESCE(CAST({{ c | ident }} AS VARCHAR), '<null>')
{%- endfor -%}
{%- endif -%}
{%- endmacro %}

{#- Nothing, or a clear failure when `slices` (a list of column lists) repeats a slice
    set or holds an empty one: a request would count twice in one segment. The order of
    columns does not make a new slice. -#}
{% macro distinct_slices(slices) -%}
{%- set keys = slices | map('sort') | map('join', ',') | list -%}
{%- if keys | unique | list | length != keys | length or '' in keys -%}
{{ fail("slices must be distinct, non-empty column lists (the order of columns does not make a new slice): " ~ slices) }}
{%- endif -%}
{%- endmacro %}
