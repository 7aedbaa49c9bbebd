/* ---
name: numeric_drift
family: drift
description: |
  Distribution shift of numeric columns, current window vs baseline, per segment.
  Values are first grouped to (segment, feature, distinct value) counts; every
  statistic is then computed from those counts, so the sort works on distinct values.
  NULL, NaN and ±inf are "missing": counted by null_rate and as their own PSI/JS bin,
  kept out of KS, Wasserstein and the means.
  - psi: Σ (p_i − q_i)·ln(p_i / q_i) over `bins` baseline-quantile bins (open tails,
    tied edges collapsed) plus a missing bin (Siddiqi 2006, Credit Risk Scorecards,
    ch. 8); p, q = current and baseline shares, Jeffreys-smoothed (n + ½)/(N + ½·K)
    over the K observed bins so an empty bin stays finite. Edges: the smallest value
    whose baseline CDF reaches j/bins.
  - js_distance: sqrt of the Jensen–Shannon divergence, base 2, same bins, no
    smoothing (0·log 0 = 0); in [0, 1] (Endres & Schindelin 2003).
  - ks: two-sample Kolmogorov–Smirnov statistic sup |F_cur(x) − F_base(x)|, exact,
    over the sorted union of distinct values (scipy.stats.ks_2samp).
  - wasserstein: W1 = ∫ |F_cur − F_base| dx, exact, in the feature's units
    (scipy.stats.wasserstein_distance); wasserstein_norm = W1 / baseline population std.
  - mean_shift_std: (mean_cur − mean_base) / baseline population std.
  - null_rate: missing share of the current window (baseline_value: the baseline's).
  - row_count: rows in the window (baseline_value/baseline_size: the baseline's).
  Undefined values (empty sample, constant baseline for the std-scaled metrics) are
  NULL, which the evaluator reports as no_data.
params:
  columns: {type: list[str], required: true, description: numeric columns to compare}
  bins: {type: int, default: 10, description: number of baseline-quantile bins}
  by: {type: list[list[str]], default: [], description: "slices, e.g. [[device], [country, device]]"}
returns: [segment, feature, metric, value, sample_size, baseline_value, baseline_size, p_value]
--- */
{%- if bins < 2 %}{{ fail("numeric_drift: bins must be at least 2") }}{% endif %}
WITH
current_window AS (
    {{ current_rows() }}
),
baseline_window AS (
    {{ baseline_rows() }}
),
observations AS (
    {{ observations(columns, by, numeric=true) }}
),
-- Distinct values with their count in each sample (v IS NULL: the missing bin).
value_counts AS (
    {{ value_counts() }}
),
totals AS (
    SELECT segment, feature,
           SUM(n_cur) AS rows_cur,
           SUM(n_base) AS rows_base,
           SUM(CASE WHEN v IS NOT NULL THEN n_cur ELSE 0 END) AS valid_cur,
           SUM(CASE WHEN v IS NOT NULL THEN n_base ELSE 0 END) AS valid_base,
           SUM(n_cur * v) / NULLIF(SUM(CASE WHEN v IS NOT NULL THEN n_cur ELSE 0 END), 0) AS mean_cur,
           SUM(n_base * v) / NULLIF(SUM(CASE WHEN v IS NOT NULL THEN n_base ELSE 0 END), 0) AS mean_base
    FROM value_counts
    GROUP BY segment, feature
),
-- Empirical CDFs at every distinct value; cum_* are integer counts (exact comparisons).
cdf AS (
    SELECT c.segment, c.feature, c.v,
           SUM(c.n_cur) OVER w AS cum_cur,
           SUM(c.n_base) OVER w AS cum_base,
           LEAD(c.v) OVER w AS v_next,
           c.n_base * (c.v - t.mean_base) * (c.v - t.mean_base) AS sq_dev_base,
           t.valid_cur, t.valid_base
    FROM value_counts AS c
    JOIN totals AS t ON t.segment = c.segment AND t.feature = c.feature
    WHERE c.v IS NOT NULL
    WINDOW w AS (PARTITION BY c.segment, c.feature ORDER BY c.v ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
exact_stats AS (
    SELECT segment, feature,
           MAX(ABS(cum_cur * 1.0 / NULLIF(valid_cur, 0) - cum_base * 1.0 / NULLIF(valid_base, 0))) AS ks,
           -- W1: |F_cur − F_base| is constant on [v, v_next); the last step has no width
           -- (so one distinct value in all gives an empty sum: W1 = 0).
           CASE WHEN MAX(valid_cur) > 0 AND MAX(valid_base) > 0 THEN COALESCE(
               SUM(ABS(cum_cur * 1.0 / NULLIF(valid_cur, 0) - cum_base * 1.0 / NULLIF(valid_base, 0))
                   * (v_next - v)), 0) END AS w1,
           SQRT(SUM(sq_dev_base) / NULLIF(MAX(valid_base), 0)) AS std_base
    FROM cdf
    GROUP BY segment, feature
),
-- Bin edge j (1 ≤ j < bins): the smallest value whose baseline CDF reaches j/bins.
edges AS (
    SELECT DISTINCT c.segment, c.feature, MIN(c.v) AS edge
    FROM cdf AS c
    CROSS JOIN (VALUES {% for j in range(1, bins) %}{% if not loop.first %}, {% endif %}({{ j }}){% endfor %}) AS q(j)
    WHERE c.cum_base * {{ bins }} >= q.j * c.valid_base AND c.valid_base > 0
    GROUP BY c.segment, c.feature, q.j
),
-- A value's bin is the number of edges strictly below it: bins are (e_j, e_j+1], open tails.
value_bins AS (
    SELECT c.segment, c.feature, c.n_cur, c.n_base,
           CASE WHEN c.v IS NULL THEN -1 ELSE COUNT(e.edge) END AS bin
    FROM value_counts AS c
    LEFT JOIN edges AS e ON e.segment = c.segment AND e.feature = c.feature AND e.edge < c.v
    GROUP BY c.segment, c.feature, c.v, c.n_cur, c.n_base
),
bin_counts AS (
    SELECT b.segment, b.feature, b.bin,
           SUM(b.n_cur) AS n_cur, SUM(b.n_base) AS n_base,
           MAX(t.rows_cur) AS rows_cur, MAX(t.rows_base) AS rows_base
    FROM value_bins AS b
    JOIN totals AS t ON t.segment = b.segment AND t.feature = b.feature
    GROUP BY b.segment, b.feature, b.bin
),
bin_shares AS (
    {{ bin_shares('bin_counts') }}
),
binned_stats AS (
    SELECT segment, feature,
           {{ psi('p_s', 'q_s') }} AS psi,
           {{ js_distance('p', 'q') }} AS js_distance
    FROM bin_shares
    GROUP BY segment, feature
),
stats AS (
    SELECT t.segment, t.feature, t.rows_cur, t.rows_base, t.valid_cur, t.valid_base,
           t.mean_cur, t.mean_base, x.std_base,
           -- Binned metrics are undefined when either sample is empty.
           CASE WHEN t.rows_cur > 0 AND t.rows_base > 0 THEN b.psi END AS psi,
           CASE WHEN t.rows_cur > 0 AND t.rows_base > 0 THEN b.js_distance END AS js_distance,
           x.ks, x.w1,
           (t.rows_cur - t.valid_cur) * 1.0 / NULLIF(t.rows_cur, 0) AS null_rate_cur,
           (t.rows_base - t.valid_base) * 1.0 / NULLIF(t.rows_base, 0) AS null_rate_base
    FROM totals AS t
    LEFT JOIN exact_stats AS x ON x.segment = t.segment AND x.feature = t.feature
    LEFT JOIN binned_stats AS b ON b.segment = t.segment AND b.feature = t.feature
)
SELECT s.segment,
       s.feature,
       m.metric,
       CASE m.metric
           WHEN 'psi' THEN s.psi
           WHEN 'js_distance' THEN s.js_distance
           WHEN 'ks' THEN s.ks
           WHEN 'wasserstein' THEN s.w1
           WHEN 'wasserstein_norm' THEN s.w1 / NULLIF(s.std_base, 0)
           WHEN 'mean_shift_std' THEN (s.mean_cur - s.mean_base) / NULLIF(s.std_base, 0)
           WHEN 'null_rate' THEN s.null_rate_cur
           WHEN 'row_count' THEN CAST(s.rows_cur AS DOUBLE)
       END AS value,
       CASE WHEN m.metric IN ('psi', 'js_distance', 'null_rate', 'row_count')
            THEN s.rows_cur ELSE s.valid_cur END AS sample_size,
       CASE m.metric
           WHEN 'null_rate' THEN s.null_rate_base
           WHEN 'row_count' THEN CAST(s.rows_base AS DOUBLE)
           WHEN 'mean_shift_std' THEN 0.0
       END AS baseline_value,
       CASE WHEN m.metric IN ('psi', 'js_distance', 'null_rate', 'row_count')
            THEN s.rows_base ELSE s.valid_base END AS baseline_size,
       CAST(NULL AS DOUBLE) AS p_value
FROM stats AS s
CROSS JOIN (VALUES ('psi'), ('js_distance'), ('ks'), ('wasserstein'), ('wasserstein_norm'),
                   ('mean_shift_std'), ('null_rate'), ('row_count')) AS m(metric)
ORDER BY s.segment, s.feature, m.metric
