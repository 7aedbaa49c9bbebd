/* ---
name: freshness
family: quality
description: |
  Is the prediction log still arriving? The age of the newest prediction of the model
  (and role) at the reference time: now (the run's time T) for a live run, the window
  end for a backfill (which replays what the log held then, late arrivals included).
  - freshness: seconds from the newest prediction before the reference time to the
    reference time. Alert on it with a plain threshold, e.g. {metric: freshness,
    alert: 7200} for "nothing for two hours".
  No prediction at all before the reference time is NULL with a reason (no_data). The
  row has no sample size: min_samples does not apply.
  - future_rows: predictions dated more than `future_tolerance` seconds after the
    wall clock when the run executes (T, or later for a catch-up), which no window
    reaches until the clock does (a producer's clock or time zone is off). Alert on
    any, e.g. {metric: future_rows, warn: 0}. A backfill replays the past, where later
    rows are not from the future: NULL with a reason.
params:
  future_tolerance: {type: int, default: 300, description: "whole seconds a prediction may be dated after the clock (clock skew) before it counts as future_rows"}
metrics: [freshness, future_rows]
returns: [segment, feature, metric, value, sample_size, reason, detail]
--- */
{%- if future_tolerance < 0 %}{{ fail("freshness: future_tolerance must be at least 0 seconds") }}{% endif %}
{%- set reference = run_at if live else window.end %}
WITH newest AS (
    -- In one scan of the model and role's rows: the newest before the reference time,
    -- and those dated more than future_tolerance after the clock (wall_clock: T, or
    -- later for a catch-up, whose rows logged since T are not from the future), with
    -- the latest of them.
    SELECT MAX(CASE WHEN ts < {{ reference | literal }} THEN ts END) AS newest_ts,
           COUNT(CASE WHEN ts > {{ wall_clock | literal }} + INTERVAL {{ (future_tolerance | string) | literal }} SECOND THEN 1 END) AS future_rows,
           MAX(ts) AS latest_ts
    FROM {{ model.predictions | table }}
    WHERE {{ 'model_name' | ident }} = {{ model.name | literal }} AND {{ 'role' | ident }} = {{ role | literal }}
)
SELECT 'all' AS segment,
       '' AS feature,
       'freshness' AS metric,
       DATE_DIFF('microsecond', newest_ts, {{ reference | literal }}) / 1e6 AS value,
       CAST(NULL AS BIGINT) AS sample_size,
       CASE WHEN newest_ts IS NULL
            THEN {{ ('no prediction of this model before ' ~ reference.isoformat()) | literal }}
       END AS reason,
       JSON_OBJECT('newest', CAST(newest_ts AS VARCHAR),
                   'reference', {{ reference.isoformat() | literal }}) AS detail
FROM newest
UNION ALL
SELECT 'all',
       '',
       'future_rows',
       {% if live %}CAST(future_rows AS DOUBLE){% else %}CAST(NULL AS DOUBLE){% endif %},
       CAST(NULL AS BIGINT),
       {% if live %}CAST(NULL AS VARCHAR){% else %}'a backfill replays the past: rows after it are not from the future'{% endif %},
       -- Not the wall clock itself: a run's rows must not depend on when it ran.
       JSON_OBJECT('latest', CAST(latest_ts AS VARCHAR))
FROM newest
