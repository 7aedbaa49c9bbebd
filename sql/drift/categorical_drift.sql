/* ---
name: categorical_drift
family: drift
description: |
  Distribution shift of categorical columns, current window vs baseline, per segment.
  Bins: the baseline's `top_k` most frequent categories (ties broken by value), one
  OTHER bin for every other category (including ones never seen in the baseline), and
  a NULL bin. p = current share, q = baseline share of each bin.
  - psi: Σ (p_i − q_i)·ln(p_i / q_i), shares Jeffreys-smoothed (n + ½)/(N + ½·K) over
    the K observed bins (Siddiqi 2006).
  - js_distance: sqrt of the Jensen–Shannon divergence, base 2, in [0, 1], no smoothing.
  - chi2: Pearson's χ² test of homogeneity on the 2×K table (current, baseline) × bins,
    bins with no rows in either sample dropped: Σ (O − E)² / E with
    E = row total · column total / N (scipy.stats.chi2_contingency, no correction).
  - linf: max_i |p_i − q_i| (L∞ distance of the share vectors).
  - unseen_share: share of current rows whose category never occurs in the baseline.
  - new_categories: how many distinct current categories never occur in the baseline.
  - null_rate: NULL share of the current window (baseline_value: the baseline's).
  - row_count: rows in the window (baseline_value/baseline_size: the baseline's).
params:
  columns: {type: list[str], required: true, description: categorical columns to compare}
  top_k: {type: int, default: 50, description: baseline categories kept as their own bin}
  by: {type: list[list[str]], default: [], description: "slices, e.g. [[device], [country, device]]"}
returns: [segment, feature, metric, value, sample_size, baseline_value, baseline_size, p_value]
--- */
{%- if top_k < 1 %}{{ fail("categorical_drift: top_k must be at least 1") }}{% endif %}
WITH
current_window AS (
    {{ current_rows() }}
),
baseline_window AS (
    {{ baseline_rows() }}
),
observations AS (
    {{ observations(columns, by, numeric=false) }}
),
value_counts AS (
    {{ value_counts() }}
),
totals AS (
    SELECT segment, feature,
           SUM(n_cur) AS rows_cur,
           SUM(n_base) AS rows_base,
           SUM(CASE WHEN v IS NULL THEN n_cur ELSE 0 END) AS null_cur,
           SUM(CASE WHEN v IS NULL THEN n_base ELSE 0 END) AS null_base,
           SUM(CASE WHEN v IS NOT NULL AND n_base = 0 THEN n_cur ELSE 0 END) AS unseen_cur,
           SUM(CASE WHEN v IS NOT NULL AND n_base = 0 AND n_cur > 0 THEN 1 ELSE 0 END) AS new_categories
    FROM value_counts
    GROUP BY segment, feature
),
-- Baseline rank of each category; ranks beyond top_k (and unseen values) go to OTHER.
ranked AS (
    SELECT segment, feature, v, n_cur, n_base,
           CASE
               WHEN v IS NULL THEN 'null'
               WHEN n_base > 0 AND ROW_NUMBER() OVER (
                   PARTITION BY segment, feature, (v IS NULL OR n_base = 0)
                   ORDER BY n_base DESC, v
               ) <= {{ top_k }} THEN 'top'
               ELSE 'other'
           END AS kind
    FROM value_counts
),
bin_counts AS (
    SELECT segment, feature,
           CASE WHEN kind = 'top' THEN v END AS category,
           kind,
           SUM(n_cur) AS n_cur,
           SUM(n_base) AS n_base
    FROM ranked
    GROUP BY segment, feature, CASE WHEN kind = 'top' THEN v END, kind
),
bin_totals AS (
    SELECT b.segment, b.feature, b.n_cur, b.n_base, t.rows_cur, t.rows_base,
           -- Expected counts under homogeneity: row total · column total / N.
           t.rows_cur * (b.n_cur + b.n_base) * 1.0 / NULLIF(t.rows_cur + t.rows_base, 0) AS e_cur,
           t.rows_base * (b.n_cur + b.n_base) * 1.0 / NULLIF(t.rows_cur + t.rows_base, 0) AS e_base
    FROM bin_counts AS b
    JOIN totals AS t ON t.segment = b.segment AND t.feature = b.feature
    WHERE b.n_cur + b.n_base > 0
),
bin_shares AS (
    {{ bin_shares('bin_totals') }}
),
binned_stats AS (
    SELECT segment, feature,
           {{ psi('p_s', 'q_s') }} AS psi,
           {{ js_distance('p', 'q') }} AS js_distance,
           SUM((n_cur - e_cur) * (n_cur - e_cur) / NULLIF(e_cur, 0)
               + (n_base - e_base) * (n_base - e_base) / NULLIF(e_base, 0)) AS chi2,
           MAX(ABS(p - q)) AS linf
    FROM bin_shares
    GROUP BY segment, feature
),
stats AS (
    SELECT t.*,
           CASE WHEN t.rows_cur > 0 AND t.rows_base > 0 THEN b.psi END AS psi,
           CASE WHEN t.rows_cur > 0 AND t.rows_base > 0 THEN b.js_distance END AS js_distance,
           CASE WHEN t.rows_cur > 0 AND t.rows_base > 0 THEN b.chi2 END AS chi2,
           CASE WHEN t.rows_cur > 0 AND t.rows_base > 0 THEN b.linf END AS linf
    FROM totals AS t
    LEFT JOIN binned_stats AS b ON b.segment = t.segment AND b.feature = t.feature
)
SELECT s.segment,
       s.feature,
       m.metric,
       CASE m.metric
           WHEN 'psi' THEN s.psi
           WHEN 'js_distance' THEN s.js_distance
           WHEN 'chi2' THEN s.chi2
           WHEN 'linf' THEN s.linf
           WHEN 'unseen_share' THEN s.unseen_cur * 1.0 / NULLIF(s.rows_cur, 0)
           WHEN 'new_categories' THEN CASE WHEN s.rows_base > 0 THEN CAST(s.new_categories AS DOUBLE) END
           WHEN 'null_rate' THEN s.null_cur * 1.0 / NULLIF(s.rows_cur, 0)
           WHEN 'row_count' THEN CAST(s.rows_cur AS DOUBLE)
       END AS value,
       s.rows_cur AS sample_size,
       CASE m.metric
           WHEN 'null_rate' THEN s.null_base * 1.0 / NULLIF(s.rows_base, 0)
           WHEN 'row_count' THEN CAST(s.rows_base AS DOUBLE)
       END AS baseline_value,
       s.rows_base AS baseline_size,
       CAST(NULL AS DOUBLE) AS p_value
FROM stats AS s
CROSS JOIN (VALUES ('psi'), ('js_distance'), ('chi2'), ('linf'), ('unseen_share'),
                   ('new_categories'), ('null_rate'), ('row_count')) AS m(metric)
ORDER BY s.segment, s.feature, m.metric
