{{ config(
    materialized='incremental',
    unique_key='prediction_id',
    incremental_strategy='delete+insert',
    post_hook=[
        "{% if is_incremental() %}delete from {{ this }} where prediction_id not in (select prediction_id from {{ ref('stg_predictions') }}){% endif %}"
    ],
) }}
-- Predictions left-joined to their first feedback (earliest label_ts), with
-- label_delay and maturity. A prediction is mature once ts + label_maturity has
-- passed (per model, from the var label_maturity_hours). Checks judge maturity at the
-- run's time T with `matures_at <= T`; `is_mature` is the same test at build time.
-- All times are UTC (the logs' ts is UTC; the build time is taken in UTC too).
--
-- Incremental: each build writes only rows that are new or differ from the stored
-- ones (the prediction itself, its first feedback, matures_at, or is_mature), and
-- the post-hook deletes rows whose prediction left stg_predictions (e.g. later
-- marked as test traffic). Unchanged rows keep their built_at.

{%- set maturity = var('label_maturity_hours') %}
{#- Whole seconds (dbt.dateadd's unit on every adapter; maturities are hours or days). -#}
{%- set maturity_seconds -%}
    case p.model_name
    {%- for name, hours in maturity.items() %}
        when {{ dbt.string_literal(name) }} then {{ (hours * 3600) | round | int }}
    {%- endfor %}
        else {{ (var('default_label_maturity_hours') * 3600) | round | int }}
    end
{%- endset %}

with predictions as (
    select *, md5(cast(p as varchar)) as row_hash
    from {{ ref('stg_predictions') }} as p
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
    from (
        select
            *,
            row_number() over (partition by prediction_id order by label_ts, label) as _rank
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
        cast(current_timestamp at time zone 'UTC' as timestamp) as built_at
    from predictions as p
    left join first_feedback as f on f.prediction_id = p.prediction_id
),

final as (
    select *, matures_at <= built_at as is_mature
    from outcomes
)

select n.*
from final as n
{% if is_incremental() %}
left join {{ this }} as o on o.prediction_id = n.prediction_id
where o.prediction_id is null
   or o.row_hash != n.row_hash
   or o.label is distinct from n.label
   or o.label_ts is distinct from n.label_ts
   or o.matures_at != n.matures_at
   or o.is_mature != n.is_mature
{% endif %}
