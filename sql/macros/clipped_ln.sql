{#- ln(p) with p clipped to [ε, 1 − ε], ε = 2⁻⁵², as scikit-learn's log_loss clips: a
    confident wrong score costs ln(ε) ≈ −36, not −∞. `p` is an SQL expression. -#}
{% macro clipped_ln(p) -%}
LN(LEAST(GREATEST({{ p }}, 2.220446049250313e-16), 1 - 2.220446049250313e-16))
{%- endmacro %}
