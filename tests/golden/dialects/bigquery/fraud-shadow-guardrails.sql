WITH pairs AS (
  /* The requests both models scored, in the window (prediction time). */
  SELECT
    *
  FROM (
    SELECT
      *
    FROM `shadow_pairs`
    WHERE
      `model_name` = 'fraud'
      AND (
        (
          ts >= CAST('2026-10-21 00:00:00.000000' AS DATETIME)
          AND ts < CAST('2026-10-22 00:00:00.000000' AS DATETIME)
        )
      )
  ) AS window_pairs
  WHERE
    has_production AND has_shadow
), scored AS (
  SELECT
    'cur' AS sample,
    `country`,
    `device`,
    CASE
      WHEN NOT IS_INF(CAST(`shadow_score` AS FLOAT64))
      AND NOT IS_NAN(CAST(`shadow_score` AS FLOAT64))
      THEN CAST(`shadow_score` AS FLOAT64)
    END AS score,
    CAST(0.5 AS FLOAT64) AS cut,
    CAST(`label` AS FLOAT64) AS label,
    ts <= CAST('2026-10-08 06:00:00.000000' AS DATETIME) AS mature
  FROM pairs
  UNION ALL
  SELECT
    'base' AS sample,
    `country`,
    `device`,
    CASE
      WHEN NOT IS_INF(CAST(`prod_score` AS FLOAT64))
      AND NOT IS_NAN(CAST(`prod_score` AS FLOAT64))
      THEN CAST(`prod_score` AS FLOAT64)
    END AS score,
    CAST(0.5 AS FLOAT64) AS cut,
    CAST(`label` AS FLOAT64) AS label,
    ts <= CAST('2026-10-08 06:00:00.000000' AS DATETIME) AS mature
  FROM pairs
), score_groups AS (
  SELECT
    sample,
    CASE
      WHEN GROUPING(`country`) = 0 AND GROUPING(`device`) = 1
      THEN 'country=' || COALESCE(CAST(`country` AS STRING), '<null>')
      WHEN GROUPING(`country`) = 1 AND GROUPING(`device`) = 0
      THEN 'device=' || COALESCE(CAST(`device` AS STRING), '<null>')
      ELSE 'all'
    END AS segment,
    cut,
    score,
    COUNT(*) AS n_rows,
    COUNT(CASE WHEN mature THEN 1 END) AS n_mature,
    COUNT(CASE WHEN mature AND label = 1 THEN 1 END) AS n_pos,
    COUNT(CASE WHEN mature AND label = 0 THEN 1 END) AS n_neg,
    COUNT(CASE WHEN mature AND NOT label IN (0, 1) THEN 1 END) AS n_other
  FROM scored
  GROUP BY
    GROUPING SETS (
      (sample, cut, score),
      (`country`, sample, cut, score),
      (`device`, sample, cut, score)
    )
), ranked AS (
  /* Negatives scored strictly below each distinct score. AUC is the Mann–Whitney */
  /* statistic: the share of (positive, negative) pairs ranked right, a tie counting */
  /* ½, which is the ROC curve's trapezoid area (mid-ranks for ties). */
  SELECT
    *,
    COALESCE(
      SUM(n_neg) OVER (
        PARTITION BY sample, segment
        ORDER BY CASE WHEN score IS NULL THEN 1 ELSE 0 END ASC, score ASC
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS neg_below
  FROM score_groups
), segment_stats AS (
  SELECT
    r.sample,
    r.segment,
    SUM(CASE WHEN NOT score IS NULL THEN n_rows ELSE 0 END) AS scored,
    SUM(CASE WHEN score >= cut THEN n_rows ELSE 0 END) AS flagged,
    SUM(n_mature) AS mature,
    SUM(n_pos + n_neg) AS labelled,
    SUM(n_other) AS other_labels,
    SUM(CASE WHEN NOT score IS NULL THEN n_pos ELSE 0 END) AS pos,
    SUM(CASE WHEN NOT score IS NULL THEN n_neg ELSE 0 END) AS neg,
    SUM(CASE WHEN score >= cut THEN n_pos ELSE 0 END) AS tp,
    SUM(CASE WHEN score >= cut THEN n_neg ELSE 0 END) AS fp,
    SUM(
      CASE WHEN NOT score IS NULL THEN n_pos * (
        neg_below + 0.5 * n_neg
      ) ELSE 0 END
    ) AS auc_pairs,
    SUM(CASE WHEN score < 0 OR score > 1 THEN n_pos + n_neg ELSE 0 END) AS not_probability,
    SUM(n_pos * (
      1 - score
    ) * (
      1 - score
    ) + n_neg * score * score) AS brier_sum, /* Brier: Σ (score − label)²; log loss: −Σ ln(the score given to the true */ /* class), clipped to [ε, 1 − ε] with ε = 2⁻⁵² as scikit-learn does. The CASE */ /* is needed: GREATEST and LEAST skip a NULL score instead of returning NULL. */
    -SUM(
      CASE
        WHEN NOT score IS NULL
        THEN n_pos * LN(LEAST(GREATEST(score, 2.220446049250313e-16), 1 - 2.220446049250313e-16)) + n_neg * LN(LEAST(GREATEST(1 - score, 2.220446049250313e-16), 1 - 2.220446049250313e-16))
      END
    ) AS log_loss_sum,
    CAST(NULL AS FLOAT64) AS ece_sum
  FROM ranked AS r
  GROUP BY
    r.sample,
    r.segment
), paired AS (
  /* One row per segment, the window's sums (cur_) beside the baseline's (base_); the */
  /* 'all' segment always exists, so an empty window says so. */
  SELECT
    k.segment,
    COALESCE(c.`scored`, 0) AS `cur_scored`,
    COALESCE(b.`scored`, 0) AS `base_scored`,
    COALESCE(c.`flagged`, 0) AS `cur_flagged`,
    COALESCE(b.`flagged`, 0) AS `base_flagged`,
    COALESCE(c.`mature`, 0) AS `cur_mature`,
    COALESCE(b.`mature`, 0) AS `base_mature`,
    COALESCE(c.`labelled`, 0) AS `cur_labelled`,
    COALESCE(b.`labelled`, 0) AS `base_labelled`,
    COALESCE(c.`other_labels`, 0) AS `cur_other_labels`,
    COALESCE(b.`other_labels`, 0) AS `base_other_labels`,
    COALESCE(c.`pos`, 0) AS `cur_pos`,
    COALESCE(b.`pos`, 0) AS `base_pos`,
    COALESCE(c.`neg`, 0) AS `cur_neg`,
    COALESCE(b.`neg`, 0) AS `base_neg`,
    COALESCE(c.`tp`, 0) AS `cur_tp`,
    COALESCE(b.`tp`, 0) AS `base_tp`,
    COALESCE(c.`fp`, 0) AS `cur_fp`,
    COALESCE(b.`fp`, 0) AS `base_fp`,
    COALESCE(c.`auc_pairs`, 0) AS `cur_auc_pairs`,
    COALESCE(b.`auc_pairs`, 0) AS `base_auc_pairs`,
    COALESCE(c.`not_probability`, 0) AS `cur_not_probability`,
    COALESCE(b.`not_probability`, 0) AS `base_not_probability`,
    COALESCE(c.`brier_sum`, 0) AS `cur_brier_sum`,
    COALESCE(b.`brier_sum`, 0) AS `base_brier_sum`,
    COALESCE(c.`log_loss_sum`, 0) AS `cur_log_loss_sum`,
    COALESCE(b.`log_loss_sum`, 0) AS `base_log_loss_sum`,
    COALESCE(c.`ece_sum`, 0) AS `cur_ece_sum`,
    COALESCE(b.`ece_sum`, 0) AS `base_ece_sum`
  FROM (
    SELECT
      segment
    FROM segment_stats
    UNION DISTINCT
    SELECT
      'all'
  ) AS k
  LEFT JOIN segment_stats AS c
    ON c.segment = k.segment AND c.sample = 'cur'
  LEFT JOIN segment_stats AS b
    ON b.segment = k.segment AND b.sample = 'base'
), metric_rows AS (
  SELECT
    segment,
    'positive_rate' AS metric,
    cur_flagged * 1.0 / NULLIF(cur_scored, 0) AS value,
    cur_scored AS sample_size,
    base_flagged * 1.0 / NULLIF(base_scored, 0) AS baseline_value,
    base_scored AS baseline_size,
    CASE
      WHEN cur_flagged * 1.0 / NULLIF(cur_scored, 0) IS NULL
      THEN 'the window has no scored predictions'
    END AS reason,
    `cur_pos`,
    `base_pos`,
    `cur_neg`,
    `base_neg`
  FROM paired
), tested AS (
  SELECT
    *,
    CASE
      WHEN metric <> 'auc'
      THEN CASE
        WHEN value IS NULL OR baseline_value IS NULL
        THEN NULL
        WHEN value = baseline_value
        THEN 0.0
        ELSE (
          value - baseline_value
        ) / NULLIF(
          SQRT(
            (
              value * sample_size + baseline_value * baseline_size
            ) / (
              sample_size + baseline_size
            ) * (
              1 - (
                value * sample_size + baseline_value * baseline_size
              ) / (
                sample_size + baseline_size
              )
            ) * (
              1.0 / sample_size + 1.0 / baseline_size
            )
          ),
          0
        )
      END
      WHEN value IS NULL OR baseline_value IS NULL
      THEN NULL
      WHEN value = baseline_value
      THEN 0.0
      ELSE (
        value - baseline_value
      ) / NULLIF(
        SQRT(
          GREATEST(
            (
              pooled_auc * (
                1 - pooled_auc
              ) + (
                cur_pos - 1
              ) * (
                pooled_auc / (
                  2 - pooled_auc
                ) - pooled_auc * pooled_auc
              ) + (
                cur_neg - 1
              ) * (
                2 * pooled_auc * pooled_auc / (
                  1 + pooled_auc
                ) - pooled_auc * pooled_auc
              )
            ) / NULLIF(cur_pos * cur_neg, 0),
            0
          ) + GREATEST(
            (
              pooled_auc * (
                1 - pooled_auc
              ) + (
                base_pos - 1
              ) * (
                pooled_auc / (
                  2 - pooled_auc
                ) - pooled_auc * pooled_auc
              ) + (
                base_neg - 1
              ) * (
                2 * pooled_auc * pooled_auc / (
                  1 + pooled_auc
                ) - pooled_auc * pooled_auc
              )
            ) / NULLIF(base_pos * base_neg, 0),
            0
          )
        ),
        0
      )
    END AS statistic
  FROM (
    SELECT
      *,
      (
        value * cur_pos * cur_neg + baseline_value * base_pos * base_neg
      ) / NULLIF(cur_pos * cur_neg + base_pos * base_neg, 0) AS pooled_auc
    FROM metric_rows
  ) AS m
)
SELECT
  segment,
  '' AS feature,
  metric,
  value,
  sample_size,
  baseline_value,
  baseline_size,
  'z' AS test,
  statistic,
  reason,
  CASE
    WHEN NOT value IS NULL
    THEN TO_JSON_STRING(
      JSON_OBJECT(
        'delta',
        (
          value - baseline_value
        ),
        'interval',
        CASE WHEN metric = 'auc' THEN 'Hanley-McNeil 95%' ELSE 'Wilson 95%' END,
        'low',
        CASE
          WHEN value IS NULL OR sample_size = 0
          THEN NULL /* no division by zero on strict engines */
          WHEN metric = 'auc'
          THEN LEAST(
            1.0,
            GREATEST(
              0.0,
              value + -1 * 1.959963984540054 * SQRT(
                GREATEST(
                  (
                    value * (
                      1 - value
                    ) + (
                      cur_pos - 1
                    ) * (
                      value / (
                        2 - value
                      ) - value * value
                    ) + (
                      cur_neg - 1
                    ) * (
                      2 * value * value / (
                        1 + value
                      ) - value * value
                    )
                  ) / NULLIF(cur_pos * cur_neg, 0),
                  0
                )
              )
            )
          )
          ELSE LEAST(
            1.0,
            GREATEST(
              0.0,
              (
                value + 3.8414588206941254 / (
                  2.0 * sample_size
                ) + -1 * 1.959963984540054 * SQRT(
                  value * (
                    1 - value
                  ) / sample_size + 3.8414588206941254 / (
                    4.0 * sample_size * sample_size
                  )
                )
              ) / (
                1 + 3.8414588206941254 / sample_size
              )
            )
          )
        END,
        'high',
        CASE
          WHEN value IS NULL OR sample_size = 0
          THEN NULL /* no division by zero on strict engines */
          WHEN metric = 'auc'
          THEN LEAST(
            1.0,
            GREATEST(
              0.0,
              value + 1 * 1.959963984540054 * SQRT(
                GREATEST(
                  (
                    value * (
                      1 - value
                    ) + (
                      cur_pos - 1
                    ) * (
                      value / (
                        2 - value
                      ) - value * value
                    ) + (
                      cur_neg - 1
                    ) * (
                      2 * value * value / (
                        1 + value
                      ) - value * value
                    )
                  ) / NULLIF(cur_pos * cur_neg, 0),
                  0
                )
              )
            )
          )
          ELSE LEAST(
            1.0,
            GREATEST(
              0.0,
              (
                value + 3.8414588206941254 / (
                  2.0 * sample_size
                ) + 1 * 1.959963984540054 * SQRT(
                  value * (
                    1 - value
                  ) / sample_size + 3.8414588206941254 / (
                    4.0 * sample_size * sample_size
                  )
                )
              ) / (
                1 + 3.8414588206941254 / sample_size
              )
            )
          )
        END,
        'baseline_low',
        CASE
          WHEN baseline_value IS NULL OR baseline_size = 0
          THEN NULL /* no division by zero on strict engines */
          WHEN metric = 'auc'
          THEN LEAST(
            1.0,
            GREATEST(
              0.0,
              baseline_value + -1 * 1.959963984540054 * SQRT(
                GREATEST(
                  (
                    baseline_value * (
                      1 - baseline_value
                    ) + (
                      base_pos - 1
                    ) * (
                      baseline_value / (
                        2 - baseline_value
                      ) - baseline_value * baseline_value
                    ) + (
                      base_neg - 1
                    ) * (
                      2 * baseline_value * baseline_value / (
                        1 + baseline_value
                      ) - baseline_value * baseline_value
                    )
                  ) / NULLIF(base_pos * base_neg, 0),
                  0
                )
              )
            )
          )
          ELSE LEAST(
            1.0,
            GREATEST(
              0.0,
              (
                baseline_value + 3.8414588206941254 / (
                  2.0 * baseline_size
                ) + -1 * 1.959963984540054 * SQRT(
                  baseline_value * (
                    1 - baseline_value
                  ) / baseline_size + 3.8414588206941254 / (
                    4.0 * baseline_size * baseline_size
                  )
                )
              ) / (
                1 + 3.8414588206941254 / baseline_size
              )
            )
          )
        END,
        'baseline_high',
        CASE
          WHEN baseline_value IS NULL OR baseline_size = 0
          THEN NULL /* no division by zero on strict engines */
          WHEN metric = 'auc'
          THEN LEAST(
            1.0,
            GREATEST(
              0.0,
              baseline_value + 1 * 1.959963984540054 * SQRT(
                GREATEST(
                  (
                    baseline_value * (
                      1 - baseline_value
                    ) + (
                      base_pos - 1
                    ) * (
                      baseline_value / (
                        2 - baseline_value
                      ) - baseline_value * baseline_value
                    ) + (
                      base_neg - 1
                    ) * (
                      2 * baseline_value * baseline_value / (
                        1 + baseline_value
                      ) - baseline_value * baseline_value
                    )
                  ) / NULLIF(base_pos * base_neg, 0),
                  0
                )
              )
            )
          )
          ELSE LEAST(
            1.0,
            GREATEST(
              0.0,
              (
                baseline_value + 3.8414588206941254 / (
                  2.0 * baseline_size
                ) + 1 * 1.959963984540054 * SQRT(
                  baseline_value * (
                    1 - baseline_value
                  ) / baseline_size + 3.8414588206941254 / (
                    4.0 * baseline_size * baseline_size
                  )
                )
              ) / (
                1 + 3.8414588206941254 / baseline_size
              )
            )
          )
        END
      )
    )
  END AS detail /* (value − baseline_value) in parentheses: sqlglot reads a bare `value` after a */ /* key as JSON_OBJECT's KEY … VALUE syntax and drops it. */
FROM tested
ORDER BY
  segment NULLS LAST,
  metric NULLS LAST
