{#- The guard the runner reads before a run of a check with `day_counts:`: per day
    in `days` ([{start, end}], ranges of whole UTC days), the model's rows (of `role`) and the
    latest value of `changed_at` among them; `day` is day_of(), rendered by the
    runner. A day with no rows has no row here. A stored day's counts apply while
    both are what they were when the counts were taken. -#}
{% macro day_rows(table, model_name, days, role, changed_at, day) -%}
SELECT day, COUNT(*) AS row_count, MAX({{ changed_at | ident }}) AS changed
FROM (
    SELECT {{ day }} AS day, {{ changed_at | ident }}
    FROM {{ table | table }}
    WHERE {{ 'model_name' | ident }} = {{ model_name | literal }}
    {%- if role is not none %} AND {{ 'role' | ident }} = {{ role | literal }}{% endif %}
      AND ({% for d in days %}{% if not loop.first %} OR {% endif %}(ts >= {{ d.start | literal }} AND ts < {{ d.end | literal }}){% endfor %})
) AS by_day
GROUP BY day
{%- endmacro %}
