{#- The segment budget's query, run before a sliced check: for each slice (its
    segment_label expression in `labels`, over `columns`) with more than `max_segments`
    segments among the model's rows in `ranges` (window and baseline), its top
    `max_segments` − 1 segments by rows (ties by label), and its segments and rows. -#}
{% macro segment_volumes(table, model_name, ranges, role, columns, labels, max_segments) -%}
WITH model_window AS (
    -- The rows once, read by every slice (one scan where the engine materialises it).
    SELECT {% for c in columns %}{{ c | ident }}{{ ', ' if not loop.last }}{% endfor %}
    FROM {{ table | table }}
    WHERE {{ 'model_name' | ident }} = {{ model_name | literal }} AND {{ 'role' | ident }} = {{ role | literal }}
      AND ({% for r in ranges %}{% if not loop.first %} OR {% endif %}(ts >= {{ r.start | literal }} AND ts < {{ r.end | literal }}){% endfor %})
),
volumes AS (
    {%- for label in labels %}
    {% if not loop.first %}UNION ALL
    {% endif %}SELECT {{ loop.index0 }} AS slice, {{ label }} AS segment, COUNT(*) AS n
    FROM model_window GROUP BY 2
    {%- endfor %}
),
ranked AS (
    SELECT slice, segment, n,
           ROW_NUMBER() OVER (PARTITION BY slice ORDER BY n DESC, segment) AS rank,
           COUNT(*) OVER (PARTITION BY slice) AS segments,
           SUM(n) OVER (PARTITION BY slice) AS total_rows
    FROM volumes
)
SELECT slice, segment, n, segments, total_rows FROM ranked
WHERE segments > {{ max_segments }} AND rank < {{ max_segments }}
ORDER BY slice, rank
{%- endmacro %}
