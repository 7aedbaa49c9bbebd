{#- A numeric column as DOUBLE, with NaN and ±inf treated as missing (like NULL):
    they are counted by null_rate and kept out of every distribution statistic. -#}
{% macro finite_double(col) -%}
CASE WHEN isfinite(CAST({{ col | ident }} AS DOUBLE)) THEN CAST({{ col | ident }} AS DOUBLE) END
{%- endmacro %}

{#- ln(p) with p clipped to [ε, 1 − ε], ε = 2⁻⁵², as scikit-learn's log_loss clips: a
    confident wrong score costs ln(ε) ≈ −36, not −∞. `p` is an SQL expression. -#}
{% macro clipped_ln(p) -%}
LN(LEAST(GREATEST({{ p }}, 2.220446049250313e-16), 1 - 2.220446049250313e-16))
{%- endmacro %}
