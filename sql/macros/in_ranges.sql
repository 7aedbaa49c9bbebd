{#- `ts` within any of `ranges` ([{start, end}], half-open, UTC). No ranges is FALSE:
    when every baseline range was skipped (alerting windows) the baseline is empty, so
    its rows are no_data. -#}
{% macro in_ranges(ranges) -%}
({% for r in ranges %}{% if not loop.first %} OR {% endif %}(ts >= {{ r.start | literal }} AND ts < {{ r.end | literal }}){% endfor %}{% if not ranges %}FALSE{% endif %})
{%- endmacro %}
