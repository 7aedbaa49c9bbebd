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
{%- set parts = model.predictions.split('.') %}
WITH
current_columns AS (
    SELECT column_name, UPPER(data_type) AS data_type
    FROM information_schema.columns
    WHERE table_name = {{ parts[-1] | literal }}
      {%- if parts | length > 1 %}
      AND table_schema = {{ parts[-2] | literal }}
      {%- endif %}
),
-- This monitor's last snapshot before the window: the rows of its latest earlier run
-- that recorded a type (a removed column's row records none).
previous_run AS (
    SELECT MAX(window_end) AS window_end
    FROM {{ state.metrics | table }}
    WHERE monitor = {{ monitor.name | literal }} AND metric = 'schema'
      AND value IS NOT NULL AND window_end < {{ window.end | literal }}
),
previous_columns AS (
    -- detail is stored as text: cast before reading it as JSON (PostgreSQL needs it)
    SELECT m.feature AS column_name,
           JSON_EXTRACT_STRING(CAST(m.detail AS JSON), '$.type') AS data_type
    FROM {{ state.metrics | table }} AS m
    JOIN previous_run AS p ON m.window_end = p.window_end
    WHERE m.monitor = {{ monitor.name | literal }} AND m.metric = 'schema'
      AND JSON_EXTRACT_STRING(CAST(m.detail AS JSON), '$.type') IS NOT NULL
),
has_previous AS (
    SELECT COUNT(*) > 0 AS yes FROM previous_columns
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
