{#-
  prediction_outcomes' hooks: remove the rows of predictions that left
  stg_predictions, so an incremental build ends where a full one would.
-#}

{#-
  Before a build of logs that carry arrival: drop every stored prediction with a
  delivery since the last build that is marked as test traffic. The build writes back
  those whose latest delivery is not test traffic (their stored row is gone, so they
  count as new).
-#}
{% macro forget_test_traffic() %}
{%- if execute and is_incremental() and logs_carry_arrival() %}
{%- set loaded_at = adapter.quote(var('loaded_at_column')) %}
{%- set stored = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list %}
{%- if var('loaded_at_column') | lower in stored %}
delete from {{ this }}
where prediction_id in (
    select cast(r.prediction_id as varchar)
    from {{ raw_relation('monitor_predictions', 'predictions', 'predictions_table') }} as r
    where cast(r.is_test as boolean)
      and {{ arrived_after('r.' ~ loaded_at, stored_since(loaded_at)) }}
)
{%- endif %}
{%- endif %}
{% endmacro %}

{#-
  After a build of logs without arrival times: drop the rows whose prediction is no
  longer in stg_predictions (test traffic, or deleted from the raw log). This reads
  every prediction, as such a build does anyway.
-#}
{% macro forget_vanished_predictions() %}
{%- if execute and is_incremental() and not logs_carry_arrival() %}
delete from {{ this }}
where prediction_id not in (select prediction_id from {{ ref('stg_predictions') }})
{%- endif %}
{% endmacro %}
