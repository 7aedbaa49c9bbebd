{#-
  Row sources shared by every check. The runner supplies `model`, `role`, `window`
  and `baseline`; every name and value goes through the `ident`, `table` and
  `literal` filters, so nothing from the config or the data is pasted into SQL.
-#}

{#- The monitored model's rows of one role (production unless the monitor says). -#}
{% macro model_filter() -%}
{{ 'model_name' | ident }} = {{ model.name | literal }} AND {{ 'role' | ident }} = {{ role | literal }}
{%- endmacro %}

{#- The run's window: [window.start, window.end), prediction time, UTC. -#}
{% macro current_rows() -%}
SELECT * FROM {{ model.predictions | table }}
WHERE {{ model_filter() }}
  AND ts >= {{ window.start | literal }} AND ts < {{ window.end | literal }}
{%- endmacro %}

{#- The baseline: earlier time ranges of the same model (fixed, rolling, seasonal —
    seasonal pools K disjoint ranges), or a reference table of the same columns. -#}
{% macro baseline_rows() -%}
{%- if baseline is none -%}
{{ fail("check needs a baseline: set `baseline:` on the monitor (fixed, rolling, seasonal or table)") }}
{%- elif baseline.table -%}
SELECT * FROM {{ baseline.table | table }}
{%- else -%}
SELECT * FROM {{ model.predictions | table }}
WHERE {{ model_filter() }}
  AND {{ in_ranges(baseline.ranges) }}
{%- endif %}
{%- endmacro %}

{#- `ts` within any of `ranges` ([{start, end}], half-open, UTC). No ranges is FALSE:
    when every baseline range was skipped (alerting windows) the baseline is empty, so
    its rows are no_data. -#}
{% macro in_ranges(ranges) -%}
({% for r in ranges %}{% if not loop.first %} OR {% endif %}(ts >= {{ r.start | literal }} AND ts < {{ r.end | literal }}){% endfor %}{% if not ranges %}FALSE{% endif %})
{%- endmacro %}

{#- The CTEs `current_window` and, when the monitor has a baseline, `baseline_window`,
    each followed by a comma: for checks whose baseline is optional (quality checks). -#}
{% macro window_ctes() -%}
current_window AS (
    {{ current_rows() }}
),
{%- if baseline is not none %}
baseline_window AS (
    {{ baseline_rows() }}
),
{%- endif %}
{%- endmacro %}
