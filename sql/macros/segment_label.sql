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
