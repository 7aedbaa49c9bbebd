{#- The two-proportion z statistic with the pooled proportion, for rates `v1` over `n1`
    against `v2` over `n2`: (v1 − v2) / √(p̄(1 − p̄)(1/n1 + 1/n2)), p̄ = (v1·n1 + v2·n2) /
    (n1 + n2). 0 when the rates are equal (also when p̄ is 0 or 1); NULL when either
    rate is undefined. Its two-sided p-value is the 2×2 χ² test's (test `z`). -#}
{% macro proportion_z(v1, n1, v2, n2) -%}
CASE WHEN {{ v1 }} IS NULL OR {{ v2 }} IS NULL THEN NULL
     WHEN {{ v1 }} = {{ v2 }} THEN 0.0
     ELSE ({{ v1 }} - {{ v2 }}) / NULLIF(SQRT(
          ({{ v1 }} * {{ n1 }} + {{ v2 }} * {{ n2 }}) / ({{ n1 }} + {{ n2 }})
          * (1 - ({{ v1 }} * {{ n1 }} + {{ v2 }} * {{ n2 }}) / ({{ n1 }} + {{ n2 }}))
          * (1.0 / {{ n1 }} + 1.0 / {{ n2 }})), 0)
END
{%- endmacro %}
