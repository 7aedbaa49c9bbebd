{#- Hanley & McNeil (1982) variance of an AUC `a` from `pos` positives and `neg`
    negatives: (A(1−A) + (P−1)(Q₁−A²) + (N−1)(Q₂−A²)) / (P·N), Q₁ = A/(2−A),
    Q₂ = 2A²/(1+A). Each term is ≥ 0 for A in [0, 1]; GREATEST guards rounding. -#}
{% macro auc_variance(a, pos, neg) -%}
GREATEST(({{ a }} * (1 - {{ a }})
    + ({{ pos }} - 1) * ({{ a }} / (2 - {{ a }}) - {{ a }} * {{ a }})
    + ({{ neg }} - 1) * (2 * {{ a }} * {{ a }} / (1 + {{ a }}) - {{ a }} * {{ a }}))
    / NULLIF({{ pos }} * {{ neg }}, 0), 0)
{%- endmacro %}
