/* ---
name: numeric_drift
family: drift
description: |
  Distribution shift of numeric columns, current window vs baseline, per segment.
  Each column is computed on its own (one grouped pass to distinct-value counts, one
  sort of those for the CDFs) and the columns are stacked; every statistic comes from
  that one sorted pass. NULL, NaN and ±inf are "missing": counted by null_rate and as
  their own PSI/JS bin, kept out of KS, Wasserstein and the means.
  - psi: Σ (p_i − q_i)·ln(p_i / q_i) over `bins` baseline-quantile bins (open tails,
    tied edges collapsed) plus a missing bin (Siddiqi 2006, Credit Risk Scorecards,
    ch. 8); p, q = current and baseline shares, Jeffreys-smoothed (n + ½)/(N + ½·K)
    over the K observed bins so an empty bin stays finite. Edge j is the smallest
    baseline value whose CDF reaches j/bins. The edges are fitted once per monitor and
    segment and then frozen (monitor.bin_specs), so the series stays comparable.
  - js_distance: sqrt of the Jensen–Shannon divergence, base 2, same bins, no
    smoothing (0·log 0 = 0); in [0, 1] (Endres & Schindelin 2003).
  - ks: two-sample Kolmogorov–Smirnov statistic sup |F_cur(x) − F_base(x)|, exact,
    over the sorted union of distinct values; p_value: Smirnov's asymptotic two-sided
    distribution, computed by the runner (test = 'ks'; scipy.stats.ks_2samp,
    method='asymp').
  - wasserstein: W1 = ∫ |F_cur − F_base| dx, exact, in the feature's units
    (scipy.stats.wasserstein_distance); wasserstein_norm = W1 / max(σ_base, floor),
    σ_base the baseline population std, floor = 1e-9·max(1, |mean_base|), so a
    constant baseline that starts to move shows a very large value, never a division
    by zero.
  - mean_shift_std: (mean_cur − mean_base) / σ_base (undefined for a constant baseline).
  - null_rate: missing share of the current window (baseline_value: the baseline's).
  - row_count: rows in the window (baseline_value/baseline_size: the baseline's).
  An undefined value is NULL with a `reason` (empty window, no finite values, constant
  baseline); the evaluator reports it as no_data.
params:
  columns: {type: list[str], required: true, description: numeric columns to compare}
  bins: {type: int, default: 10, description: number of baseline-quantile bins}
  by: {type: list[list[str]], default: [], description: "slices, e.g. [[device], [country, device]]"}
split: columns  # one query per column: each sorts only its own values
metrics: [psi, js_distance, ks, wasserstein, wasserstein_norm, mean_shift_std, null_rate, row_count]
returns: [segment, feature, metric, value, sample_size, baseline_value, baseline_size, p_value, test, reason, histogram]
--- */
{%- if bins < 2 %}{{ fail("numeric_drift: bins must be at least 2") }}{% endif %}
WITH
current_window AS (
    {{ current_rows() }}
),
baseline_window AS (
    {{ baseline_rows() }}
),
{{ numeric_drift_ctes(columns, by, bins) }}
SELECT segment, feature, metric, value, sample_size, baseline_value, baseline_size,
       p_value, test, reason, CAST(histogram AS VARCHAR) AS histogram
FROM metric_rows
ORDER BY segment, feature, metric
