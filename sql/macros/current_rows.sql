{#- The run's window: [window.start, window.end), prediction time, UTC. -#}
{% from 'macros/model_filter.sql' import model_filter with context %}
{% macro current_rows() -%}
SELECT * FROM {{ model.predictions | table }}
WHERE {{ model_filter() }}
  AND ts >= {{ window.start | literal }} AND ts < {{ window.end | literal }}
{%- endmacro %}
