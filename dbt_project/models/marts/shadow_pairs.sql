{{ config(
    materialized='incremental',
    unique_key=['model_name', 'request_id'],
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    pre_hook=["{{ 'delete from ' ~ this if execute and is_incremental() and not shadow_pairs_by_arrival() }}"],
    post_hook=["{{ 'delete from ' ~ this ~ ' where not has_production and not has_shadow' if execute and is_incremental() }}"],
) }}
-- Production and shadow scoring of the same request side by side (one row per
-- model_name and request_id). A full outer join keeps one-sided requests, flagged by
-- has_production / has_shadow, so coverage can be measured rather than hidden.
-- Label and slice columns come from whichever side exists (production first).
-- `outcomes_built_at` and `predictions_loaded_at` are the newest built_at and
-- ingestion time of the pair's two predictions: how an incremental build knows what
-- it has seen.
--
-- Incremental, when both logs carry an ingestion time (shadow_pairs_by_arrival): a
-- build rewrites the pairs of requests with a prediction_outcomes row built since
-- the last build, with a prediction delivered since (less incremental_lookback_hours;
-- test traffic leaves prediction_outcomes without a new row), or whose stored pair
-- names such a prediction (it may have moved to another request). Those requests are
-- the rows written: one left with no prediction gets neither side, and the post-hook
-- deletes it.
-- Otherwise the table is emptied and rebuilt in place (the pre-hook).

{%- set loaded_at = var('loaded_at_column', none) %}
{%- set by_arrival = shadow_pairs_by_arrival() %}

with
{%- if by_arrival %}
{%- set built_since = stored_since('outcomes_built_at', 0) %}
{%- set loaded_since = stored_since('predictions_loaded_at') %}

-- Predictions whose pair may have changed since the last build.
touched as (
    select o.prediction_id, o.model_name, o.request_id
    from {{ ref('prediction_outcomes') }} as o
    where {{ 'o.built_at > ' ~ built_since if built_since else 'true' }}
    union
    select cast(r.prediction_id as varchar), cast(r.model_name as varchar), cast(r.request_id as varchar)
    from {{ raw_relation('monitor_predictions', 'predictions', 'predictions_table') }} as r
    where {{ arrived_after('r.' ~ adapter.quote(loaded_at), loaded_since) }}
),

requests as (
    select model_name, request_id from touched
    union
    select s.model_name, s.request_id
    from {{ this }} as s
    where s.prod_prediction_id in (select prediction_id from touched)
       or s.shadow_prediction_id in (select prediction_id from touched)
),

-- The predictions of those requests (read once: prediction_outcomes is the big one).
requested as (
    select o.*
    from {{ ref('prediction_outcomes') }} as o
    join requests as q on q.model_name = o.model_name and q.request_id = o.request_id
    where o.role in ('production', 'shadow')
),

production as (
    select * from requested where role = 'production'
),

shadow as (
    select * from requested where role = 'shadow'
),

{%- else %}

production as (
    select * from {{ ref('prediction_outcomes') }} where role = 'production'
),

shadow as (
    select * from {{ ref('prediction_outcomes') }} where role = 'shadow'
),
{%- endif %}

pairs as (
    select
        {%- if by_arrival %}
        q.model_name,
        q.request_id,
        {%- else %}
        coalesce(p.model_name, s.model_name) as model_name,
        coalesce(p.request_id, s.request_id) as request_id,
        {%- endif %}
        coalesce(p.ts, s.ts) as ts,
        p.prediction_id is not null as has_production,
        s.prediction_id is not null as has_shadow,
        p.prediction_id as prod_prediction_id,
        s.prediction_id as shadow_prediction_id,
        p.model_version as prod_model_version,
        s.model_version as shadow_model_version,
        p.score as prod_score,
        s.score as shadow_score,
        coalesce(p.label, s.label) as label,
        coalesce(p.label_ts, s.label_ts) as label_ts,
        coalesce(p.matures_at, s.matures_at) as matures_at,
        {%- for col in var('slice_columns') %}
        coalesce(p.{{ adapter.quote(col) }}, s.{{ adapter.quote(col) }}) as {{ adapter.quote(col) }},
        {%- endfor %}
        greatest(p.built_at, s.built_at) as outcomes_built_at,
        {% if loaded_at -%}
        greatest(p.{{ adapter.quote(loaded_at) }}, s.{{ adapter.quote(loaded_at) }})
        {%- else -%}
        cast(null as timestamp)
        {%- endif %} as predictions_loaded_at
    {%- if by_arrival %}
    from requests as q
    left join production as p on p.model_name = q.model_name and p.request_id = q.request_id
    left join shadow as s on s.model_name = q.model_name and s.request_id = q.request_id
    {%- else %}
    from production as p
    full outer join shadow as s
        on s.model_name = p.model_name
       and s.request_id = p.request_id
    {%- endif %}
)

select * from pairs
