-- Typed prediction log: one row per prediction_id, test traffic removed. Feature and
-- slice columns pass through. A re-delivered event keeps its latest version: the
-- latest `loaded_at_column` when the var names one (an ingestion timestamp), else
-- the latest ts; remaining ties are broken by a hash of the row, so the choice is
-- deterministic.
with typed as (
    select
        * replace (
            cast(prediction_id as varchar) as prediction_id,
            cast(request_id as varchar) as request_id,
            cast(ts as timestamp) as ts,
            cast(model_name as varchar) as model_name,
            cast(model_version as varchar) as model_version,
            lower(cast(role as varchar)) as role,
            cast(score as double) as score,
            cast(is_test as boolean) as is_test
        )
    from {{ var('predictions_table') }}
    where prediction_id is not null
)

select * exclude (is_test, _delivery_rank)
from (
    select
        *,
        row_number() over (
            partition by prediction_id
            order by
                {% if var('loaded_at_column', none) %}{{ adapter.quote(var('loaded_at_column')) }} desc,{% endif %}
                ts desc,
                md5(cast(typed as varchar))
        ) as _delivery_rank
    from typed
)
where _delivery_rank = 1
  and not coalesce(is_test, false)
