{#- Jensen–Shannon distance, base 2: sqrt(½ Σ p·log2(p/m) + ½ Σ q·log2(q/m)), m = (p+q)/2,
    with 0·log 0 = 0 (no smoothing needed); in [0, 1]. GREATEST guards rounding below 0. -#}
{% macro js_distance(p, q) -%}
SQRT(GREATEST(
    SUM(CASE WHEN {{ p }} > 0 THEN 0.5 * {{ p }} * LN({{ p }} / (({{ p }} + {{ q }}) / 2)) ELSE 0 END
        + CASE WHEN {{ q }} > 0 THEN 0.5 * {{ q }} * LN({{ q }} / (({{ p }} + {{ q }}) / 2)) ELSE 0 END) / LN(2),
    0))
{%- endmacro %}
