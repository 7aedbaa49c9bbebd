-- Production and shadow scoring of the same request side by side (one row per
-- model_name and request_id). A full outer join keeps one-sided requests, flagged by
-- has_production / has_shadow, so coverage can be measured rather than hidden.
-- Label and slice columns come from whichever side exists (production first).

with outcomes as (
    select * from {{ ref('prediction_outcomes') }}
),

production as (
    select * from outcomes where role = 'production'
),

shadow as (
    select * from outcomes where role = 'shadow'
)

select
    coalesce(p.model_name, s.model_name) as model_name,
    coalesce(p.request_id, s.request_id) as request_id,
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
    coalesce(p.matures_at, s.matures_at) as matures_at
    {%- for col in var('slice_columns') %},
    coalesce(p.{{ adapter.quote(col) }}, s.{{ adapter.quote(col) }}) as {{ adapter.quote(col) }}
    {%- endfor %}
from production as p
full outer join shadow as s
    on s.model_name = p.model_name
   and s.request_id = p.request_id
