WITH current_columns AS (
  SELECT
    column_name,
    UPPER(data_type) AS data_type
  FROM information_schema.columns
  WHERE
    table_name = 'prediction_outcomes'
), previous_run /* This monitor's last snapshot before the window: the rows of its latest earlier run */ /* that recorded a type (a removed column's row records none). */ AS (
  SELECT
    MAX(window_end) AS window_end
  FROM "monitor"."metrics"
  WHERE
    monitor = 'p-schema'
    AND metric = 'schema'
    AND NOT value IS NULL
    AND window_end < CAST('2026-10-22 00:00:00.000000' AS TIMESTAMPNTZ)
), previous_columns AS (
  /* detail is stored as text: cast before reading it as JSON (PostgreSQL needs it) */
  SELECT
    m.feature AS column_name,
    JSON_EXTRACT_PATH_TEXT(CAST(m.detail AS VARIANT), 'type') AS data_type
  FROM "monitor"."metrics" AS m
  JOIN previous_run AS p
    ON m.window_end = p.window_end
  WHERE
    m.monitor = 'p-schema'
    AND m.metric = 'schema'
    AND NOT JSON_EXTRACT_PATH_TEXT(CAST(m.detail AS VARIANT), 'type') IS NULL
), has_previous AS (
  SELECT
    COUNT(*) > 0 AS yes
  FROM previous_columns
), compared AS (
  SELECT
    COALESCE(c.column_name, p.column_name) AS column_name,
    c.data_type,
    p.data_type AS previous_type
  FROM current_columns AS c
  FULL OUTER JOIN previous_columns AS p
    ON p.column_name = c.column_name
)
SELECT
  'all' AS segment,
  column_name AS feature,
  'schema' AS metric,
  CASE
    WHEN NOT h.yes
    THEN 0.0
    WHEN data_type IS NOT DISTINCT FROM previous_type
    THEN 0.0
    ELSE 1.0
  END AS value,
  CAST(NULL AS VARCHAR) AS reason,
  CAST(NULL AS BIGINT) AS sample_size,
  TO_JSON(OBJECT_CONSTRUCT_KEEP_NULL('type', data_type, 'previous', previous_type)) AS detail
FROM compared
CROSS JOIN has_previous AS h
ORDER BY
  column_name
