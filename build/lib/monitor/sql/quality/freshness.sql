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
params: {}
metrics: [freshness]
returns: [segment, feature, metric, value, sample_size, reason, detail]
--- */
{%- set reference = run_at if live else window.end %}
WITH newest AS (
    -- The newest prediction of the model and role before the reference time.
    SELECT MAX(ts) AS newest_ts
    FROM {{ model.predictions | table }}
    WHERE {{ 'model_name' | ident }} = {{ model.name | literal }} AND {{ 'role' | ident }} = {{ role | literal }}
      AND ts < {{ reference | literal }}
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
