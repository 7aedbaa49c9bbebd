{#- Per (segment, feature, distinct value): its count in the current window (n_cur) and
    in the baseline (n_base), from the CTEs `current_window` and `baseline_window`, for
    every column and every slice of `by` ('all' first); v IS NULL is the missing bin.
    The 'all' segment's missing bin is always present, possibly with zero counts:
    consumers drop bins empty in both samples.
    Each column is grouped on its own (a small hash table keyed by its values) and the
    per-column results are stacked: grouping all columns in one long-form relation is
    several times slower and needs far more memory (DESIGN.md, performance facts).
    Numeric values are DOUBLE with NaN/±inf as NULL; categorical values are VARCHAR. -#}
{% from 'macros/observations.sql' import observations with context %}
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
