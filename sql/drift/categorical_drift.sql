/* ---
name: categorical_drift
family: drift
description: |
  Distribution shift of categorical columns, current window vs baseline, per segment.
  Bins: the baseline's `top_k` most frequent categories (ties broken by value), one
  OTHER bin for every other category (including ones never seen in the baseline), and
  a NULL bin. p = current share, q = baseline share of each bin. The top-k list is
  fitted once per monitor and segment and then frozen (monitor.bin_specs), so the
  series stays comparable run to run.
  - psi: Σ (p_i − q_i)·ln(p_i / q_i), shares Jeffreys-smoothed (n + ½)/(N + ½·K) over
    the K observed bins (Siddiqi 2006).
  - js_distance: sqrt of the Jensen–Shannon divergence, base 2, in [0, 1], no smoothing.
  - chi2: Pearson's χ² test of homogeneity on the 2×K table (current, baseline) × bins,
    bins with no rows in either sample dropped: Σ (O − E)² / E with
    E = row total · column total / N, dof = K − 1; p_value from the χ² distribution,
    computed by the runner (test = 'chi2'; scipy.stats.chi2_contingency, no correction).
  - linf: max_i |p_i − q_i| (L∞ distance of the share vectors).
  - unseen_share: share of current rows whose category never occurs in the baseline.
  - new_categories: how many distinct current categories never occur in the baseline.
  - null_rate: NULL share of the current window (baseline_value: the baseline's).
  - row_count: rows in the window (baseline_value/baseline_size: the baseline's).
  An undefined value is NULL with a `reason`; the evaluator reports it as no_data.
  Every statistic is a function of the per-category counts, which add up day by day:
  the counts of whole baseline days are stored once (`day_counts`) and read back
  while those days' rows are unchanged (baseline.stored).
params:
  columns: {type: list[str], required: true, description: categorical columns to compare}
  top_k: {type: int, default: 50, description: baseline categories kept as their own bin}
  by: {type: list[list[str]], default: [], description: "slices, e.g. [[device], [country, device]]"}
metrics: [psi, js_distance, chi2, linf, unseen_share, new_categories, null_rate, row_count]
returns: [segment, feature, metric, value, sample_size, baseline_value, baseline_size, p_value, test, dof, reason, histogram]
day_counts: day_counts
--- */
{#- Helpers (sql/macros/): the model's rows in a time range, segment labels, and the
    top-k lists an earlier run froze. Everything else is below. -#}
{%- from 'macros/model_rows.sql' import model_rows %}
{%- from 'macros/segment_label.sql' import segment_label %}
{%- from 'macros/frozen_spec.sql' import frozen_spec %}
{%- from 'macros/day_of.sql' import day_of %}
{%- from 'macros/stored_counts.sql' import stored_counts %}
{#- One column's observations in `source`, for every slice of `by` ('all' first): a
    row per row and slice, with its segment and its value as text (NULL: the NULL
    bin), after `lead` (the sample, or the day). -#}
{%- macro observations(col, source, lead) %}
{%- for slice in [[]] + by %}
        {% if not loop.first %}UNION ALL {% endif -%}
        SELECT {{ lead }}, {{ segment_label(slice, segment_pools) }} AS segment, CAST({{ col | ident }} AS VARCHAR) AS v
        FROM {{ source }}
{%- endfor %}
{%- endmacro %}
{#- The counts the runner stores per whole baseline day (`day_counts:` in the header):
    per day, segment, column and value, as value_counts counts the baseline. A later
    run reads a stored day's counts instead of its rows (baseline.stored). -#}
{%- macro day_counts(days) %}
WITH day_rows AS (
    -- `*`, not the columns counted: DuckDB then reads this CTE in each branch below
    -- instead of materialising it, which measured 1.5x faster (28M rows, 4 columns).
    SELECT {{ day_of() }} AS day, *
    FROM ({{ model_rows(model.predictions, model.name, days, role) }}) AS model_rows
)
{%- for col in columns %}
{% if not loop.first %}UNION ALL
{% endif -%}
SELECT day, segment, {{ col | literal }} AS feature, v AS item, COUNT(*) AS n
FROM (
    {{- observations(col, 'day_rows', 'day') }}
) AS observations
GROUP BY day, segment, v
{%- endfor %}
{%- endmacro %}
{%- if top_k < 1 %}{{ fail("categorical_drift: top_k must be at least 1") }}{% endif %}
{%- if baseline is none %}{{ fail("categorical_drift needs a baseline: set `baseline:` on the monitor (fixed, rolling, seasonal or table)") }}{% endif %}
WITH
current_window AS (
    {{ model_rows(model.predictions, model.name, [window], role) }}
),
baseline_window AS (
    {%- if baseline.table %}
    SELECT * FROM {{ baseline.table | table }}
    {%- else %}
    {{ model_rows(model.predictions, model.name, baseline.unstored, role) }}
    {%- endif %}
),
-- Per segment, column and distinct value v: its count in the current window (n_cur)
-- and in the baseline (n_base), for every slice of `by` ('all' first); v NULL is the
-- NULL bin. Each column is grouped on its own (a small hash table keyed by its
-- values) and the columns are stacked: one long-form relation of every column is
-- several times slower and needs far more memory. A row of sample 'none' (counted in
-- neither) makes the 'all' segment exist even when both windows are empty.
row_counts AS (
    {%- for col in columns %}
    {% if not loop.first %}UNION ALL
    {% endif -%}
    SELECT segment, {{ col | literal }} AS feature, v,
           COUNT(CASE WHEN sample = 'cur' THEN 1 END) AS n_cur,
           COUNT(CASE WHEN sample = 'base' THEN 1 END) AS n_base
    FROM (
        {{- observations(col, 'current_window', "'cur' AS sample") }}
        UNION ALL
        {{- observations(col, 'baseline_window', "'base' AS sample") }}
        UNION ALL SELECT 'none' AS sample, 'all' AS segment, CAST(NULL AS VARCHAR) AS v
    ) AS observations
    GROUP BY segment, v
    {%- endfor %}
),
value_counts AS (
    {%- if baseline.stored %}
    -- The baseline days whose counts an earlier run stored (their rows unchanged since)
    -- are read from the store; the rest of the baseline from its rows, above.
    SELECT segment, feature, v, CAST(SUM(n_cur) AS BIGINT) AS n_cur, CAST(SUM(n_base) AS BIGINT) AS n_base
    FROM (
        SELECT segment, feature, v, n_cur, n_base FROM row_counts
        UNION ALL
        SELECT segment, feature, item AS v, 0 AS n_cur, n AS n_base
        FROM ({{ stored_counts(baseline.stored) | indent(8) }}) AS stored
    ) AS counts
    GROUP BY segment, feature, v
    {%- else %}
    SELECT segment, feature, v, n_cur, n_base FROM row_counts
    {%- endif %}
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
-- Top-k lists frozen by an earlier run: (segment, feature, position, category); a
-- segment with a frozen list has one row with a NULL category.
frozen AS (
{%- for col in columns %}
    {% if not loop.first %}UNION ALL
    {% endif %}SELECT segment, {{ col | literal }} AS feature, position, item AS category
    FROM ({{ frozen_spec(frozen_bins.get(col, {}), 'VARCHAR') | indent(4) }}) AS {{ ('frozen_' ~ col) | ident }}
{%- endfor %}
),
frozen_segments AS (
    SELECT DISTINCT segment, feature FROM frozen
),
-- Each category's bin: its position in the frozen list, or else its baseline rank
-- among the top_k; every other non-NULL value is OTHER.
ranked AS (
    SELECT c.segment, c.feature, c.v, c.n_cur, c.n_base,
           CASE
               WHEN c.v IS NULL THEN NULL
               WHEN fs.segment IS NOT NULL THEN f.position
               WHEN c.n_base > 0 THEN ROW_NUMBER() OVER (
                   PARTITION BY c.segment, c.feature, (c.v IS NULL OR c.n_base = 0)
                   ORDER BY c.n_base DESC, c.v
               ) - 1
           END AS rank_base,
           fs.segment IS NOT NULL AS is_frozen
    FROM value_counts AS c
    LEFT JOIN frozen_segments AS fs ON fs.segment = c.segment AND fs.feature = c.feature
    LEFT JOIN frozen AS f ON f.segment = c.segment AND f.feature = c.feature AND f.category = c.v
),
categorised AS (
    SELECT segment, feature, v, n_cur, n_base, is_frozen,
           CASE
               WHEN v IS NULL THEN 'null'
               WHEN rank_base IS NOT NULL AND (is_frozen OR rank_base < {{ top_k }}) THEN 'top'
               ELSE 'other'
           END AS kind,
           CASE WHEN rank_base IS NOT NULL AND (is_frozen OR rank_base < {{ top_k }}) THEN rank_base END AS position
    FROM ranked
),
bin_counts AS (
    SELECT segment, feature,
           CASE WHEN kind = 'top' THEN v END AS category,
           kind,
           MAX(position) AS position,
           SUM(n_cur) AS n_cur,
           SUM(n_base) AS n_base
    FROM categorised
    GROUP BY segment, feature, CASE WHEN kind = 'top' THEN v END, kind
),
bin_totals AS (
    SELECT b.segment, b.feature, b.category, b.kind, b.position, b.n_cur, b.n_base,
           t.rows_cur, t.rows_base,
           -- Expected counts under homogeneity: row total · column total / N.
           t.rows_cur * (b.n_cur + b.n_base) * 1.0 / NULLIF(t.rows_cur + t.rows_base, 0) AS e_cur,
           t.rows_base * (b.n_cur + b.n_base) * 1.0 / NULLIF(t.rows_cur + t.rows_base, 0) AS e_base
    FROM bin_counts AS b
    JOIN totals AS t ON t.segment = b.segment AND t.feature = b.feature
    WHERE b.n_cur + b.n_base > 0
),
-- Shares per bin: p, q raw; p_s, q_s Jeffreys-smoothed, (n + ½) / (N + ½·K) with K
-- the bins observed in either sample, so an empty bin keeps PSI finite.
bin_shares AS (
    SELECT *,
           n_cur * 1.0 / NULLIF(rows_cur, 0) AS p,
           n_base * 1.0 / NULLIF(rows_base, 0) AS q,
           (n_cur + 0.5) / (rows_cur + 0.5 * COUNT(*) OVER (PARTITION BY segment, feature)) AS p_s,
           (n_base + 0.5) / (rows_base + 0.5 * COUNT(*) OVER (PARTITION BY segment, feature)) AS q_s
    FROM bin_totals
),
-- PSI = Σ (p_s − q_s)·ln(p_s / q_s); JS distance = sqrt(½ Σ p·log2(p/m) + ½ Σ q·log2(q/m)),
-- m = (p + q)/2, 0·log 0 = 0 (GREATEST guards rounding below 0); χ² = Σ (O − E)² / E.
binned_stats AS (
    SELECT segment, feature,
           SUM((p_s - q_s) * LN(p_s / q_s)) AS psi,
           SQRT(GREATEST(
               SUM(CASE WHEN p > 0 THEN 0.5 * p * LN(p / ((p + q) / 2)) ELSE 0 END
                   + CASE WHEN q > 0 THEN 0.5 * q * LN(q / ((p + q) / 2)) ELSE 0 END) / LN(2),
               0)) AS js_distance,
           SUM((n_cur - e_cur) * (n_cur - e_cur) / NULLIF(e_cur, 0)
               + (n_base - e_base) * (n_base - e_base) / NULLIF(e_base, 0)) AS chi2,
           COUNT(*) - 1 AS dof,
           MAX(ABS(p - q)) AS linf,
           -- [bin, n_cur, n_base]; bin: the category's position in the list, -2 OTHER, -1 NULL.
           LIST([CASE kind WHEN 'top' THEN position WHEN 'other' THEN -2 ELSE -1 END, n_cur, n_base]
                ORDER BY CASE kind WHEN 'top' THEN position WHEN 'other' THEN -2 ELSE -1 END) AS counts
    FROM bin_shares
    GROUP BY segment, feature
),
-- The category list (frozen, or the baseline's top_k) in bin order, for the histogram.
category_lists AS (
    SELECT segment, feature, LIST(v ORDER BY position) AS categories
    FROM categorised
    WHERE position IS NOT NULL AND NOT is_frozen
    GROUP BY segment, feature
    UNION ALL
    -- A frozen list is the stored one, whole: its positions are the bin ids, whether
    -- or not every category occurs in this run.
    SELECT segment, feature, LIST(category ORDER BY position)
    FROM frozen
    WHERE category IS NOT NULL
    GROUP BY segment, feature
),
stats AS (
    SELECT t.*, b.dof,
           CASE WHEN t.rows_cur > 0 AND t.rows_base > 0 THEN b.psi END AS psi,
           CASE WHEN t.rows_cur > 0 AND t.rows_base > 0 THEN b.js_distance END AS js_distance,
           CASE WHEN t.rows_cur > 0 AND t.rows_base > 0 THEN b.chi2 END AS chi2,
           CASE WHEN t.rows_cur > 0 AND t.rows_base > 0 THEN b.linf END AS linf,
           CASE WHEN t.rows_base > t.null_base THEN JSON_OBJECT(
               'kind', 'top_k',
               'frozen', (fs.segment IS NOT NULL),  -- parenthesised for sqlglot's parser
               'categories', COALESCE(c.categories, CAST([] AS VARCHAR[])),  -- typed: PostgreSQL needs it
               'counts', b.counts) END AS histogram
    FROM totals AS t
    LEFT JOIN binned_stats AS b ON b.segment = t.segment AND b.feature = t.feature
    LEFT JOIN category_lists AS c ON c.segment = t.segment AND c.feature = t.feature
    LEFT JOIN frozen_segments AS fs ON fs.segment = t.segment AND fs.feature = t.feature
)
SELECT s.segment,
       s.feature,
       m.metric,
       CASE m.metric
           WHEN 'psi' THEN s.psi
           WHEN 'js_distance' THEN s.js_distance
           WHEN 'chi2' THEN s.chi2
           WHEN 'linf' THEN s.linf
           WHEN 'unseen_share' THEN CASE WHEN s.rows_base > 0 THEN s.unseen_cur * 1.0 / NULLIF(s.rows_cur, 0) END
           WHEN 'new_categories' THEN CASE WHEN s.rows_base > 0 AND s.rows_cur > 0 THEN CAST(s.new_categories AS DOUBLE) END
           WHEN 'null_rate' THEN s.null_cur * 1.0 / NULLIF(s.rows_cur, 0)
           WHEN 'row_count' THEN CAST(s.rows_cur AS DOUBLE)
       END AS value,
       s.rows_cur AS sample_size,
       CASE m.metric
           WHEN 'null_rate' THEN s.null_base * 1.0 / NULLIF(s.rows_base, 0)
           WHEN 'row_count' THEN CAST(s.rows_base AS DOUBLE)
       END AS baseline_value,
       s.rows_base AS baseline_size,
       CAST(NULL AS DOUBLE) AS p_value,
       CASE WHEN m.metric = 'chi2' THEN 'chi2' END AS test,
       CASE WHEN m.metric = 'chi2' AND s.chi2 IS NOT NULL THEN s.dof END AS dof,
       CASE
           WHEN m.metric = 'row_count' THEN NULL
           WHEN s.rows_cur = 0 THEN 'the current window has no rows'
           WHEN m.metric = 'null_rate' THEN NULL
           WHEN s.rows_base = 0 THEN 'the baseline has no rows'
       END AS reason,
       CASE WHEN m.metric = 'psi' THEN CAST(s.histogram AS VARCHAR) END AS histogram
FROM stats AS s
CROSS JOIN (VALUES ('psi'), ('js_distance'), ('chi2'), ('linf'), ('unseen_share'),
                   ('new_categories'), ('null_rate'), ('row_count')) AS m(metric)
ORDER BY s.segment, s.feature, m.metric
