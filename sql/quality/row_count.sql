/* ---
name: row_count
family: quality
description: |
  Traffic volume: rows in the window against what the baseline leads one to expect,
  per segment, so a dropped feed, a duplicated load or a vanished country shows up.
  - row_count: rows in the current window. baseline_value: the expected count, the
    baseline's rows scaled to the window's length, rows_base · |window| / |baseline|
    over the baseline ranges that have any rows (a seasonal baseline of K same-length
    ranges gives their mean; a range before the log began, or a past outage, is left
    out, for every segment alike, rather than dragging the expectation down).
  - row_count_ratio: row_count / expected (1 = as usual). Rules bound it both ways,
    e.g. {metric: row_count_ratio, direction: below, alert: 0.5} and
    {metric: row_count_ratio, direction: above, alert: 2}.
  A segment absent from the baseline expects 0 rows and has no ratio (NULL, with a
  reason); a segment absent from the window has row_count 0.
params:
  by: {type: list[list[str]], default: [], description: "slices, e.g. [[country]]"}
metrics: [row_count, row_count_ratio]
returns: [segment, feature, metric, value, sample_size, baseline_value, baseline_size, reason]
--- */
{#- Helpers (sql/macros/): the model's rows in a time range, and segment labels. -#}
{%- from 'macros/model_rows.sql' import model_rows %}
{%- from 'macros/segment_label.sql' import segment_label %}
{%- if baseline is none or baseline.table %}{{ fail("row_count needs a time baseline (fixed, rolling or seasonal), not a table") }}{% endif %}
{%- set window_seconds = (window.end - window.start).total_seconds() %}
WITH
current_window AS (
    {{ model_rows(model.predictions, model.name, [window], role) }}
),
-- Baseline rows with the index of the range they fall in.
baseline_window AS (
    SELECT *,
           {% if baseline.ranges %}CASE
           {%- for r in baseline.ranges %}
               WHEN ts >= {{ r.start | literal }} AND ts < {{ r.end | literal }} THEN {{ loop.index0 }}
           {%- endfor %}
           END{% else %}CAST(NULL AS INTEGER){% endif %} AS range_id
    FROM ({{ model_rows(model.predictions, model.name, baseline.ranges, role) | indent(10) }}) AS b
),
range_lengths AS (
    {% if baseline.ranges %}SELECT * FROM (VALUES
    {%- for r in baseline.ranges %}
        {% if not loop.first %}, {% endif %}({{ loop.index0 }}, {{ (r.end - r.start).total_seconds() }})
    {%- endfor %}
    ) AS l(range_id, seconds){% else %}SELECT CAST(NULL AS INTEGER) AS range_id, CAST(NULL AS DOUBLE) AS seconds WHERE FALSE{% endif %}
),
counts AS (
{%- for seg in [[]] + by %}
    {% if not loop.first %}UNION ALL
    {% endif %}SELECT {{ segment_label(seg, segment_pools) }} AS segment, CAST(NULL AS INTEGER) AS range_id FROM current_window
    UNION ALL
    SELECT {{ segment_label(seg, segment_pools) }}, range_id FROM baseline_window
{%- endfor %}
),
-- A baseline range without any rows (before the log began, or an outage already past)
-- says nothing about normal volume and is left out, for every segment alike: a small
-- segment absent from one range still averages over all the ranges that had traffic.
live_ranges AS (
    SELECT l.range_id, l.seconds
    FROM range_lengths AS l
    -- The 'all' segment counts every baseline row: no second read of the baseline.
    WHERE l.range_id IN (SELECT range_id FROM counts WHERE segment = 'all')
),
expected AS (
    SELECT s.segment, COUNT(c.range_id) AS rows_base,
           COUNT(c.range_id) * {{ window_seconds }} / NULLIF((SELECT SUM(seconds) FROM live_ranges), 0) AS expected
    FROM (SELECT DISTINCT segment FROM counts) AS s
    LEFT JOIN counts AS c ON c.segment = s.segment AND c.range_id IN (SELECT range_id FROM live_ranges)
    GROUP BY s.segment
),
totals AS (
    SELECT s.segment, COALESCE(c.rows_cur, 0) AS rows_cur, COALESCE(e.rows_base, 0) AS rows_base,
           e.expected
    FROM (SELECT segment FROM counts UNION SELECT 'all') AS s
    LEFT JOIN (SELECT segment, COUNT(*) AS rows_cur FROM counts WHERE range_id IS NULL GROUP BY segment) AS c
        ON c.segment = s.segment
    LEFT JOIN expected AS e ON e.segment = s.segment
)
SELECT segment,
       '' AS feature,
       m.metric,
       CASE m.metric
           WHEN 'row_count' THEN CAST(rows_cur AS DOUBLE)
           ELSE rows_cur / NULLIF(expected, 0)
       END AS value,
       -- Volume is not a sample statistic: min_samples must not hide a feed that dried
       -- up (baseline_size still gates a segment too new to have an expectation).
       CAST(NULL AS BIGINT) AS sample_size,
       CASE m.metric WHEN 'row_count' THEN expected ELSE 1.0 END AS baseline_value,
       rows_base AS baseline_size,
       CASE
           WHEN m.metric = 'row_count_ratio' AND rows_base = 0
               THEN 'the baseline has no rows for this segment'
       END AS reason
FROM totals
CROSS JOIN (VALUES ('row_count'), ('row_count_ratio')) AS m(metric)
ORDER BY segment, m.metric
