{#-
  Building blocks of the distribution checks, defined once so every check computes
  the same statistic the same way.
-#}
{% from 'macros/segments.sql' import segment_label %}
{% from 'macros/numbers.sql' import finite_double %}

{#- Long form: one row per (sample, segment, feature, value) from the CTEs
    `current_window` ('cur') and `baseline_window` ('base'), for every column and every
    slice of `by` ('all' first). Each branch reads one column. Numeric values are
    DOUBLE with NaN/±inf as NULL; categorical values are VARCHAR. -#}
{% macro observations(columns, by, numeric) -%}
{%- for seg in [[]] + by %}{% set first_slice = loop.first %}
{%- for col in columns %}{% set first_branch = first_slice and loop.first %}
{%- for sample, source in [('cur', 'current_window'), ('base', 'baseline_window')] %}
    {% if not (first_branch and loop.first) %}UNION ALL {% endif -%}
    SELECT {{ sample | literal }} AS sample, {{ segment_label(seg) }} AS segment,
           {{ col | literal }} AS feature,
           {% if numeric %}{{ finite_double(col) }}{% else %}CAST({{ col | ident }} AS VARCHAR){% endif %} AS v
    FROM {{ source }}
{%- endfor %}{% endfor %}{% endfor %}
{%- endmacro %}

{#- Shares per bin, from a relation with columns segment, feature, n_cur, n_base,
    rows_cur, rows_base (one row per bin with any count in either sample):
    p, q — raw shares; p_s, q_s — Jeffreys-smoothed shares (n + ½) / (N + ½·K), K = the
    bins observed in either sample. Smoothing keeps PSI finite for an empty bin without
    letting a nearly empty one dominate, as a fixed ε floor does; it vanishes as N grows. -#}
{% macro bin_shares(relation) -%}
SELECT *,
       n_cur * 1.0 / NULLIF(rows_cur, 0) AS p,
       n_base * 1.0 / NULLIF(rows_base, 0) AS q,
       (n_cur + 0.5) / (rows_cur + 0.5 * COUNT(*) OVER (PARTITION BY segment, feature)) AS p_s,
       (n_base + 0.5) / (rows_base + 0.5 * COUNT(*) OVER (PARTITION BY segment, feature)) AS q_s
FROM {{ relation }}
{%- endmacro %}

{#- Population stability index: Σ (p − q)·ln(p / q) over bins; `p`, `q` must be smoothed
    (never 0), e.g. p_s, q_s from bin_shares. -#}
{% macro psi(p, q) -%}
SUM(({{ p }} - {{ q }}) * LN({{ p }} / {{ q }}))
{%- endmacro %}

{#- Jensen–Shannon distance, base 2: sqrt(½ Σ p·log2(p/m) + ½ Σ q·log2(q/m)), m = (p+q)/2,
    with 0·log 0 = 0 (no smoothing needed); in [0, 1]. GREATEST guards rounding below 0. -#}
{% macro js_distance(p, q) -%}
SQRT(GREATEST(
    SUM(CASE WHEN {{ p }} > 0 THEN 0.5 * {{ p }} * LN({{ p }} / (({{ p }} + {{ q }}) / 2)) ELSE 0 END
        + CASE WHEN {{ q }} > 0 THEN 0.5 * {{ q }} * LN({{ q }} / (({{ p }} + {{ q }}) / 2)) ELSE 0 END) / LN(2),
    0))
{%- endmacro %}

{#- Per distinct value: its count in each sample (v IS NULL is the missing bin). -#}
{% macro value_counts() -%}
SELECT segment, feature, v,
       SUM(CASE WHEN sample = 'cur' THEN 1 ELSE 0 END) AS n_cur,
       SUM(CASE WHEN sample = 'base' THEN 1 ELSE 0 END) AS n_base
FROM observations
GROUP BY segment, feature, v
{%- endmacro %}
