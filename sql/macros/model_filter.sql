{#- The monitored model's rows of one role (production unless the monitor says). -#}
{% macro model_filter() -%}
{{ 'model_name' | ident }} = {{ model.name | literal }} AND {{ 'role' | ident }} = {{ role | literal }}
{%- endmacro %}
