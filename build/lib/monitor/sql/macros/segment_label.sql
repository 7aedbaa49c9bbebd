{#- The segment label of a row for one slice, `cols` a list of column names: 'all'
    for the empty list, else `col=value` joined by ',' in the order of the columns,
    a NULL value written `col=<null>` (its own segment). -#}
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
