{#-
  The typed, deduplicated logs, as SQL a model can embed. stg_predictions and
  stg_feedback are these with no filter; prediction_outcomes embeds them filtered to
  the predictions a build must look at, so an incremental build types and dedups only
  those rows, with exactly the rules a full build uses (the filters are on the
  deduplication's partition keys, so no group is cut).

  `where`: a condition on the typed columns, or none for every row.
-#}

{% macro latest_predictions(where=none) %}
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
{%- set loaded_at = var('loaded_at_column', none) %}
with typed as (
    select
    {%- for name in columns %}
        {{ typed.get(name | lower, adapter.quote(name)) }} as {{ adapter.quote(name) }}
        {{- "," if not loop.last }}
    {%- endfor %}
    from {{ raw }}
    -- A delivery without an id or a model cannot be matched to anything: not used.
    where prediction_id is not null
      and model_name is not null
),

ranked as (
    select
        *,
        row_number() over (
            partition by prediction_id
            order by
                {% if loaded_at %}{{ adapter.quote(loaded_at) }} desc nulls last,{% endif %}
                ts desc nulls last,
                md5(cast(typed as varchar))
        ) as _delivery_rank
    from typed
    {%- if where %}
    where {{ where }}
    {%- endif %}
)

select
{%- for name in columns if name | lower != 'is_test' %}
    {{ adapter.quote(name) }}{{ "," if not loop.last }}
{%- endfor %}
from ranked
where _delivery_rank = 1
  and not coalesce(is_test, false)
{% endmacro %}


{% macro deduped_feedback(where=none) %}
{%- if var('feedback_table', none) is none %}
select
    cast(null as varchar) as feedback_id,
    cast(null as varchar) as prediction_id,
    cast(null as varchar) as request_id,
    cast(null as double precision) as label,
    cast(null as timestamp) as label_ts,
    cast(null as timestamp) as loaded_at
where 1 = 0
{%- else %}
{%- set loaded_at = var('feedback_loaded_at_column', none) %}
with typed as (
    select
        cast(prediction_id as varchar) as prediction_id,
        cast(request_id as varchar) as request_id,
        cast(label as double precision) as label,
        cast(label_ts as timestamp) as label_ts,
        {#- As logged (a TIMESTAMPTZ stays one: builds compare it with its own kind). #}
        {% if loaded_at %}{{ adapter.quote(loaded_at) }}{% else %}cast(null as timestamp){% endif %} as loaded_at
    from {{ raw_relation('monitor_feedback', 'feedback', 'feedback_table') }}
    where label_ts is not null
      and (prediction_id is not null or request_id is not null)
),

ranked as (
    select
        *,
        -- Re-deliveries of one event collapse to the larger label, then the latest.
        row_number() over (
            partition by prediction_id, request_id, label_ts
            order by label desc nulls last, loaded_at desc nulls last
        ) as _rank
    from typed
    {%- if where %}
    where {{ where }}
    {%- endif %}
)

select
    md5(concat_ws('|', coalesce(prediction_id, ''), coalesce(request_id, ''), cast(label_ts as varchar)))
        as feedback_id,
    prediction_id,
    request_id,
    label,
    label_ts,
    loaded_at
from ranked
where _rank = 1
{%- endif %}
{% endmacro %}


{#-
  Whether both logs carry an ingestion time (the vars loaded_at_column and
  feedback_loaded_at_column; no feedback log needs none), so incremental marts can
  look only at what arrived since their last build.
-#}
{% macro logs_carry_arrival() %}
    {%- if not var('loaded_at_column', none) -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(var('feedback_table', none) is none or var('feedback_loaded_at_column', none) is not none) }}
{% endmacro %}


{#-
  Whether this build of an incremental mart looks only at what arrived since the last
  one: the logs carry arrival (logs_carry_arrival), the mart exists, and its columns
  are `expected_columns`, the ones this build writes. Otherwise the mart compares every
  row (prediction_outcomes) or is rebuilt in place (shadow_pairs).
-#}
{% macro builds_by_arrival(expected_columns) %}
    {%- if not execute or not is_incremental() or not logs_carry_arrival() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set stored = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {{ return(stored | sort == expected_columns | map('lower') | sort | list) }}
{% endmacro %}


{#-
  The newest `column_sql` stored in this mart, moved back by `seconds` (by default the
  var incremental_lookback_hours: rows an ingestion stamped a little before it, in a load
  that committed late, are looked at again; looking again is harmless), as a SQL
  timestamp literal, or none while the mart holds none. A literal rather than a
  subquery, so the warehouse skips the older parts of a raw log (DuckDB's zone maps,
  partition pruning elsewhere).
-#}
{% macro stored_since(column_sql, seconds=none) %}
    {%- if seconds is none -%}
        {%- set seconds = (var('incremental_lookback_hours', 1) * 3600) | round | int -%}
    {%- endif -%}
    {%- set found = run_query('select max(' ~ column_sql ~ ') from ' ~ this).columns[0].values()[0] -%}
    {%- if found is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set since = found - modules.datetime.timedelta(seconds=seconds) -%}
    {%- if since.tzinfo is none -%}
        {{ return("cast('" ~ since.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "' as timestamp)") }}
    {%- endif -%}
    {#- A log stamped with time zones: compare instants. -#}
    {{ return("cast('" ~ since.isoformat() ~ "' as timestamp with time zone)") }}
{% endmacro %}


{#- `column_sql` is at or after `since` (a stored_since literal: a load stamped like the
    newest stored one may have committed after it), or unknown; always, without one. -#}
{% macro arrived_after(column_sql, since) %}
    {%- if since is none -%}
        true
    {%- else -%}
        ({{ column_sql }} >= {{ since }} or {{ column_sql }} is null)
    {%- endif -%}
{% endmacro %}


{#- shadow_pairs' columns: whether its build looks only at what arrived (builds_by_arrival). -#}
{% macro shadow_pairs_by_arrival() %}
    {%- set columns = ['model_name', 'request_id', 'ts', 'has_production', 'has_shadow',
                       'prod_prediction_id', 'shadow_prediction_id', 'prod_model_version',
                       'shadow_model_version', 'prod_score', 'shadow_score', 'label', 'label_ts',
                       'matures_at'] + var('slice_columns') + ['outcomes_built_at', 'predictions_loaded_at'] -%}
    {{ return(builds_by_arrival(columns)) }}
{% endmacro %}
