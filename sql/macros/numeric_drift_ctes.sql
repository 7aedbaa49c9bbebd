{#- The CTEs `stats` (one row per segment and column) and `metric_rows` (segment,
    feature, metric, value, sample_size, baseline_value, baseline_size, p_value, test,
    reason, histogram) for `columns` of the CTEs `current_window` and
    `baseline_window`, sliced by `by`, PSI over `bins` baseline-quantile bins. The last
    CTE has no trailing comma. -#}
{% from 'macros/numeric_column_stats.sql' import numeric_column_stats with context %}
{% macro numeric_drift_ctes(columns, by, bins) -%}
stats AS (
{%- for col in columns %}
    {% if not loop.first %}UNION ALL
    {% endif %}{{ numeric_column_stats(col, by, bins) | indent(4) }}
{%- endfor %}
),
-- A row per (segment, feature, metric); why a value is undefined goes in `reason`.
metric_rows AS (
    SELECT s.segment,
           s.feature,
           m.metric,
           CASE m.metric
               WHEN 'psi' THEN s.psi
               WHEN 'js_distance' THEN s.js_distance
               WHEN 'ks' THEN s.ks
               WHEN 'wasserstein' THEN s.w1
               WHEN 'wasserstein_norm' THEN s.w1 / GREATEST(s.std_base, 1e-9 * GREATEST(1.0, ABS(s.mean_base)))
               WHEN 'mean_shift_std' THEN (s.mean_cur - s.mean_base) / NULLIF(s.std_base, 0)
               WHEN 'null_rate' THEN (s.rows_cur - s.valid_cur) * 1.0 / NULLIF(s.rows_cur, 0)
               WHEN 'row_count' THEN CAST(s.rows_cur AS DOUBLE)
           END AS value,
           CASE WHEN m.binned THEN s.rows_cur ELSE s.valid_cur END AS sample_size,
           CASE m.metric
               WHEN 'null_rate' THEN (s.rows_base - s.valid_base) * 1.0 / NULLIF(s.rows_base, 0)
               WHEN 'row_count' THEN CAST(s.rows_base AS DOUBLE)
               WHEN 'mean_shift_std' THEN 0.0
           END AS baseline_value,
           CASE WHEN m.binned THEN s.rows_base ELSE s.valid_base END AS baseline_size,
           CAST(NULL AS DOUBLE) AS p_value,
           CASE WHEN m.metric = 'ks' THEN 'ks' END AS test,
           CASE
               WHEN m.metric = 'row_count' THEN NULL
               WHEN s.rows_cur = 0 THEN 'the current window has no rows'
               WHEN m.metric = 'null_rate' THEN NULL
               WHEN s.rows_base = 0 THEN 'the baseline has no rows'
               WHEN m.binned THEN NULL
               WHEN s.valid_cur = 0 THEN 'the current window has no finite values'
               WHEN s.valid_base = 0 THEN 'the baseline has no finite values'
               WHEN m.metric = 'mean_shift_std' AND s.std_base = 0
                   THEN 'the baseline is constant (std 0)'
           END AS reason,
           CASE WHEN m.metric = 'psi' THEN s.histogram END AS histogram
    FROM stats AS s
    CROSS JOIN (VALUES ('psi', TRUE), ('js_distance', TRUE), ('ks', FALSE), ('wasserstein', FALSE),
                       ('wasserstein_norm', FALSE), ('mean_shift_std', FALSE),
                       ('null_rate', TRUE), ('row_count', TRUE)) AS m(metric, binned)
)
{%- endmacro %}
