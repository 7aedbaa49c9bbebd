WITH current_window AS (
  SELECT
    *
  FROM `prediction_outcomes`
  WHERE
    `model_name` = 'fraud'
    AND `role` = 'production'
    AND (
      (
        ts >= CAST('2026-10-21 00:00:00.000000' AS DATETIME)
        AND ts < CAST('2026-10-22 00:00:00.000000' AS DATETIME)
      )
    )
), baseline_window /* Baseline rows with the index of the range they fall in. */ AS (
  SELECT
    *,
    CASE
      WHEN ts >= CAST('2026-09-23 00:00:00.000000' AS DATETIME)
      AND ts < CAST('2026-09-24 00:00:00.000000' AS DATETIME)
      THEN 0
      WHEN ts >= CAST('2026-09-30 00:00:00.000000' AS DATETIME)
      AND ts < CAST('2026-10-01 00:00:00.000000' AS DATETIME)
      THEN 1
      WHEN ts >= CAST('2026-10-07 00:00:00.000000' AS DATETIME)
      AND ts < CAST('2026-10-08 00:00:00.000000' AS DATETIME)
      THEN 2
      WHEN ts >= CAST('2026-10-14 00:00:00.000000' AS DATETIME)
      AND ts < CAST('2026-10-15 00:00:00.000000' AS DATETIME)
      THEN 3
    END AS range_id
  FROM (
    SELECT
      *
    FROM `prediction_outcomes`
    WHERE
      `model_name` = 'fraud'
      AND `role` = 'production'
      AND (
        (
          ts >= CAST('2026-09-23 00:00:00.000000' AS DATETIME)
          AND ts < CAST('2026-09-24 00:00:00.000000' AS DATETIME)
        )
        OR (
          ts >= CAST('2026-09-30 00:00:00.000000' AS DATETIME)
          AND ts < CAST('2026-10-01 00:00:00.000000' AS DATETIME)
        )
        OR (
          ts >= CAST('2026-10-07 00:00:00.000000' AS DATETIME)
          AND ts < CAST('2026-10-08 00:00:00.000000' AS DATETIME)
        )
        OR (
          ts >= CAST('2026-10-14 00:00:00.000000' AS DATETIME)
          AND ts < CAST('2026-10-15 00:00:00.000000' AS DATETIME)
        )
      )
  ) AS b
), range_lengths AS (
  SELECT
    *
  FROM UNNEST([
    STRUCT(0 AS range_id, 86400.0 AS seconds),
    STRUCT(1 AS range_id, 86400.0 AS seconds),
    STRUCT(2 AS range_id, 86400.0 AS seconds),
    STRUCT(3 AS range_id, 86400.0 AS seconds)
  ]) AS l
), counts AS (
  SELECT
    'all' AS segment,
    CAST(NULL AS INT64) AS range_id
  FROM current_window
  UNION ALL
  SELECT
    'all',
    range_id
  FROM baseline_window
  UNION ALL
  SELECT
    'country=' || COALESCE(CAST(`country` AS STRING), '<null>') AS segment,
    CAST(NULL AS INT64) AS range_id
  FROM current_window
  UNION ALL
  SELECT
    'country=' || COALESCE(CAST(`country` AS STRING), '<null>'),
    range_id
  FROM baseline_window
), live_ranges /* A baseline range without any rows (before the log began, or an outage already past) */ /* says nothing about normal volume and is left out, for every segment alike: a small */ /* segment absent from one range still averages over all the ranges that had traffic. */ AS (
  SELECT
    l.range_id,
    l.seconds
  FROM range_lengths AS l
  /* The 'all' segment counts every baseline row: no second read of the baseline. */
  WHERE
    l.range_id IN (
      SELECT
        range_id
      FROM counts
      WHERE
        segment = 'all'
    )
), expected AS (
  SELECT
    s.segment,
    COUNT(c.range_id) AS rows_base,
    COUNT(c.range_id) * 86400.0 / NULLIF((
      SELECT
        SUM(seconds)
      FROM live_ranges
    ), 0) AS expected
  FROM (
    SELECT DISTINCT
      segment
    FROM counts
  ) AS s
  LEFT JOIN counts AS c
    ON c.segment = s.segment
    AND c.range_id IN (
      SELECT
        range_id
      FROM live_ranges
    )
  GROUP BY
    s.segment
), totals AS (
  SELECT
    s.segment,
    COALESCE(c.rows_cur, 0) AS rows_cur,
    COALESCE(e.rows_base, 0) AS rows_base,
    e.expected
  FROM (
    SELECT
      segment
    FROM counts
    UNION DISTINCT
    SELECT
      'all'
  ) AS s
  LEFT JOIN (
    SELECT
      segment,
      COUNT(*) AS rows_cur
    FROM counts
    WHERE
      range_id IS NULL
    GROUP BY
      segment
  ) AS c
    ON c.segment = s.segment
  LEFT JOIN expected AS e
    ON e.segment = s.segment
)
SELECT
  segment,
  '' AS feature,
  m.metric,
  CASE m.metric
    WHEN 'row_count'
    THEN CAST(rows_cur AS FLOAT64)
    ELSE rows_cur / NULLIF(expected, 0)
  END AS value,
  CAST(NULL AS INT64) AS sample_size, /* Volume is not a sample statistic: min_samples must not hide a feed that dried */ /* up (baseline_size still gates a segment too new to have an expectation). */
  CASE m.metric WHEN 'row_count' THEN expected ELSE 1.0 END AS baseline_value,
  rows_base AS baseline_size,
  CASE
    WHEN m.metric = 'row_count_ratio' AND rows_base = 0
    THEN 'the baseline has no rows for this segment'
  END AS reason
FROM totals
CROSS JOIN UNNEST([STRUCT('row_count' AS metric), STRUCT('row_count_ratio' AS metric)]) AS m
ORDER BY
  segment NULLS LAST,
  m.metric NULLS LAST
