-- Typed feedback: the true outcome of a prediction (by prediction_id) or of a request
-- (by request_id, then it applies to every prediction of that request). One row per
-- (key, label_ts): re-deliveries of the same event collapse, and two different labels
-- stamped with the same label_ts resolve deterministically to the larger. A second
-- outcome with a later label_ts is kept; prediction_outcomes takes the first.
-- With no feedback log (the var feedback_table is null) no outcome is known yet: the
-- model is typed but empty, and the performance checks find no labels.

{%- if var('feedback_table', none) is none %}

select
    cast(null as varchar) as feedback_id,
    cast(null as varchar) as prediction_id,
    cast(null as varchar) as request_id,
    cast(null as double precision) as label,
    cast(null as timestamp) as label_ts
where 1 = 0

{%- else %}

with typed as (
    select
        cast(prediction_id as varchar) as prediction_id,
        cast(request_id as varchar) as request_id,
        cast(label as double precision) as label,
        cast(label_ts as timestamp) as label_ts
    from {{ raw_relation('monitor_feedback', 'feedback', 'feedback_table') }}
    where label_ts is not null
      and (prediction_id is not null or request_id is not null)
),

ranked as (
    select
        *,
        row_number() over (
            partition by prediction_id, request_id, label_ts
            order by label desc
        ) as _rank
    from typed
)

select
    md5(concat_ws('|', coalesce(prediction_id, ''), coalesce(request_id, ''), cast(label_ts as varchar)))
        as feedback_id,
    prediction_id,
    request_id,
    label,
    label_ts
from ranked
where _rank = 1

{%- endif %}
