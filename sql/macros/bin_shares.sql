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
