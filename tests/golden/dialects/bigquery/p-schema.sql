WITH current_columns AS (
  SELECT
    'prediction_id' AS column_name,
    'VARCHAR' AS data_type
  UNION ALL
  SELECT
    'ts' AS column_name,
    'TIMESTAMP' AS data_type
  UNION ALL
  SELECT
    'model_name' AS column_name,
    'VARCHAR' AS data_type
  UNION ALL
  SELECT
    'role' AS column_name,
    'VARCHAR' AS data_type
  UNION ALL
  SELECT
    'score' AS column_name,
    'DOUBLE' AS data_type
  UNION ALL
  SELECT
    'amount' AS column_name,
    'DOUBLE' AS data_type
  UNION ALL
  SELECT
    'country' AS column_name,
    'VARCHAR' AS data_type
  UNION ALL
  SELECT
    'account_age_days' AS column_name,
    'DOUBLE' AS data_type
  UNION ALL
  SELECT
    'tx_count_24h' AS column_name,
    'DOUBLE' AS data_type
  UNION ALL
  SELECT
    'tx_count_7d' AS column_name,
    'DOUBLE' AS data_type
  UNION ALL
  SELECT
    'distance_km' AS column_name,
    'DOUBLE' AS data_type
  UNION ALL
  SELECT
    'label' AS column_name,
    'DOUBLE' AS data_type
  UNION ALL
  SELECT
    'device' AS column_name,
    'VARCHAR' AS data_type
), previous_columns /* This monitor's last snapshot before the window: the columns its latest earlier run */ /* recorded a type for (a removed column's row records none). */ AS (
  SELECT
    CAST(NULL AS STRING) AS column_name,
    CAST(NULL AS STRING) AS data_type
  WHERE
    1 = 0
), has_previous AS (
  SELECT
    FALSE AS yes
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
  CAST(NULL AS STRING) AS reason,
  CAST(NULL AS INT64) AS sample_size,
  TO_JSON_STRING(JSON_OBJECT('type', data_type, 'previous', previous_type)) AS detail
FROM compared
CROSS JOIN has_previous AS h
ORDER BY
  column_name NULLS LAST
