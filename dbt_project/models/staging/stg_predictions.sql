-- Typed prediction log: one row per prediction_id, test traffic removed. Feature and
-- slice columns pass through. A re-delivered event keeps its latest version: the
-- latest `loaded_at_column` when the var names one (an ingestion timestamp), else
-- the latest ts; remaining ties are broken by a hash of the row, so the choice is
-- deterministic.
--
-- Portable SQL (DuckDB and PostgreSQL): the column list is read from the raw table
-- (raw_columns) instead of DuckDB's `* replace` / `* exclude`, and the ranking is a
-- subquery instead of QUALIFY.

{%- set raw = raw_relation('monitor_predictions', 'predictions', 'predictions_table') %}
{%- set typed = {
    'prediction_id': 'cast(prediction_id as varchar)',
    'request_id': 'cast(request_id as varchar)',
    'ts': 'cast(ts as timestamp)',
    'model_name': 'cast(model_name as varchar)',
    'model_version': 'cast(model_version as varchar)',
    'role': 'lower(cast(role as varchar))',
    'score': 'cast(score as double precision)',
    'is_test': 'cast(is_test as boolean)',
} %}
{%- set columns = raw_columns(raw, typed.keys() | list) %}

with typed as (
    select
    {%- for name in columns %}
        {{ typed.get(name | lower, adapter.quote(name)) }} as {{ adapter.quote(name) }}
        {{- "," if not loop.last }}
    {%- endfor %}
    from {{ raw }}
    where prediction_id is not null
),

ranked as (
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

select
{%- for name in columns if name | lower != 'is_test' %}
    {{ adapter.quote(name) }}{{ "," if not loop.last }}
{%- endfor %}
from ranked
where _delivery_rank = 1
  and not coalesce(is_test, false)
