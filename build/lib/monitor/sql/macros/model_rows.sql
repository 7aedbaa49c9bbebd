{#- The window filter: `SELECT *` of the rows of `table` that belong to the model
    `model_name` (and to `role`, when given) with `ts` in any of `ranges`
    ([{start, end}], half-open, UTC). No ranges is no rows: when every baseline range
    was skipped (alerting windows) the baseline is empty, and its rows are no_data.
    Checks call it with `[window]` for the current window and `baseline.ranges` for a
    time baseline. -#}
{% macro model_rows(table, model_name, ranges, role=none) -%}
SELECT * FROM {{ table | table }}
WHERE {{ 'model_name' | ident }} = {{ model_name | literal }}
{%- if role is not none %} AND {{ 'role' | ident }} = {{ role | literal }}{% endif %}
  AND ({% for r in ranges %}{% if not loop.first %} OR {% endif %}(ts >= {{ r.start | literal }} AND ts < {{ r.end | literal }}){% endfor %}{% if not ranges %}FALSE{% endif %})
{%- endmacro %}
