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
        ts >= CAST('2026-09-23 00:00:00.000000' AS DATETIME)
        AND ts < CAST('2026-09-24 00:00:00.000000' AS DATETIME)
      )
      OR (
        ts >= CAST('2026-09-30 00:00:00.000000' AS DATETIME)
        AND ts < CAST('2026-10-01 00:00:00.000000' AS DATETIME)
      )
      OR (
        ts >= CAST('2026-10-07 00:00:00.000000' AS DATETIME)
        AND ts < CAST('2026-10-08 00:00:00.000000' AS DATETIME)
      )
      OR (
        ts >= CAST('2026-10-14 00:00:00.000000' AS DATETIME)
        AND ts < CAST('2026-10-15 00:00:00.000000' AS DATETIME)
      )
    )
), row_counts /* Per segment, column and distinct value v: its count in the current window (n_cur) */ /* and in the baseline (n_base), for every slice of `by` ('all' first); v NULL is the */ /* NULL bin. Each column is grouped on its own (a small hash table keyed by its */ /* values) and the columns are stacked: one long-form relation of every column is */ /* several times slower and needs far more memory. A row of sample 'none' (counted in */ /* neither) makes the 'all' segment exist even when both windows are empty. */ AS (
  SELECT
    segment,
    'merchant_category' AS feature,
    v,
    COUNT(CASE WHEN sample = 'cur' THEN 1 END) AS n_cur,
    COUNT(CASE WHEN sample = 'base' THEN 1 END) AS n_base
  FROM (
    SELECT
      'cur' AS sample,
      'all' AS segment,
      CAST(`merchant_category` AS STRING) AS v
    FROM current_window
    UNION ALL
    SELECT
      'base' AS sample,
      'all' AS segment,
      CAST(`merchant_category` AS STRING) AS v
    FROM baseline_window
    UNION ALL
    SELECT
      'none' AS sample,
      'all' AS segment,
      CAST(NULL AS STRING) AS v
  ) AS observations
  GROUP BY
    segment,
    v
  UNION ALL
  SELECT
    segment,
    'country' AS feature,
    v,
    COUNT(CASE WHEN sample = 'cur' THEN 1 END) AS n_cur,
    COUNT(CASE WHEN sample = 'base' THEN 1 END) AS n_base
  FROM (
    SELECT
      'cur' AS sample,
      'all' AS segment,
      CAST(`country` AS STRING) AS v
    FROM current_window
    UNION ALL
    SELECT
      'base' AS sample,
      'all' AS segment,
      CAST(`country` AS STRING) AS v
    FROM baseline_window
    UNION ALL
    SELECT
      'none' AS sample,
      'all' AS segment,
      CAST(NULL AS STRING) AS v
  ) AS observations
  GROUP BY
    segment,
    v
  UNION ALL
  SELECT
    segment,
    'device' AS feature,
    v,
    COUNT(CASE WHEN sample = 'cur' THEN 1 END) AS n_cur,
    COUNT(CASE WHEN sample = 'base' THEN 1 END) AS n_base
  FROM (
    SELECT
      'cur' AS sample,
      'all' AS segment,
      CAST(`device` AS STRING) AS v
    FROM current_window
    UNION ALL
    SELECT
      'base' AS sample,
      'all' AS segment,
      CAST(`device` AS STRING) AS v
    FROM baseline_window
    UNION ALL
    SELECT
      'none' AS sample,
      'all' AS segment,
      CAST(NULL AS STRING) AS v
  ) AS observations
  GROUP BY
    segment,
    v
), value_counts AS (
  SELECT
    segment,
    feature,
    v,
    n_cur,
    n_base
  FROM row_counts
), totals AS (
  SELECT
    segment,
    feature,
    SUM(n_cur) AS rows_cur,
    SUM(n_base) AS rows_base,
    SUM(CASE WHEN v IS NULL THEN n_cur ELSE 0 END) AS null_cur,
    SUM(CASE WHEN v IS NULL THEN n_base ELSE 0 END) AS null_base,
    SUM(CASE WHEN NOT v IS NULL AND n_base = 0 THEN n_cur ELSE 0 END) AS unseen_cur,
    SUM(CASE WHEN NOT v IS NULL AND n_base = 0 AND n_cur > 0 THEN 1 ELSE 0 END) AS new_categories
  FROM value_counts
  GROUP BY
    segment,
    feature
), frozen /* Top-k lists frozen by an earlier run: (segment, feature, position, category); a */ /* segment with a frozen list has one row with a NULL category. */ AS (
  SELECT
    segment,
    'merchant_category' AS feature,
    position,
    item AS category
  FROM (
    SELECT
      CAST(NULL AS STRING) AS segment,
      CAST(NULL AS INT64) AS position,
      CAST(NULL AS STRING) AS item
    WHERE
      FALSE
  ) AS `frozen_merchant_category`
  UNION ALL
  SELECT
    segment,
    'country' AS feature,
    position,
    item AS category
  FROM (
    SELECT
      CAST(NULL AS STRING) AS segment,
      CAST(NULL AS INT64) AS position,
      CAST(NULL AS STRING) AS item
    WHERE
      FALSE
  ) AS `frozen_country`
  UNION ALL
  SELECT
    segment,
    'device' AS feature,
    position,
    item AS category
  FROM (
    SELECT
      CAST(NULL AS STRING) AS segment,
      CAST(NULL AS INT64) AS position,
      CAST(NULL AS STRING) AS item
    WHERE
      FALSE
  ) AS `frozen_device`
), frozen_segments AS (
  SELECT DISTINCT
    segment,
    feature
  FROM frozen
), ranked /* Each category's bin: its position in the frozen list, or else its baseline rank */ /* among the top_k; every other non-NULL value is OTHER. */ AS (
  SELECT
    c.segment,
    c.feature,
    c.v,
    c.n_cur,
    c.n_base,
    CASE
      WHEN c.v IS NULL
      THEN NULL
      WHEN NOT fs.segment IS NULL
      THEN f.position
      WHEN c.n_base > 0
      THEN ROW_NUMBER() OVER (
        PARTITION BY c.segment, c.feature, (
          c.v IS NULL OR c.n_base = 0
        )
        ORDER BY c.n_base DESC, CASE WHEN c.v IS NULL THEN 1 ELSE 0 END ASC, c.v ASC
      ) - 1
    END AS rank_base,
    NOT fs.segment IS NULL AS is_frozen
  FROM value_counts AS c
  LEFT JOIN frozen_segments AS fs
    ON fs.segment = c.segment AND fs.feature = c.feature
  LEFT JOIN frozen AS f
    ON f.segment = c.segment AND f.feature = c.feature AND f.category = c.v
), categorised AS (
  SELECT
    segment,
    feature,
    v,
    n_cur,
    n_base,
    is_frozen,
    CASE
      WHEN v IS NULL
      THEN 'null'
      WHEN NOT rank_base IS NULL AND (
        is_frozen OR rank_base < 50
      )
      THEN 'top'
      ELSE 'other'
    END AS kind,
    CASE
      WHEN NOT rank_base IS NULL AND (
        is_frozen OR rank_base < 50
      )
      THEN rank_base
    END AS position
  FROM ranked
), bin_counts AS (
  SELECT
    segment,
    feature,
    CASE WHEN kind = 'top' THEN v END AS category,
    kind,
    MAX(position) AS position,
    SUM(n_cur) AS n_cur,
    SUM(n_base) AS n_base
  FROM categorised
  GROUP BY
    segment,
    feature,
    CASE WHEN kind = 'top' THEN v END,
    kind
), bin_totals AS (
  SELECT
    b.segment,
    b.feature,
    b.category,
    b.kind,
    b.position,
    b.n_cur,
    b.n_base,
    t.rows_cur,
    t.rows_base,
    t.rows_cur /* Expected counts under homogeneity: row total · column total / N. */ * (
      b.n_cur + b.n_base
    ) * 1.0 / NULLIF(t.rows_cur + t.rows_base, 0) AS e_cur,
    t.rows_base * (
      b.n_cur + b.n_base
    ) * 1.0 / NULLIF(t.rows_cur + t.rows_base, 0) AS e_base
  FROM bin_counts AS b
  JOIN totals AS t
    ON t.segment = b.segment AND t.feature = b.feature
  WHERE
    b.n_cur + b.n_base > 0
), bin_shares /* Shares per bin: p, q raw; p_s, q_s Jeffreys-smoothed, (n + ½) / (N + ½·K) with K */ /* the bins observed in either sample, so an empty bin keeps PSI finite. */ AS (
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
  FROM bin_totals
), binned_stats /* PSI = Σ (p_s − q_s)·ln(p_s / q_s); JS distance = sqrt(½ Σ p·log2(p/m) + ½ Σ q·log2(q/m)), */ /* m = (p + q)/2, 0·log 0 = 0 (GREATEST guards rounding below 0); χ² = Σ (O − E)² / E. */ AS (
  SELECT
    segment,
    feature,
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
    SUM(
      (
        n_cur - e_cur
      ) * (
        n_cur - e_cur
      ) / NULLIF(e_cur, 0) + (
        n_base - e_base
      ) * (
        n_base - e_base
      ) / NULLIF(e_base, 0)
    ) AS chi2,
    COUNT(*) - 1 AS dof,
    MAX(ABS(p - q)) AS linf,
    ARRAY_AGG(
      [
        CASE kind WHEN 'top' THEN position WHEN 'other' THEN -2 ELSE -1 END,
        n_cur,
        n_base
      ] ORDER BY CASE
        WHEN CASE kind WHEN 'top' THEN position WHEN 'other' THEN -2 ELSE -1 END IS NULL
        THEN 1
        ELSE 0
      END ASC, CASE kind WHEN 'top' THEN position WHEN 'other' THEN -2 ELSE -1 END ASC
    ) AS counts /* [bin, n_cur, n_base]; bin: the category's position in the list, -2 OTHER, -1 NULL. */
  FROM bin_shares
  GROUP BY
    segment,
    feature
), category_lists /* The category list (frozen, or the baseline's top_k) in bin order, for the histogram. */ AS (
  SELECT
    segment,
    feature,
    ARRAY_AGG(v ORDER BY CASE WHEN position IS NULL THEN 1 ELSE 0 END ASC, position ASC) AS categories
  FROM categorised
  WHERE
    NOT position IS NULL AND NOT is_frozen
  GROUP BY
    segment,
    feature
  UNION ALL
  /* A frozen list is the stored one, whole: its positions are the bin ids, whether */
  /* or not every category occurs in this run. */
  SELECT
    segment,
    feature,
    ARRAY_AGG(category ORDER BY CASE WHEN position IS NULL THEN 1 ELSE 0 END ASC, position ASC)
  FROM frozen
  WHERE
    NOT category IS NULL
  GROUP BY
    segment,
    feature
), stats AS (
  SELECT
    t.*,
    b.dof,
    CASE WHEN t.rows_cur > 0 AND t.rows_base > 0 THEN b.psi END AS psi,
    CASE WHEN t.rows_cur > 0 AND t.rows_base > 0 THEN b.js_distance END AS js_distance,
    CASE WHEN t.rows_cur > 0 AND t.rows_base > 0 THEN b.chi2 END AS chi2,
    CASE WHEN t.rows_cur > 0 AND t.rows_base > 0 THEN b.linf END AS linf,
    CASE
      WHEN t.rows_base > t.null_base
      THEN TO_JSON_STRING(
        JSON_OBJECT(
          'kind',
          'top_k',
          'frozen',
          (
            NOT fs.segment IS NULL
          ),
          'categories',
          COALESCE(c.categories, ARRAY<STRING>[]),
          'counts',
          b.counts
        )
      )
    END AS histogram
  FROM totals AS t
  LEFT JOIN binned_stats AS b
    ON b.segment = t.segment AND b.feature = t.feature
  LEFT JOIN category_lists AS c
    ON c.segment = t.segment AND c.feature = t.feature
  LEFT JOIN frozen_segments AS fs
    ON fs.segment = t.segment AND fs.feature = t.feature
)
SELECT
  s.segment,
  s.feature,
  m.metric,
  CASE m.metric
    WHEN 'psi'
    THEN s.psi
    WHEN 'js_distance'
    THEN s.js_distance
    WHEN 'chi2'
    THEN s.chi2
    WHEN 'linf'
    THEN s.linf
    WHEN 'unseen_share'
    THEN CASE WHEN s.rows_base > 0 THEN s.unseen_cur * 1.0 / NULLIF(s.rows_cur, 0) END
    WHEN 'new_categories'
    THEN CASE
      WHEN s.rows_base > 0 AND s.rows_cur > 0
      THEN CAST(s.new_categories AS FLOAT64)
    END
    WHEN 'null_rate'
    THEN s.null_cur * 1.0 / NULLIF(s.rows_cur, 0)
    WHEN 'row_count'
    THEN CAST(s.rows_cur AS FLOAT64)
  END AS value,
  s.rows_cur AS sample_size,
  CASE m.metric
    WHEN 'null_rate'
    THEN s.null_base * 1.0 / NULLIF(s.rows_base, 0)
    WHEN 'row_count'
    THEN CAST(s.rows_base AS FLOAT64)
  END AS baseline_value,
  s.rows_base AS baseline_size,
  CAST(NULL AS FLOAT64) AS p_value,
  CASE WHEN m.metric = 'chi2' THEN 'chi2' END AS test,
  CASE WHEN m.metric = 'chi2' AND NOT s.chi2 IS NULL THEN s.dof END AS dof,
  CASE
    WHEN m.metric = 'row_count'
    THEN NULL
    WHEN s.rows_cur = 0
    THEN 'the current window has no rows'
    WHEN m.metric = 'null_rate'
    THEN NULL
    WHEN s.rows_base = 0
    THEN 'the baseline has no rows'
  END AS reason,
  CASE WHEN m.metric = 'psi' THEN CAST(s.histogram AS STRING) END AS histogram
FROM stats AS s
CROSS JOIN UNNEST([
  STRUCT('psi' AS metric),
  STRUCT('js_distance' AS metric),
  STRUCT('chi2' AS metric),
  STRUCT('linf' AS metric),
  STRUCT('unseen_share' AS metric),
  STRUCT('new_categories' AS metric),
  STRUCT('null_rate' AS metric),
  STRUCT('row_count' AS metric)
]) AS m
ORDER BY
  s.segment NULLS LAST,
  s.feature NULLS LAST,
  m.metric NULLS LAST
