{#- The segment budget's query, which the runner runs before a sliced check: for each
    slice of `slices` with more than `max_segments` segments among the model's rows
    in `ranges` (the window and a time baseline's ranges), its `max_segments` − 1
    largest segments by rows (ties by label), with the slice's counts of segments and
    rows. A slice within the budget returns nothing. -#}
{% macro segment_volumes(table, model_name, ranges, role, slices, max_segments) -%}
WITH volumes AS (
    {%- for cols in slices %}
    {% if not loop.first %}UNION ALL
    {% endif %}SELECT {{ loop.index0 }} AS slice,
           {% for c in cols %}{% if not loop.first %} || {% endif %}{{ ((',' if not loop.first else '') ~ c ~ '=') | literal }} || COALESCE(CAST({{ c | ident }} AS VARCHAR), '<null>'){% endfor %} AS segment,
           COUNT(*) AS n
    FROM {{ table | table }}
    WHERE {{ 'model_name' | ident }} = {{ model_name | literal }} AND {{ 'role' | ident }} = {{ role | literal }}
      AND ({% for r in ranges %}{% if not loop.first %} OR {% endif %}(ts >= {{ r.start | literal }} AND ts < {{ r.end | literal }}){% endfor %})
    GROUP BY 2
    {%- endfor %}
),
ranked AS (
    SELECT slice, segment, n,
           ROW_NUMBER() OVER (PARTITION BY slice ORDER BY n DESC, segment) AS rank,
           COUNT(*) OVER (PARTITION BY slice) AS segments,
           SUM(n) OVER (PARTITION BY slice) AS total_rows
    FROM volumes
)
SELECT slice, segment, n, segments, total_rows
FROM ranked
WHERE segments > {{ max_segments }} AND rank < {{ max_segments }}
ORDER BY slice, rank
{%- endmacro %}
