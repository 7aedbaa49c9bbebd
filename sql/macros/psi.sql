{#- Population stability index: Σ (p − q)·ln(p / q) over bins; `p`, `q` must be smoothed
    (never 0), e.g. p_s, q_s from bin_shares. -#}
{% macro psi(p, q) -%}
SUM(({{ p }} - {{ q }}) * LN({{ p }} / {{ q }}))
{%- endmacro %}
