{#-
  Building blocks of the distribution checks, defined once so every check computes
  the same statistic the same way.
-#}
{% from 'macros/segments.sql' import segment_label %}
{% from 'macros/numbers.sql' import finite_double %}

{#- Per (segment, feature, distinct value): its count in the current window (n_cur) and
    in the baseline (n_base), from the CTEs `current_window` and `baseline_window`, for
    every column and every slice of `by` ('all' first); v IS NULL is the missing bin.
    The 'all' segment's missing bin is always present, possibly with zero counts:
    consumers drop bins empty in both samples.
    Each column is grouped on its own (a small hash table keyed by its values) and the
    per-column results are stacked: grouping all columns in one long-form relation is
    several times slower and needs far more memory (DESIGN.md, performance facts).
    Numeric values are DOUBLE with NaN/±inf as NULL; categorical values are VARCHAR. -#}
{% macro value_counts(columns, by, numeric) -%}
{%- for col in columns %}
{% if not loop.first %}UNION ALL
{% endif -%}
-- COUNT gives a BIGINT (SUM of integers is a 128-bit HUGEINT in DuckDB, and the running
-- sums over it are a third slower: 6.1 s vs 4.1 s for 20M distinct values).
SELECT segment, {{ col | literal }} AS feature, v,
       COUNT(CASE WHEN sample = 'cur' THEN 1 END) AS n_cur,
       COUNT(CASE WHEN sample = 'base' THEN 1 END) AS n_base
FROM ({{ observations(col, by, numeric) }}) AS observations
GROUP BY segment, v
{%- endfor %}
{%- endmacro %}

{#- One row per observation of column `col` in the CTEs `current_window` ('cur') and
    `baseline_window` ('base'), for every slice of `by` ('all' first): sample, segment,
    v. Plus one row of sample 'none' (counted in neither), so the 'all' segment exists
    even when both windows are empty and a check can say so instead of going silent. -#}
{% macro observations(col, by, numeric) -%}
{%- for seg in [[]] + by %}{% set first_slice = loop.first %}
{%- for sample, source in [('cur', 'current_window'), ('base', 'baseline_window')] %}
    {% if not (first_slice and loop.first) %}UNION ALL {% endif -%}
    SELECT {{ sample | literal }} AS sample, {{ segment_label(seg) }} AS segment,
           {% if numeric %}{{ finite_double(col) }}{% else %}CAST({{ col | ident }} AS VARCHAR){% endif %} AS v
    FROM {{ source }}
{%- endfor %}{% endfor %}
    UNION ALL SELECT 'none' AS sample, 'all' AS segment, CAST(NULL AS {{ 'DOUBLE' if numeric else 'VARCHAR' }}) AS v
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

{#- The bin spec frozen for feature `col` by an earlier run of this monitor (context
    `frozen_bins`: {feature: {segment: [items]}}), as rows (segment, position, item):
    one row per edge or category, plus a row with a NULL item per segment so that an
    empty spec (a constant baseline has no edges) still counts as frozen. Numbers are
    written as text and cast, which round-trips a DOUBLE exactly. -#}
{% macro frozen_spec(col, item_type) -%}
{%- set specs = frozen_bins.get(col, {}) -%}
{%- if not specs -%}
SELECT CAST(NULL AS VARCHAR) AS segment, CAST(NULL AS INTEGER) AS position, CAST(NULL AS {{ item_type }}) AS item
WHERE FALSE
{%- else -%}
SELECT segment, position, CAST(item AS {{ item_type }}) AS item
FROM (VALUES
{%- for segment, items in specs | dictsort %}
    {% if not loop.first %}, {% endif %}({{ segment | literal }}, NULL, NULL)
    {%- for item in items %}, ({{ segment | literal }}, {{ loop.index0 }}, {{ (item | string) | literal }}){% endfor %}
{%- endfor %}
) AS spec(segment, position, item)
{%- endif -%}
{%- endmacro %}

{#- The bin of `value` under the edges frozen for feature `col` (context `frozen_bins`),
    by `segment`: the number of edges strictly below the value, bins (e_j, e_j+1]. Only
    for segments that have a frozen spec. -#}
{% macro frozen_bin(col, segment, value) -%}
CASE {{ segment }}
{%- for seg, edges in frozen_bins[col] | dictsort %}
    WHEN {{ seg | literal }} THEN {% if not edges %}0{% else %}CASE
    {%- for edge in edges %}
        WHEN {{ value }} <= CAST({{ (edge | string) | literal }} AS DOUBLE) THEN {{ loop.index0 }}
    {%- endfor %}
        ELSE {{ edges | length }}
    END{% endif %}
{%- endfor %}
END
{%- endmacro %}
