{#- One column's statistics, one row per segment: a self-contained query over the two
    windows. Columns are not mixed in one long relation: grouping and sorting each
    column on its own is several times faster and lighter (DESIGN.md). -#}
{% from 'macros/bin_shares.sql' import bin_shares with context %}
{% from 'macros/frozen_bin.sql' import frozen_bin with context %}
{% from 'macros/frozen_spec.sql' import frozen_spec with context %}
{% from 'macros/js_distance.sql' import js_distance with context %}
{% from 'macros/observations.sql' import observations with context %}
{% from 'macros/psi.sql' import psi with context %}
{% from 'macros/value_counts.sql' import value_counts with context %}
{% macro numeric_column_stats(col, by, bins) -%}
SELECT * FROM (
    WITH
    -- Counts and means straight from the rows: a second read of one column costs next
    -- to nothing, while sharing the grouped values below would make the engine keep
    -- them all (one row per distinct value) for two readers.
    totals AS (
        SELECT segment,
               COUNT(CASE WHEN sample = 'cur' THEN 1 END) AS rows_cur,
               COUNT(CASE WHEN sample = 'base' THEN 1 END) AS rows_base,
               COUNT(CASE WHEN sample = 'cur' THEN v END) AS valid_cur,
               COUNT(CASE WHEN sample = 'base' THEN v END) AS valid_base,
               AVG(CASE WHEN sample = 'cur' THEN v END) AS mean_cur,
               AVG(CASE WHEN sample = 'base' THEN v END) AS mean_base,
               -- A constant baseline is told by its values, not by a rounded std (the
               -- mean of 101 × 0.1 is not exactly 0.1, which leaves σ ≈ 1e-17).
               MIN(CASE WHEN sample = 'base' THEN v END) = MAX(CASE WHEN sample = 'base' THEN v END) AS constant_base
        FROM ({{ observations(col, by, numeric=true) | indent(8) }}) AS observations
        GROUP BY segment
    ),
    -- Distinct finite values with their count in each sample, and the empirical CDFs at
    -- each: the one sort. cum_* are integer counts, so the comparisons with j/bins
    -- below are exact. Only what the sort needs is carried through it.
    cdf AS (
        {#- Windows written out in each call: Snowflake and sqlglot lack named windows,
            and Spark rejects a frame on LEAD. -#}
        {%- set sort_order %}{% if by %}PARTITION BY segment {% endif %}ORDER BY v{% endset %}
        SELECT segment, v, n_cur, n_base,
               SUM(n_cur) OVER ({{ sort_order }} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum_cur,
               SUM(n_base) OVER ({{ sort_order }} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum_base,
               LEAD(v) OVER ({{ sort_order }}) AS v_next
        FROM ({{ value_counts([col], by, numeric=true) | indent(8) }}) AS value_counts
        WHERE v IS NOT NULL
    ),
    -- Quantile bins, read off the same sorted pass. Edge j (1 ≤ j < bins) is the
    -- smallest value whose baseline CDF reaches j/bins; the edges strictly below v
    -- number level(v) = min(bins − 1, floor(B(v⁻)·bins / N)), B(v⁻) = baseline rows
    -- below v, and v is an edge when the level passes at v (the last value of its
    -- level). Values of one level form one bin, so tied edges collapse.
    steps AS (
        SELECT segment, v, n_cur, n_base,
               LEAST({{ bins - 1 }}, FLOOR((cum_base - n_base) * {{ bins }} * 1.0 / NULLIF(valid_base, 0))) AS level,
               LEAST({{ bins - 1 }}, FLOOR(cum_base * {{ bins }} * 1.0 / NULLIF(valid_base, 0))) AS level_after,
               -- |F_cur − F_base| on [v, v_next): its max is KS, its integral W1.
               ABS(cum_cur * 1.0 / NULLIF(valid_cur, 0) - cum_base * 1.0 / NULLIF(valid_base, 0)) AS gap,
               v_next - v AS width,
               n_base * (v - mean_base) * (v - mean_base) AS sq_dev_base
        FROM cdf
        JOIN totals USING (segment)
    ),
    -- One pass over the sorted values, grouped to at most `bins` rows per segment.
    -- A segment with frozen bins (an earlier run's edges) bins by those instead: a
    -- value's bin is the number of frozen edges strictly below it.
    per_bin AS (
        SELECT segment,
               {% if frozen_bins.get(col) %}CASE WHEN segment IN {{ frozen_bins[col].keys() | list | literal }}
                   THEN {{ frozen_bin(col, 'segment', 'v') | indent(19) }}
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
        {{ frozen_spec(col, 'DOUBLE') | indent(8) }}
    ),
    frozen_segments AS (
        SELECT DISTINCT segment FROM frozen_edges
    ),
    -- Bins numbered 0, 1, … (fitted levels that collapsed leave gaps: dense ranks close
    -- them; every bin holds its upper edge, a baseline value, so none between two edges
    -- is empty), and -1 for the missing bin (NULL, NaN, ±inf).
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
    bin_shares AS (
        {{ bin_shares('bin_counts') | indent(8) }}
    ),
    binned_stats AS (
        SELECT segment,
               {{ psi('p_s', 'q_s') }} AS psi,
               {{ js_distance('p', 'q') | indent(15) }} AS js_distance,
               LIST([bin, n_cur, n_base] ORDER BY bin) AS counts
        FROM bin_shares
        GROUP BY segment
    ),
    -- The edges, for the histogram and to freeze them: frozen ones as stored, fitted
    -- ones where the level passes.
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
{%- endmacro %}
