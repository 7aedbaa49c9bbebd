{{ config(
    materialized='incremental',
    unique_key='prediction_id',
    incremental_strategy='delete+insert',
) }}
-- Predictions left-joined to their first feedback, with label_delay and maturity.
-- A prediction is mature once ts + label_maturity has passed (per model, from the
-- dbt var label_maturity_hours). Checks judge maturity at the run's time T with
-- `matures_at <= T`; `is_mature` is the same test at build time.
--
-- Incremental: each build re-processes new predictions, predictions whose first
-- feedback changed since the last build, and predictions that matured since then.

{% set maturity = var('label_maturity_hours') %}

with predictions as (
    select *
    from {{ ref('stg_predictions') }}
),

feedback as (
    select * from {{ ref('stg_feedback') }}
),

-- Feedback matched by prediction_id, or by request_id when it names no prediction.
matched as (
    select p.prediction_id, f.label, f.label_ts
    from predictions as p
    join feedback as f on f.prediction_id = p.prediction_id
    union all
    select p.prediction_id, f.label, f.label_ts
    from predictions as p
    join feedback as f on f.prediction_id is null and f.request_id = p.request_id
),

first_feedback as (
    select prediction_id, label, label_ts
    from matched
    qualify row_number() over (partition by prediction_id order by label_ts, label) = 1
),

outcomes as (
    select
        p.*,
        f.label,
        f.label_ts,
        f.label_ts - p.ts as label_delay,
        p.ts + to_seconds(3600.0 * (
            case p.model_name
            {%- for name, hours in maturity.items() %}
                when {{ dbt.string_literal(name) }} then {{ hours | float }}
            {%- endfor %}
                else {{ var('default_label_maturity_hours') | float }}
            end)) as matures_at,
        current_timestamp::timestamp as built_at
    from predictions as p
    left join first_feedback as f on f.prediction_id = p.prediction_id
)

select *, matures_at <= built_at as is_mature
from outcomes
{% if is_incremental() %}
-- Re-process everything except rows that are unchanged: same first feedback as
-- stored, and a maturity flag that is still right.
where prediction_id not in (
    select o.prediction_id
    from {{ this }} as o
    left join first_feedback as f on f.prediction_id = o.prediction_id
    where o.label_ts is not distinct from f.label_ts
      and o.label is not distinct from f.label
      and (o.is_mature or o.matures_at > current_timestamp::timestamp)
)
{% endif %}
