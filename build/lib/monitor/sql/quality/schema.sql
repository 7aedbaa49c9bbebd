/* ---
name: schema
family: quality
description: |
  Columns of the predictions table added, removed or retyped since the last run: an
  upstream change that silently breaks features usually shows here first.
  - schema: one row per column (feature = the column), 1 if it was added, removed or
    changed type since this monitor's previous live run, else 0; detail gives
    {"type": now, "previous": before} (NULL type: removed). The first run records
    the schema and reports no change. Alert with {metric: schema, alert: 0.5}.
  The schema has no history, so a backfill reports NULL with a reason instead of
  comparing today's columns with a past window. The rows have no sample size.
params: {}
metrics: [schema]
returns: [segment, feature, metric, value, sample_size, reason, detail]
--- */
{#- table_schema comes from the runner: the columns from the warehouse's catalog, the
    previous snapshot from the state store, so the check runs the same on every engine
    (Spark has no information_schema) and wherever the state lives. -#}
{%- macro columns_table(columns) %}
    {%- for name, type in columns %}
    SELECT {{ name | literal }} AS column_name, {{ type | literal }} AS data_type
    {%- if not loop.last %}
    UNION ALL
    {%- endif %}
    {%- else %}
    SELECT CAST(NULL AS VARCHAR) AS column_name, CAST(NULL AS VARCHAR) AS data_type
    WHERE 1 = 0
    {%- endfor %}
{%- endmacro %}
WITH
current_columns AS (
    {{- columns_table(table_schema.current) }}
),
-- This monitor's last snapshot before the window: the columns its latest earlier run
-- recorded a type for (a removed column's row records none).
previous_columns AS (
    {{- columns_table(table_schema.previous or []) }}
),
has_previous AS (
    SELECT {{ 'TRUE' if table_schema.previous else 'FALSE' }} AS yes
),
compared AS (
    SELECT COALESCE(c.column_name, p.column_name) AS column_name,
           c.data_type,
           p.data_type AS previous_type
    FROM current_columns AS c
    FULL OUTER JOIN previous_columns AS p ON p.column_name = c.column_name
)
SELECT 'all' AS segment,
       column_name AS feature,
       'schema' AS metric,
       {%- if live %}
       CASE WHEN NOT h.yes THEN 0.0
            WHEN data_type IS NOT DISTINCT FROM previous_type THEN 0.0
            ELSE 1.0 END AS value,
       CAST(NULL AS VARCHAR) AS reason,
       {%- else %}
       CAST(NULL AS DOUBLE) AS value,
       'the schema has no history: only live runs compare it' AS reason,
       {%- endif %}
       CAST(NULL AS BIGINT) AS sample_size,
       JSON_OBJECT('type', data_type, 'previous', previous_type) AS detail
FROM compared
CROSS JOIN has_previous AS h
ORDER BY column_name
