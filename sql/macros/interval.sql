{#- One end (`side` −1 low, +1 high) of a 95% interval for a metric row's value `v`
    with sample size `n`: Wilson's score interval for a rate,
    (v + z²/2n ± z·√(v(1−v)/n + z²/4n²)) / (1 + z²/n), and v ± z·SE (Hanley–McNeil)
    for auc, both clamped to [0, 1]; z = Φ⁻¹(0.975). NULL when n is 0. -#}
{% from 'macros/auc_variance.sql' import auc_variance with context %}
{% macro interval(v, n, pos, neg, side) -%}
{%- set z = 1.959963984540054 -%}
CASE WHEN {{ v }} IS NULL OR {{ n }} = 0 THEN NULL  -- no division by zero on strict engines
     WHEN metric = 'auc'
     THEN LEAST(1.0, GREATEST(0.0, {{ v }} + {{ side }} * {{ z }} * SQRT({{ auc_variance(v, pos, neg) }})))
     -- clamped to [0, 1]: at v = 0 or 1 rounding can step a hair outside
     ELSE LEAST(1.0, GREATEST(0.0,
          ({{ v }} + {{ z * z }} / (2.0 * {{ n }})
           + {{ side }} * {{ z }} * SQRT({{ v }} * (1 - {{ v }}) / {{ n }} + {{ z * z }} / (4.0 * {{ n }} * {{ n }})))
          / (1 + {{ z * z }} / {{ n }})))
END
{%- endmacro %}
