{#- The relation `scored` that the outcome metrics read: one row per prediction with
    sample, the slice columns, score (DOUBLE; NaN/±inf as NULL), cut (the sample's
    operating threshold), label (DOUBLE) and mature (ts + label_maturity <= the run's
    time T, DESIGN.md "Time").
    `samples` lists (sample name, source relation, score column, threshold): ('cur',
    'current_window', 'score', 0.5) and ('base', 'baseline_window', 'score', 0.5)
    compare a window with its baseline; a shadow pair gives the same requests under two
    models, each at its own threshold. -#}
{% from 'macros/finite_double.sql' import finite_double with context %}
{% macro scored_rows(samples, slices, label_column) -%}
{%- set cols = slices | sum(start=[]) | unique | list -%}
{%- for sample, source, score_column, cut in samples %}
    {% if not loop.first %}UNION ALL
    {% endif -%}
    SELECT {{ sample | literal }} AS sample,
           {%- for c in cols %} {{ c | ident }},{% endfor %}
           {{ finite_double(score_column) }} AS score,
           CAST({{ cut | literal }} AS DOUBLE) AS cut,
           CAST({{ label_column | ident }} AS DOUBLE) AS label,
           ts <= {{ mature_before | literal }} AS mature
    FROM {{ source }}
{%- endfor %}
{%- endmacro %}
