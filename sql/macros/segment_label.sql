{#- The segment label of a row for one slice, `cols` a list of column names: 'all'
    for the empty list, else `col=value` joined by ',' in the order of the columns,
    a NULL value written `col=<null>` (its own segment).
    `pools`: the run's `segment_pools` ({columns joined by ',': labels kept}); when
    the slice is in it (more segments than the monitor's max_segments), a row whose
    label is not kept is labelled `col=<other>` for each column. -#}
{% macro segment_label(cols, pools={}) -%}
{%- set label -%}
{%- for c in cols -%}
{%- if not loop.first %} || {% endif -%}
{{ ((',' if not loop.first else '') ~ c ~ '=') | literal }} || COALESCE(CAST({{ c | ident }} AS VARCHAR), '<null>')
{%- endfor -%}
{%- endset -%}
{%- if not cols -%}
'all'
{%- elif cols | join(',') not in pools -%}
{{ label }}
{%- else -%}
CASE WHEN {{ label }} IN {{ pools[cols | join(',')] | literal }} THEN {{ label }} ELSE {{ (cols | join('=<other>,') ~ '=<other>') | literal }} END
{%- endif -%}
{%- endmacro %}
