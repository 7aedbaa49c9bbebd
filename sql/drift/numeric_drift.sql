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
{#- Helpers (sql/macros/): the model's rows in a time range, segment labels, NaN and
    ±inf as missing, and the bins an earlier run froze. Everything else is below. -#}
{%- from 'macros/model_rows.sql' import model_rows %}
{%- from 'macros/segment_label.sql' import segment_label %}
{%- from 'macros/finite_double.sql' import finite_double %}
{%- from 'macros/frozen_spec.sql' import frozen_spec %}
{%- from 'macros/frozen_bin.sql' import frozen_bin %}
{%- if bins < 2 %}{{ fail("numeric_drift: bins must be at least 2") }}{% endif %}
{%- if baseline is none %}{{ fail("numeric_drift needs a baseline: set `baseline:` on the monitor (fixed, rolling, seasonal or table)") }}{% endif %}
WITH
current_window AS (
    {{ model_rows(model.predictions, model.name, [window], role) }}
),
baseline_window AS (
    {%- if baseline.table %}
    SELECT * FROM {{ baseline.table | table }}
    {%- else %}
    {{ model_rows(model.predictions, model.name, baseline.ranges, role) }}
    {%- endif %}
),
-- One row per segment and column. Each column is a self-contained query over the two
-- windows, and the columns are stacked: grouping and sorting each column on its own
-- is several times faster and lighter than one long (column, value) relation, and
-- the runner runs each column as a query of its own (`split: columns`).
stats AS (
{%- for col in columns %}
{%- set frozen = frozen_bins.get(col, {}) %}
    {% if not loop.first %}UNION ALL
    {% endif %}SELECT * FROM (
        WITH
        -- Every value of the column in the current window ('cur') and the baseline
        -- ('base'), once per slice of `by` ('all' first), with NaN and ±inf as NULL;
        -- plus one row of sample 'none' (counted in neither) so the 'all' segment
        -- exists even when both windows are empty. Not materialized: each reader
        -- below scans it itself, which costs next to nothing for one column.
        observations AS NOT MATERIALIZED (
            {%- for slice in [[]] + by %}{% set first_slice = loop.first %}
            {%- for sample, source in [('cur', 'current_window'), ('base', 'baseline_window')] %}
            {% if not (first_slice and loop.first) %}UNION ALL {% endif -%}
            SELECT {{ sample | literal }} AS sample, {{ segment_label(slice, segment_pools) }} AS segment,
                   {{ finite_double(col) }} AS v
            FROM {{ source }}
            {%- endfor %}
            {%- endfor %}
            UNION ALL SELECT 'none' AS sample, 'all' AS segment, CAST(NULL AS DOUBLE) AS v
        ),
        -- Counts and means straight from the rows: a second read of one column costs
        -- next to nothing, while sharing the grouped values below would make the
        -- engine keep them all (one row per distinct value) for two readers.
        totals AS (
            SELECT segment,
                   COUNT(CASE WHEN sample = 'cur' THEN 1 END) AS rows_cur,
                   COUNT(CASE WHEN sample = 'base' THEN 1 END) AS rows_base,
                   COUNT(CASE WHEN sample = 'cur' THEN v END) AS valid_cur,
                   COUNT(CASE WHEN sample = 'base' THEN v END) AS valid_base,
                   AVG(CASE WHEN sample = 'cur' THEN v END) AS mean_cur,
                   AVG(CASE WHEN sample = 'base' THEN v END) AS mean_base,
                   -- A constant baseline is told by its values, not by a rounded std
                   -- (the mean of 101 × 0.1 is not exactly 0.1: σ ≈ 1e-17).
                   MIN(CASE WHEN sample = 'base' THEN v END) = MAX(CASE WHEN sample = 'base' THEN v END) AS constant_base
            FROM observations
            GROUP BY segment
        ),
        -- Each distinct value with its count in each sample (v NULL: the missing
        -- bin). COUNT gives a BIGINT (SUM of integers is a 128-bit HUGEINT in DuckDB,
        -- and the running sums below over it are a third slower).
        value_counts AS (
            SELECT segment, v,
                   COUNT(CASE WHEN sample = 'cur' THEN 1 END) AS n_cur,
                   COUNT(CASE WHEN sample = 'base' THEN 1 END) AS n_base
            FROM observations
            GROUP BY segment, v
        ),
        -- The empirical CDFs at each distinct finite value: the one sort. cum_* are
        -- integer counts, so the comparisons with j/bins below are exact.
        {#- Windows written out in each call: Snowflake and sqlglot lack named
            windows, and Spark rejects a frame on LEAD. #}
        cdf AS (
            SELECT segment, v, n_cur, n_base,
                   SUM(n_cur) OVER ({% if by %}PARTITION BY segment {% endif %}ORDER BY v ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum_cur,
                   SUM(n_base) OVER ({% if by %}PARTITION BY segment {% endif %}ORDER BY v ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum_base,
                   LEAD(v) OVER ({% if by %}PARTITION BY segment {% endif %}ORDER BY v) AS v_next
            FROM value_counts
            WHERE v IS NOT NULL
        ),
        -- Quantile bins, read off the same sorted pass. Edge j (1 ≤ j < bins) is the
        -- smallest value whose baseline CDF reaches j/bins; the edges strictly below
        -- v number level(v) = min(bins − 1, floor(B(v⁻)·bins / N)), B(v⁻) = baseline
        -- rows below v, and v is an edge when the level passes at v (the last value
        -- of its level). Values of one level form one bin, so tied edges collapse.
        steps AS (
            SELECT segment, v, n_cur, n_base,
                   -- In DOUBLE, not DECIMAL (· 1.0): the query is ~8% faster at 1M rows, and exact
                   -- here (integers below 2⁵³, one correctly rounded division).
                   LEAST({{ bins - 1 }}, FLOOR(CAST((cum_base - n_base) * {{ bins }} AS DOUBLE) / NULLIF(valid_base, 0))) AS level,
                   LEAST({{ bins - 1 }}, FLOOR(CAST(cum_base * {{ bins }} AS DOUBLE) / NULLIF(valid_base, 0))) AS level_after,
                   -- |F_cur − F_base| on [v, v_next): its max is KS, its integral W1.
                   ABS(CAST(cum_cur AS DOUBLE) / NULLIF(valid_cur, 0) - CAST(cum_base AS DOUBLE) / NULLIF(valid_base, 0)) AS gap,
                   v_next - v AS width,
                   n_base * (v - mean_base) * (v - mean_base) AS sq_dev_base
            FROM cdf
            JOIN totals USING (segment)
        ),
        -- One pass over the sorted values, grouped to at most `bins` rows per
        -- segment. A segment with frozen bins (an earlier run's edges) bins by those
        -- instead: a value's bin is the number of frozen edges strictly below it.
        per_bin AS (
            SELECT segment,
                   {% if frozen %}CASE WHEN segment IN {{ frozen.keys() | list | literal }}
                       THEN {{ frozen_bin(frozen, 'segment', 'v') | indent(23) }}
                       ELSE level END{% else %}level{% endif %} AS bin,
                   SUM(n_cur) AS n_cur,
                   SUM(n_base) AS n_base,
                   MAX(gap) AS max_gap,
                   SUM(gap * width) AS area,  -- the last value has no width (NULL), and adds nothing
                   SUM(sq_dev_base) AS sq_dev_base,
                   MAX(CASE WHEN level_after > level THEN v END) AS fitted_edge
            FROM steps
            GROUP BY 1, 2  -- segment, bin (ordinals: the bin expression is long)
        ),
        -- KS = max gap; W1 = Σ gap · width; σ_base, the baseline's population std.
        exact_stats AS (
            SELECT b.segment,
                   MAX(b.max_gap) AS ks,
                   -- One distinct value in all: no step has a width, W1 = 0.
                   CASE WHEN MAX(t.valid_cur) > 0 AND MAX(t.valid_base) > 0 THEN COALESCE(SUM(b.area), 0) END AS w1,
                   CASE WHEN BOOL_OR(t.constant_base) THEN 0.0
                        ELSE SQRT(SUM(b.sq_dev_base) / NULLIF(MAX(t.valid_base), 0)) END AS std_base
            FROM per_bin AS b
            JOIN totals AS t ON t.segment = b.segment
            GROUP BY b.segment
        ),
        frozen_edges AS (
            {{ frozen_spec(frozen, 'DOUBLE') | indent(12) }}
        ),
        frozen_segments AS (
            SELECT DISTINCT segment FROM frozen_edges
        ),
        -- Bins numbered 0, 1, … (fitted levels that collapsed leave gaps: dense ranks
        -- close them; every bin holds its upper edge, a baseline value, so none
        -- between two edges is empty), and -1 for the missing bin (NULL, NaN, ±inf).
        bin_counts AS (
            SELECT b.segment, {{ col | literal }} AS feature,
                   CASE WHEN fs.segment IS NOT NULL THEN b.bin
                        ELSE DENSE_RANK() OVER (PARTITION BY b.segment ORDER BY b.bin) - 1 END AS bin,
                   b.n_cur, b.n_base, t.rows_cur, t.rows_base
            FROM per_bin AS b
            JOIN totals AS t ON t.segment = b.segment
            LEFT JOIN frozen_segments AS fs ON fs.segment = b.segment
            WHERE b.n_cur + b.n_base > 0
            UNION ALL
            SELECT segment, {{ col | literal }}, -1, rows_cur - valid_cur, rows_base - valid_base,
                   rows_cur, rows_base
            FROM totals
            WHERE rows_cur - valid_cur + rows_base - valid_base > 0
        ),
        -- Shares per bin: p, q raw; p_s, q_s Jeffreys-smoothed, (n + ½) / (N + ½·K)
        -- with K the bins observed in either sample. Smoothing keeps PSI finite for
        -- an empty bin without letting a nearly empty one dominate, as a fixed ε
        -- floor does; it vanishes as N grows.
        bin_shares AS (
            SELECT *,
                   n_cur * 1.0 / NULLIF(rows_cur, 0) AS p,
                   n_base * 1.0 / NULLIF(rows_base, 0) AS q,
                   (n_cur + 0.5) / (rows_cur + 0.5 * COUNT(*) OVER (PARTITION BY segment, feature)) AS p_s,
                   (n_base + 0.5) / (rows_base + 0.5 * COUNT(*) OVER (PARTITION BY segment, feature)) AS q_s
            FROM bin_counts
        ),
        -- PSI = Σ (p_s − q_s)·ln(p_s / q_s). JS distance = sqrt(½ Σ p·log2(p/m) +
        -- ½ Σ q·log2(q/m)), m = (p + q)/2, 0·log 0 = 0; GREATEST guards rounding
        -- below 0.
        binned_stats AS (
            SELECT segment,
                   SUM((p_s - q_s) * LN(p_s / q_s)) AS psi,
                   SQRT(GREATEST(
                       SUM(CASE WHEN p > 0 THEN 0.5 * p * LN(p / ((p + q) / 2)) ELSE 0 END
                           + CASE WHEN q > 0 THEN 0.5 * q * LN(q / ((p + q) / 2)) ELSE 0 END) / LN(2),
                       0)) AS js_distance,
                   LIST([bin, n_cur, n_base] ORDER BY bin) AS counts
            FROM bin_shares
            GROUP BY segment
        ),
        -- The edges, for the histogram and to freeze them: frozen ones as stored,
        -- fitted ones where the level passes.
        edge_lists AS (
            SELECT segment, LIST(edge ORDER BY edge) AS edges
            FROM (
                SELECT segment, item AS edge FROM frozen_edges WHERE item IS NOT NULL
                UNION ALL
                SELECT segment, fitted_edge FROM per_bin
                WHERE fitted_edge IS NOT NULL AND segment NOT IN (SELECT segment FROM frozen_segments)
            ) AS edges
            GROUP BY segment
        )
        SELECT t.segment, {{ col | literal }} AS feature,
               t.rows_cur, t.rows_base, t.valid_cur, t.valid_base, t.mean_cur, t.mean_base,
               x.std_base, x.ks, x.w1,
               -- Binned metrics are undefined when either sample is empty.
               CASE WHEN t.rows_cur > 0 AND t.rows_base > 0 THEN b.psi END AS psi,
               CASE WHEN t.rows_cur > 0 AND t.rows_base > 0 THEN b.js_distance END AS js_distance,
               -- The bins and their counts, for the report and to freeze the edges.
               CASE WHEN t.valid_base > 0 THEN JSON_OBJECT(
                   'kind', 'quantile',
                   'frozen', (fs.segment IS NOT NULL),  -- parenthesised for sqlglot's parser
                   'edges', COALESCE(e.edges, CAST([] AS DOUBLE[])),  -- typed: PostgreSQL needs it
                   'counts', b.counts) END AS histogram
        FROM totals AS t
        LEFT JOIN exact_stats AS x ON x.segment = t.segment
        LEFT JOIN binned_stats AS b ON b.segment = t.segment
        LEFT JOIN edge_lists AS e ON e.segment = t.segment
        LEFT JOIN frozen_segments AS fs ON fs.segment = t.segment
    ) AS {{ ('stats_' ~ col) | ident }}
{%- endfor %}
),
-- A row per (segment, feature, metric); why a value is undefined goes in `reason`.
-- wasserstein_norm divides by max(σ_base, 1e-9·max(1, |mean_base|)): never by zero.
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
           -- Binned metrics count every row; the others only the finite values.
           CASE WHEN m.binned THEN s.rows_cur ELSE s.valid_cur END AS sample_size,
           CASE m.metric
               WHEN 'null_rate' THEN (s.rows_base - s.valid_base) * 1.0 / NULLIF(s.rows_base, 0)
               WHEN 'row_count' THEN CAST(s.rows_base AS DOUBLE)
               WHEN 'mean_shift_std' THEN 0.0
           END AS baseline_value,
           CASE WHEN m.binned THEN s.rows_base ELSE s.valid_base END AS baseline_size,
           CAST(NULL AS DOUBLE) AS p_value,
           -- The runner computes KS's p-value (Smirnov's asymptotic distribution).
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
SELECT segment, feature, metric, value, sample_size, baseline_value, baseline_size,
       p_value, test, reason, CAST(histogram AS VARCHAR) AS histogram
FROM metric_rows
ORDER BY segment, feature, metric
