{{ config(
    materialized='incremental',
    unique_key='prediction_id',
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    pre_hook=["{{ forget_test_traffic() }}"],
    post_hook=["{{ forget_vanished_predictions() }}"],
) }}
-- Predictions left-joined to their first feedback (earliest label_ts), with
-- label_delay and maturity. A prediction is mature once ts + label_maturity has
-- passed (per model, from the var label_maturity_hours). Checks judge maturity at the
-- run's time T with `matures_at <= T`; `is_mature` is the same test at build time.
-- All times are UTC (the logs' ts is UTC; the build time is taken in UTC too).
-- `feedback_loaded_at` is the ingestion time of the first feedback (null without the
-- var feedback_loaded_at_column).
--
-- Incremental: each build writes only rows that are new or differ from the stored
-- ones (the prediction itself, its first feedback, matures_at, or is_mature), and
-- deletes rows whose prediction left stg_predictions (e.g. later marked as test
-- traffic). Unchanged rows keep their built_at. Which predictions a build looks at:
--
-- * By arrival, when both logs carry an ingestion time (macros/logs.sql,
--   builds_by_arrival): predictions with a delivery stamped at or after the newest
--   stored stamp (less incremental_lookback_hours), predictions that feedback stamped
--   at or after the newest stored feedback stamp names, and stored predictions whose
--   maturity passed or whose label maturity changed. Test traffic is removed by the
--   pre-hook (macros/forget.sql). The cost follows what arrived, not the history.
--   Rows deleted from a raw log are not seen: a full refresh removes them.
-- * Otherwise every prediction, compared with its stored row; the post-hook deletes
--   the rows whose prediction left stg_predictions.

{%- set maturity = var('label_maturity_hours') %}
{#- Whole seconds (dbt.dateadd's unit on every adapter; maturities are hours or days). -#}
{%- set maturity_seconds -%}
    case p.model_name
    {%- for name, hours in maturity.items() %}
        when {{ text_literal(name) }} then {{ (hours * 3600) | round | int }}
    {%- endfor %}
        else {{ (var('default_label_maturity_hours') * 3600) | round | int }}
    end
{%- endset %}
{%- set now = "cast(current_timestamp at time zone 'UTC' as timestamp)" %}
{%- set derived = ['row_hash', 'label', 'label_ts', 'label_delay', 'matures_at', 'built_at',
                   'feedback_loaded_at', 'is_mature'] %}
{%- set by_arrival = execute and builds_by_arrival(
        adapter.get_columns_in_relation(ref('stg_predictions')) | map(attribute='name') | list + derived) %}
{%- set stored = (adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list)
                 if execute and is_incremental() else [] %}

with
{%- if by_arrival %}
{%- set loaded_at = adapter.quote(var('loaded_at_column')) %}
{%- set raw_predictions = raw_relation('monitor_predictions', 'predictions', 'predictions_table') %}

{%- set predictions_since = stored_since(loaded_at) %}
{%- set feedback_since = stored_since('feedback_loaded_at') %}

-- Predictions with a delivery stamped since the last build (or never stamped).
arrived as (
    select cast(r.prediction_id as varchar) as prediction_id
    from {{ raw_predictions }} as r
    where r.prediction_id is not null
      and {{ arrived_after('r.' ~ loaded_at, predictions_since) }}
),

{%- if var('feedback_table', none) is not none %}

-- Feedback stamped since the last build (or never stamped).
arrived_feedback as (
    select cast(r.prediction_id as varchar) as prediction_id, cast(r.request_id as varchar) as request_id
    from {{ raw_relation('monitor_feedback', 'feedback', 'feedback_table') }} as r
    where {{ arrived_after('r.' ~ adapter.quote(var('feedback_loaded_at_column')), feedback_since) }}
),
{%- endif %}

-- Every prediction this build looks at: those delivered since, and stored ones that
-- matured since, whose model's label maturity changed (every row is checked, so a
-- model that went quiet is found too), or that new feedback names (one scan).
touched as (
    select prediction_id from arrived
    union
    select p.prediction_id
    from {{ this }} as p
    where (p.is_mature = false and p.matures_at <= {{ now }})
       or p.matures_at is distinct from {{ dbt.dateadd('second', maturity_seconds, 'p.ts') }}
    {%- if var('feedback_table', none) is not none %}
       or p.prediction_id in (select prediction_id from arrived_feedback)
       or p.request_id in (select request_id from arrived_feedback where prediction_id is null)
    {%- endif %}
),

predictions as (
    select *, md5(cast(p as varchar)) as row_hash
    from ({{ latest_predictions('prediction_id in (select prediction_id from touched)') }}) as p
),

feedback as (
    {{ deduped_feedback(
        'prediction_id in (select prediction_id from predictions)'
        ~ ' or (prediction_id is null and request_id in (select request_id from predictions))') }}
),

{%- else %}

predictions as (
    select *, md5(cast(p as varchar)) as row_hash
    from {{ ref('stg_predictions') }} as p
),

feedback as (
    select * from {{ ref('stg_feedback') }}
),
{%- endif %}

-- Feedback matched by prediction_id, or by request_id when it names no prediction.
matched as (
    select p.prediction_id, f.label, f.label_ts, f.loaded_at
    from predictions as p
    join feedback as f on f.prediction_id = p.prediction_id
    union all
    select p.prediction_id, f.label, f.label_ts, f.loaded_at
    from predictions as p
    join feedback as f on f.prediction_id is null and f.request_id = p.request_id
),

first_feedback as (
    select prediction_id, label, label_ts, loaded_at
    from (
        select
            *,
            row_number() over (
                partition by prediction_id
                order by label_ts, label, loaded_at desc nulls last
            ) as _rank
        from matched
    ) as ranked
    where _rank = 1
),

outcomes as (
    select
        p.*,
        f.label,
        f.label_ts,
        f.label_ts - p.ts as label_delay,
        {{ dbt.dateadd('second', maturity_seconds, 'p.ts') }} as matures_at,
        {{ now }} as built_at,
        f.loaded_at as feedback_loaded_at
    from predictions as p
    left join first_feedback as f on f.prediction_id = p.prediction_id
),

final as (
    select *, matures_at <= built_at as is_mature
    from outcomes
)

select n.*
from final as n
{%- if is_incremental() %}
left join {{ this }} as o on o.prediction_id = n.prediction_id
where o.prediction_id is null
   or o.row_hash != n.row_hash
   or o.label is distinct from n.label
   or o.label_ts is distinct from n.label_ts
   or o.matures_at != n.matures_at
   or o.is_mature != n.is_mature
   {#- A column this build adds to an older mart is written on every row once. #}
   or {{ "o.feedback_loaded_at is distinct from n.feedback_loaded_at" if 'feedback_loaded_at' in stored else "true" }}
{%- endif %}
