WITH current_window AS (
  SELECT
    *
  FROM `prediction_outcomes`
  WHERE
    `model_name` = 'fraud'
    AND `role` = 'production'
    AND (
      (
        ts >= CAST('2026-10-21 00:00:00.000000' AS DATETIME)
        AND ts < CAST('2026-10-22 00:00:00.000000' AS DATETIME)
      )
    )
), baseline_window AS (
  SELECT
    *
  FROM `prediction_outcomes`
  WHERE
    `model_name` = 'fraud'
    AND `role` = 'production'
    AND (
      (
        ts >= CAST('2026-10-14 00:00:00.000000' AS DATETIME)
        AND ts < CAST('2026-10-21 00:00:00.000000' AS DATETIME)
      )
    )
), stats /* One row per segment and column. Each column is a self-contained query over the two */ /* windows, and the columns are stacked: grouping and sorting each column on its own */ /* is several times faster and lighter than one long (column, value) relation, and */ /* the runner runs each column as a query of its own (`split: columns`). */ AS (
  SELECT
    *
  FROM (
    WITH observations /* Every value of the column in the current window ('cur') and the baseline */ /* ('base'), once per slice of `by` ('all' first), with NaN and ±inf as NULL; */ /* plus one row of sample 'none' (counted in neither) so the 'all' segment */ /* exists even when both windows are empty. Not materialized: each reader */ /* below scans it itself, which costs next to nothing for one column. */ AS (
      SELECT
        'cur' AS sample,
        'all' AS segment,
        CASE
          WHEN NOT IS_INF(CAST(`amount` AS FLOAT64)) AND NOT IS_NAN(CAST(`amount` AS FLOAT64))
          THEN CAST(`amount` AS FLOAT64)
        END AS v
      FROM current_window
      UNION ALL
      SELECT
        'base' AS sample,
        'all' AS segment,
        CASE
          WHEN NOT IS_INF(CAST(`amount` AS FLOAT64)) AND NOT IS_NAN(CAST(`amount` AS FLOAT64))
          THEN CAST(`amount` AS FLOAT64)
        END AS v
      FROM baseline_window
      UNION ALL
      SELECT
        'none' AS sample,
        'all' AS segment,
        CAST(NULL AS FLOAT64) AS v
    ), totals /* Counts and means straight from the rows: a second read of one column costs */ /* next to nothing, while sharing the grouped values below would make the */ /* engine keep them all (one row per distinct value) for two readers. */ AS (
      SELECT
        segment,
        COUNT(CASE WHEN sample = 'cur' THEN 1 END) AS rows_cur,
        COUNT(CASE WHEN sample = 'base' THEN 1 END) AS rows_base,
        COUNT(CASE WHEN sample = 'cur' THEN v END) AS valid_cur,
        COUNT(CASE WHEN sample = 'base' THEN v END) AS valid_base,
        AVG(CASE WHEN sample = 'cur' THEN v END) AS mean_cur,
        AVG(CASE WHEN sample = 'base' THEN v END) AS mean_base,
        MIN(CASE WHEN sample = 'base' THEN v END) /* A constant baseline is told by its values, not by a rounded std */ /* (the mean of 101 × 0.1 is not exactly 0.1: σ ≈ 1e-17). */ = MAX(CASE WHEN sample = 'base' THEN v END) AS constant_base
      FROM observations
      GROUP BY
        segment
    ), value_counts /* Each distinct value with its count in each sample (v NULL: the missing */ /* bin). COUNT gives a BIGINT (SUM of integers is a 128-bit HUGEINT in DuckDB, */ /* and the running sums below over it are a third slower). */ AS (
      SELECT
        segment,
        v,
        COUNT(CASE WHEN sample = 'cur' THEN 1 END) AS n_cur,
        COUNT(CASE WHEN sample = 'base' THEN 1 END) AS n_base
      FROM observations
      GROUP BY
        segment,
        v
    ), cdf /* The empirical CDFs at each distinct finite value: the one sort. cum_* are */ /* integer counts, so the comparisons with j/bins below are exact. */ AS (
      SELECT
        segment,
        v,
        n_cur,
        n_base,
        SUM(n_cur) OVER (
          ORDER BY CASE WHEN v IS NULL THEN 1 ELSE 0 END ASC, v ASC
          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS cum_cur,
        SUM(n_base) OVER (
          ORDER BY CASE WHEN v IS NULL THEN 1 ELSE 0 END ASC, v ASC
          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS cum_base,
        LEAD(v) OVER (ORDER BY CASE WHEN v IS NULL THEN 1 ELSE 0 END ASC, v ASC) AS v_next
      FROM value_counts
      WHERE
        NOT v IS NULL
    ), steps /* Quantile bins, read off the same sorted pass. Edge j (1 ≤ j < bins) is the */ /* smallest value whose baseline CDF reaches j/bins; the edges strictly below */ /* v number level(v) = min(bins − 1, floor(B(v⁻)·bins / N)), B(v⁻) = baseline */ /* rows below v, and v is an edge when the level passes at v (the last value */ /* of its level). Values of one level form one bin, so tied edges collapse. */ AS (
      SELECT
        segment,
        v,
        n_cur,
        n_base,
        LEAST(9, FLOOR(CAST((
          cum_base - n_base
        ) * 10 AS FLOAT64) / NULLIF(valid_base, 0))) AS level, /* In DOUBLE, not DECIMAL (· 1.0): the query is ~8% faster at 1M rows, and exact */ /* here (integers below 2⁵³, one correctly rounded division). */
        LEAST(9, FLOOR(CAST(cum_base * 10 AS FLOAT64) / NULLIF(valid_base, 0))) AS level_after,
        ABS(
          CAST(cum_cur AS FLOAT64) / NULLIF(valid_cur, 0) - CAST(cum_base AS FLOAT64) / NULLIF(valid_base, 0)
        ) AS gap, /* |F_cur − F_base| on [v, v_next): its max is KS, its integral W1. */
        v_next - v AS width,
        n_base * (
          v - mean_base
        ) * (
          v - mean_base
        ) AS sq_dev_base
      FROM cdf
      JOIN totals
        USING (segment)
    ), per_bin /* One pass over the sorted values, grouped to at most `bins` rows per */ /* segment. A segment with frozen bins (an earlier run's edges) bins by those */ /* instead: a value's bin is the number of frozen edges strictly below it. */ AS (
      SELECT
        segment,
        level AS bin,
        SUM(n_cur) AS n_cur,
        SUM(n_base) AS n_base,
        MAX(gap) AS max_gap,
        SUM(gap * width) AS area, /* the last value has no width (NULL), and adds nothing */
        SUM(sq_dev_base) AS sq_dev_base,
        MAX(CASE WHEN level_after > level THEN v END) AS fitted_edge
      FROM steps
      GROUP BY
        1,
        2 /* segment, bin (ordinals: the bin expression is long) */
    ), exact_stats /* KS = max gap; W1 = Σ gap · width; σ_base, the baseline's population std. */ AS (
      SELECT
        b.segment,
        MAX(b.max_gap) AS ks,
        CASE
          WHEN MAX(t.valid_cur) > 0 AND MAX(t.valid_base) > 0
          THEN COALESCE(SUM(b.area), 0)
        END AS w1, /* One distinct value in all: no step has a width, W1 = 0. */
        CASE
          WHEN LOGICAL_OR(t.constant_base)
          THEN 0.0
          ELSE SQRT(SUM(b.sq_dev_base) / NULLIF(MAX(t.valid_base), 0))
        END AS std_base
      FROM per_bin AS b
      JOIN totals AS t
        ON t.segment = b.segment
      GROUP BY
        b.segment
    ), frozen_edges AS (
      SELECT
        CAST(NULL AS STRING) AS segment,
        CAST(NULL AS INT64) AS position,
        CAST(NULL AS FLOAT64) AS item
      WHERE
        FALSE
    ), frozen_segments AS (
      SELECT DISTINCT
        segment
      FROM frozen_edges
    ), bin_counts /* Bins numbered 0, 1, … (fitted levels that collapsed leave gaps: dense ranks */ /* close them; every bin holds its upper edge, a baseline value, so none */ /* between two edges is empty), and -1 for the missing bin (NULL, NaN, ±inf). */ AS (
      SELECT
        b.segment,
        'amount' AS feature,
        CASE
          WHEN NOT fs.segment IS NULL
          THEN b.bin
          ELSE DENSE_RANK() OVER (
            PARTITION BY b.segment
            ORDER BY CASE WHEN b.bin IS NULL THEN 1 ELSE 0 END ASC, b.bin ASC
          ) - 1
        END AS bin,
        b.n_cur,
        b.n_base,
        t.rows_cur,
        t.rows_base
      FROM per_bin AS b
      JOIN totals AS t
        ON t.segment = b.segment
      LEFT JOIN frozen_segments AS fs
        ON fs.segment = b.segment
      WHERE
        b.n_cur + b.n_base > 0
      UNION ALL
      SELECT
        segment,
        'amount',
        -1,
        rows_cur - valid_cur,
        rows_base - valid_base,
        rows_cur,
        rows_base
      FROM totals
      WHERE
        rows_cur - valid_cur + rows_base - valid_base > 0
    ), bin_shares /* Shares per bin: p, q raw; p_s, q_s Jeffreys-smoothed, (n + ½) / (N + ½·K) */ /* with K the bins observed in either sample. Smoothing keeps PSI finite for */ /* an empty bin without letting a nearly empty one dominate, as a fixed ε */ /* floor does; it vanishes as N grows. */ AS (
      SELECT
        *,
        n_cur * 1.0 / NULLIF(rows_cur, 0) AS p,
        n_base * 1.0 / NULLIF(rows_base, 0) AS q,
        (
          n_cur + 0.5
        ) / (
          rows_cur + 0.5 * COUNT(*) OVER (PARTITION BY segment, feature)
        ) AS p_s,
        (
          n_base + 0.5
        ) / (
          rows_base + 0.5 * COUNT(*) OVER (PARTITION BY segment, feature)
        ) AS q_s
      FROM bin_counts
    ), binned_stats /* PSI = Σ (p_s − q_s)·ln(p_s / q_s). JS distance = sqrt(½ Σ p·log2(p/m) + */ /* ½ Σ q·log2(q/m)), m = (p + q)/2, 0·log 0 = 0; GREATEST guards rounding */ /* below 0. */ AS (
      SELECT
        segment,
        SUM((
          p_s - q_s
        ) * LN(p_s / q_s)) AS psi,
        SQRT(
          GREATEST(
            SUM(
              CASE WHEN p > 0 THEN 0.5 * p * LN(p / (
                (
                  p + q
                ) / 2
              )) ELSE 0 END + CASE WHEN q > 0 THEN 0.5 * q * LN(q / (
                (
                  p + q
                ) / 2
              )) ELSE 0 END
            ) / LN(2),
            0
          )
        ) AS js_distance,
        ARRAY_AGG(
          [bin, n_cur, n_base] ORDER BY CASE WHEN bin IS NULL THEN 1 ELSE 0 END ASC, bin ASC
        ) AS counts
      FROM bin_shares
      GROUP BY
        segment
    ), edge_lists /* The edges, for the histogram and to freeze them: frozen ones as stored, */ /* fitted ones where the level passes. */ AS (
      SELECT
        segment,
        ARRAY_AGG(edge ORDER BY CASE WHEN edge IS NULL THEN 1 ELSE 0 END ASC, edge ASC) AS edges
      FROM (
        SELECT
          segment,
          item AS edge
        FROM frozen_edges
        WHERE
          NOT item IS NULL
        UNION ALL
        SELECT
          segment,
          fitted_edge
        FROM per_bin
        WHERE
          NOT fitted_edge IS NULL
          AND NOT segment IN (
            SELECT
              segment
            FROM frozen_segments
          )
      ) AS edges
      GROUP BY
        segment
    )
    SELECT
      t.segment,
      'amount' AS feature,
      t.rows_cur,
      t.rows_base,
      t.valid_cur,
      t.valid_base,
      t.mean_cur,
      t.mean_base,
      x.std_base,
      x.ks,
      x.w1,
      CASE WHEN t.rows_cur > 0 AND t.rows_base > 0 THEN b.psi END AS psi, /* Binned metrics are undefined when either sample is empty. */
      CASE WHEN t.rows_cur > 0 AND t.rows_base > 0 THEN b.js_distance END AS js_distance,
      CASE
        WHEN t.valid_base > 0
        THEN TO_JSON_STRING(
          JSON_OBJECT(
            'kind',
            'quantile',
            'frozen',
            (
              NOT fs.segment IS NULL
            ),
            'edges',
            COALESCE(e.edges, ARRAY<FLOAT64>[]),
            'counts',
            b.counts
          )
        )
      END AS histogram /* The bins and their counts, for the report and to freeze the edges. */
    FROM totals AS t
    LEFT JOIN exact_stats AS x
      ON x.segment = t.segment
    LEFT JOIN binned_stats AS b
      ON b.segment = t.segment
    LEFT JOIN edge_lists AS e
      ON e.segment = t.segment
    LEFT JOIN frozen_segments AS fs
      ON fs.segment = t.segment
  ) AS `stats_amount`
  UNION ALL
  SELECT
    *
  FROM (
    WITH observations /* Every value of the column in the current window ('cur') and the baseline */ /* ('base'), once per slice of `by` ('all' first), with NaN and ±inf as NULL; */ /* plus one row of sample 'none' (counted in neither) so the 'all' segment */ /* exists even when both windows are empty. Not materialized: each reader */ /* below scans it itself, which costs next to nothing for one column. */ AS (
      SELECT
        'cur' AS sample,
        'all' AS segment,
        CASE
          WHEN NOT IS_INF(CAST(`distance_km` AS FLOAT64))
          AND NOT IS_NAN(CAST(`distance_km` AS FLOAT64))
          THEN CAST(`distance_km` AS FLOAT64)
        END AS v
      FROM current_window
      UNION ALL
      SELECT
        'base' AS sample,
        'all' AS segment,
        CASE
          WHEN NOT IS_INF(CAST(`distance_km` AS FLOAT64))
          AND NOT IS_NAN(CAST(`distance_km` AS FLOAT64))
          THEN CAST(`distance_km` AS FLOAT64)
        END AS v
      FROM baseline_window
      UNION ALL
      SELECT
        'none' AS sample,
        'all' AS segment,
        CAST(NULL AS FLOAT64) AS v
    ), totals /* Counts and means straight from the rows: a second read of one column costs */ /* next to nothing, while sharing the grouped values below would make the */ /* engine keep them all (one row per distinct value) for two readers. */ AS (
      SELECT
        segment,
        COUNT(CASE WHEN sample = 'cur' THEN 1 END) AS rows_cur,
        COUNT(CASE WHEN sample = 'base' THEN 1 END) AS rows_base,
        COUNT(CASE WHEN sample = 'cur' THEN v END) AS valid_cur,
        COUNT(CASE WHEN sample = 'base' THEN v END) AS valid_base,
        AVG(CASE WHEN sample = 'cur' THEN v END) AS mean_cur,
        AVG(CASE WHEN sample = 'base' THEN v END) AS mean_base,
        MIN(CASE WHEN sample = 'base' THEN v END) /* A constant baseline is told by its values, not by a rounded std */ /* (the mean of 101 × 0.1 is not exactly 0.1: σ ≈ 1e-17). */ = MAX(CASE WHEN sample = 'base' THEN v END) AS constant_base
      FROM observations
      GROUP BY
        segment
    ), value_counts /* Each distinct value with its count in each sample (v NULL: the missing */ /* bin). COUNT gives a BIGINT (SUM of integers is a 128-bit HUGEINT in DuckDB, */ /* and the running sums below over it are a third slower). */ AS (
      SELECT
        segment,
        v,
        COUNT(CASE WHEN sample = 'cur' THEN 1 END) AS n_cur,
        COUNT(CASE WHEN sample = 'base' THEN 1 END) AS n_base
      FROM observations
      GROUP BY
        segment,
        v
    ), cdf /* The empirical CDFs at each distinct finite value: the one sort. cum_* are */ /* integer counts, so the comparisons with j/bins below are exact. */ AS (
      SELECT
        segment,
        v,
        n_cur,
        n_base,
        SUM(n_cur) OVER (
          ORDER BY CASE WHEN v IS NULL THEN 1 ELSE 0 END ASC, v ASC
          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS cum_cur,
        SUM(n_base) OVER (
          ORDER BY CASE WHEN v IS NULL THEN 1 ELSE 0 END ASC, v ASC
          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS cum_base,
        LEAD(v) OVER (ORDER BY CASE WHEN v IS NULL THEN 1 ELSE 0 END ASC, v ASC) AS v_next
      FROM value_counts
      WHERE
        NOT v IS NULL
    ), steps /* Quantile bins, read off the same sorted pass. Edge j (1 ≤ j < bins) is the */ /* smallest value whose baseline CDF reaches j/bins; the edges strictly below */ /* v number level(v) = min(bins − 1, floor(B(v⁻)·bins / N)), B(v⁻) = baseline */ /* rows below v, and v is an edge when the level passes at v (the last value */ /* of its level). Values of one level form one bin, so tied edges collapse. */ AS (
      SELECT
        segment,
        v,
        n_cur,
        n_base,
        LEAST(9, FLOOR(CAST((
          cum_base - n_base
        ) * 10 AS FLOAT64) / NULLIF(valid_base, 0))) AS level, /* In DOUBLE, not DECIMAL (· 1.0): the query is ~8% faster at 1M rows, and exact */ /* here (integers below 2⁵³, one correctly rounded division). */
        LEAST(9, FLOOR(CAST(cum_base * 10 AS FLOAT64) / NULLIF(valid_base, 0))) AS level_after,
        ABS(
          CAST(cum_cur AS FLOAT64) / NULLIF(valid_cur, 0) - CAST(cum_base AS FLOAT64) / NULLIF(valid_base, 0)
        ) AS gap, /* |F_cur − F_base| on [v, v_next): its max is KS, its integral W1. */
        v_next - v AS width,
        n_base * (
          v - mean_base
        ) * (
          v - mean_base
        ) AS sq_dev_base
      FROM cdf
      JOIN totals
        USING (segment)
    ), per_bin /* One pass over the sorted values, grouped to at most `bins` rows per */ /* segment. A segment with frozen bins (an earlier run's edges) bins by those */ /* instead: a value's bin is the number of frozen edges strictly below it. */ AS (
      SELECT
        segment,
        level AS bin,
        SUM(n_cur) AS n_cur,
        SUM(n_base) AS n_base,
        MAX(gap) AS max_gap,
        SUM(gap * width) AS area, /* the last value has no width (NULL), and adds nothing */
        SUM(sq_dev_base) AS sq_dev_base,
        MAX(CASE WHEN level_after > level THEN v END) AS fitted_edge
      FROM steps
      GROUP BY
        1,
        2 /* segment, bin (ordinals: the bin expression is long) */
    ), exact_stats /* KS = max gap; W1 = Σ gap · width; σ_base, the baseline's population std. */ AS (
      SELECT
        b.segment,
        MAX(b.max_gap) AS ks,
        CASE
          WHEN MAX(t.valid_cur) > 0 AND MAX(t.valid_base) > 0
          THEN COALESCE(SUM(b.area), 0)
        END AS w1, /* One distinct value in all: no step has a width, W1 = 0. */
        CASE
          WHEN LOGICAL_OR(t.constant_base)
          THEN 0.0
          ELSE SQRT(SUM(b.sq_dev_base) / NULLIF(MAX(t.valid_base), 0))
        END AS std_base
      FROM per_bin AS b
      JOIN totals AS t
        ON t.segment = b.segment
      GROUP BY
        b.segment
    ), frozen_edges AS (
      SELECT
        CAST(NULL AS STRING) AS segment,
        CAST(NULL AS INT64) AS position,
        CAST(NULL AS FLOAT64) AS item
      WHERE
        FALSE
    ), frozen_segments AS (
      SELECT DISTINCT
        segment
      FROM frozen_edges
    ), bin_counts /* Bins numbered 0, 1, … (fitted levels that collapsed leave gaps: dense ranks */ /* close them; every bin holds its upper edge, a baseline value, so none */ /* between two edges is empty), and -1 for the missing bin (NULL, NaN, ±inf). */ AS (
      SELECT
        b.segment,
        'distance_km' AS feature,
        CASE
          WHEN NOT fs.segment IS NULL
          THEN b.bin
          ELSE DENSE_RANK() OVER (
            PARTITION BY b.segment
            ORDER BY CASE WHEN b.bin IS NULL THEN 1 ELSE 0 END ASC, b.bin ASC
          ) - 1
        END AS bin,
        b.n_cur,
        b.n_base,
        t.rows_cur,
        t.rows_base
      FROM per_bin AS b
      JOIN totals AS t
        ON t.segment = b.segment
      LEFT JOIN frozen_segments AS fs
        ON fs.segment = b.segment
      WHERE
        b.n_cur + b.n_base > 0
      UNION ALL
      SELECT
        segment,
        'distance_km',
        -1,
        rows_cur - valid_cur,
        rows_base - valid_base,
        rows_cur,
        rows_base
      FROM totals
      WHERE
        rows_cur - valid_cur + rows_base - valid_base > 0
    ), bin_shares /* Shares per bin: p, q raw; p_s, q_s Jeffreys-smoothed, (n + ½) / (N + ½·K) */ /* with K the bins observed in either sample. Smoothing keeps PSI finite for */ /* an empty bin without letting a nearly empty one dominate, as a fixed ε */ /* floor does; it vanishes as N grows. */ AS (
      SELECT
        *,
        n_cur * 1.0 / NULLIF(rows_cur, 0) AS p,
        n_base * 1.0 / NULLIF(rows_base, 0) AS q,
        (
          n_cur + 0.5
        ) / (
          rows_cur + 0.5 * COUNT(*) OVER (PARTITION BY segment, feature)
        ) AS p_s,
        (
          n_base + 0.5
        ) / (
          rows_base + 0.5 * COUNT(*) OVER (PARTITION BY segment, feature)
        ) AS q_s
      FROM bin_counts
    ), binned_stats /* PSI = Σ (p_s − q_s)·ln(p_s / q_s). JS distance = sqrt(½ Σ p·log2(p/m) + */ /* ½ Σ q·log2(q/m)), m = (p + q)/2, 0·log 0 = 0; GREATEST guards rounding */ /* below 0. */ AS (
      SELECT
        segment,
        SUM((
          p_s - q_s
        ) * LN(p_s / q_s)) AS psi,
        SQRT(
          GREATEST(
            SUM(
              CASE WHEN p > 0 THEN 0.5 * p * LN(p / (
                (
                  p + q
                ) / 2
              )) ELSE 0 END + CASE WHEN q > 0 THEN 0.5 * q * LN(q / (
                (
                  p + q
                ) / 2
              )) ELSE 0 END
            ) / LN(2),
            0
          )
        ) AS js_distance,
        ARRAY_AGG(
          [bin, n_cur, n_base] ORDER BY CASE WHEN bin IS NULL THEN 1 ELSE 0 END ASC, bin ASC
        ) AS counts
      FROM bin_shares
      GROUP BY
        segment
    ), edge_lists /* The edges, for the histogram and to freeze them: frozen ones as stored, */ /* fitted ones where the level passes. */ AS (
      SELECT
        segment,
        ARRAY_AGG(edge ORDER BY CASE WHEN edge IS NULL THEN 1 ELSE 0 END ASC, edge ASC) AS edges
      FROM (
        SELECT
          segment,
          item AS edge
        FROM frozen_edges
        WHERE
          NOT item IS NULL
        UNION ALL
        SELECT
          segment,
          fitted_edge
        FROM per_bin
        WHERE
          NOT fitted_edge IS NULL
          AND NOT segment IN (
            SELECT
              segment
            FROM frozen_segments
          )
      ) AS edges
      GROUP BY
        segment
    )
    SELECT
      t.segment,
      'distance_km' AS feature,
      t.rows_cur,
      t.rows_base,
      t.valid_cur,
      t.valid_base,
      t.mean_cur,
      t.mean_base,
      x.std_base,
      x.ks,
      x.w1,
      CASE WHEN t.rows_cur > 0 AND t.rows_base > 0 THEN b.psi END AS psi, /* Binned metrics are undefined when either sample is empty. */
      CASE WHEN t.rows_cur > 0 AND t.rows_base > 0 THEN b.js_distance END AS js_distance,
      CASE
        WHEN t.valid_base > 0
        THEN TO_JSON_STRING(
          JSON_OBJECT(
            'kind',
            'quantile',
            'frozen',
            (
              NOT fs.segment IS NULL
            ),
            'edges',
            COALESCE(e.edges, ARRAY<FLOAT64>[]),
            'counts',
            b.counts
          )
        )
      END AS histogram /* The bins and their counts, for the report and to freeze the edges. */
    FROM totals AS t
    LEFT JOIN exact_stats AS x
      ON x.segment = t.segment
    LEFT JOIN binned_stats AS b
      ON b.segment = t.segment
    LEFT JOIN edge_lists AS e
      ON e.segment = t.segment
    LEFT JOIN frozen_segments AS fs
      ON fs.segment = t.segment
  ) AS `stats_distance_km`
), metric_rows /* A row per (segment, feature, metric); why a value is undefined goes in `reason`. */ /* wasserstein_norm divides by max(σ_base, 1e-9·max(1, |mean_base|)): never by zero. */ AS (
  SELECT
    s.segment,
    s.feature,
    m.metric,
    CASE m.metric
      WHEN 'psi'
      THEN s.psi
      WHEN 'js_distance'
      THEN s.js_distance
      WHEN 'ks'
      THEN s.ks
      WHEN 'wasserstein'
      THEN s.w1
      WHEN 'wasserstein_norm'
      THEN s.w1 / GREATEST(s.std_base, 1e-9 * GREATEST(1.0, ABS(s.mean_base)))
      WHEN 'mean_shift_std'
      THEN (
        s.mean_cur - s.mean_base
      ) / NULLIF(s.std_base, 0)
      WHEN 'null_rate'
      THEN (
        s.rows_cur - s.valid_cur
      ) * 1.0 / NULLIF(s.rows_cur, 0)
      WHEN 'row_count'
      THEN CAST(s.rows_cur AS FLOAT64)
    END AS value,
    CASE WHEN m.binned THEN s.rows_cur ELSE s.valid_cur END AS sample_size, /* Binned metrics count every row; the others only the finite values. */
    CASE m.metric
      WHEN 'null_rate'
      THEN (
        s.rows_base - s.valid_base
      ) * 1.0 / NULLIF(s.rows_base, 0)
      WHEN 'row_count'
      THEN CAST(s.rows_base AS FLOAT64)
      WHEN 'mean_shift_std'
      THEN 0.0
    END AS baseline_value,
    CASE WHEN m.binned THEN s.rows_base ELSE s.valid_base END AS baseline_size,
    CAST(NULL AS FLOAT64) AS p_value,
    CASE WHEN m.metric = 'ks' THEN 'ks' END AS test, /* The runner computes KS's p-value (Smirnov's asymptotic distribution). */
    CASE
      WHEN m.metric = 'row_count'
      THEN NULL
      WHEN s.rows_cur = 0
      THEN 'the current window has no rows'
      WHEN m.metric = 'null_rate'
      THEN NULL
      WHEN s.rows_base = 0
      THEN 'the baseline has no rows'
      WHEN m.binned
      THEN NULL
      WHEN s.valid_cur = 0
      THEN 'the current window has no finite values'
      WHEN s.valid_base = 0
      THEN 'the baseline has no finite values'
      WHEN m.metric = 'mean_shift_std' AND s.std_base = 0
      THEN 'the baseline is constant (std 0)'
    END AS reason,
    CASE WHEN m.metric = 'psi' THEN s.histogram END AS histogram
  FROM stats AS s
  CROSS JOIN UNNEST([
    STRUCT('psi' AS metric, TRUE AS binned),
    STRUCT('js_distance' AS metric, TRUE AS binned),
    STRUCT('ks' AS metric, FALSE AS binned),
    STRUCT('wasserstein' AS metric, FALSE AS binned),
    STRUCT('wasserstein_norm' AS metric, FALSE AS binned),
    STRUCT('mean_shift_std' AS metric, FALSE AS binned),
    STRUCT('null_rate' AS metric, TRUE AS binned),
    STRUCT('row_count' AS metric, TRUE AS binned)
  ]) AS m
)
SELECT
  segment,
  feature,
  metric,
  value,
  sample_size,
  baseline_value,
  baseline_size,
  p_value,
  test,
  reason,
  CAST(histogram AS STRING) AS histogram
FROM metric_rows
ORDER BY
  segment NULLS LAST,
  feature NULLS LAST,
  metric NULLS LAST
