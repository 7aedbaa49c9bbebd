WITH requests AS (
  /* The window's requests both models scored, with the shared outcome. */
  SELECT
    `country`,
    has_production AND has_shadow AS both_sides,
    CASE
      WHEN (
        NOT CAST(`prod_score` AS DOUBLE) IN (CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE), CAST('NaN' AS DOUBLE))
      )
      THEN CAST(`prod_score` AS DOUBLE)
    END AS p,
    CASE
      WHEN (
        NOT CAST(`shadow_score` AS DOUBLE) IN (CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE), CAST('NaN' AS DOUBLE))
      )
      THEN CAST(`shadow_score` AS DOUBLE)
    END AS s,
    CAST(label AS DOUBLE) AS label,
    ts <= CAST('2026-10-08 06:00:00.000000' AS TIMESTAMP_NTZ) AS mature
  FROM (
    SELECT
      *
    FROM `shadow_pairs`
    WHERE
      `model_name` = 'fraud'
      AND (
        (
          ts >= CAST('2026-10-01 00:00:00.000000' AS TIMESTAMP_NTZ)
          AND ts < CAST('2026-10-08 00:00:00.000000' AS TIMESTAMP_NTZ)
        )
      )
  ) AS window_pairs
), segmented AS (
  /* One copy of each usable request per slice set (and 'all'): the placements below */
  /* rank within a segment. `usable`: both scores, mature, a 0/1 label. */
  SELECT
    'all' AS segment,
    p,
    s,
    label,
    mature,
    both_sides,
    both_sides AND mature AND NOT p IS NULL AND NOT s IS NULL AND label IN (0, 1) AS usable
  FROM requests
  UNION ALL
  SELECT
    'country=' || COALESCE(CAST(`country` AS STRING), '<null>') AS segment,
    p,
    s,
    label,
    mature,
    both_sides,
    both_sides AND mature AND NOT p IS NULL AND NOT s IS NULL AND label IN (0, 1) AS usable
  FROM requests
), placed AS (
  /* DeLong's structural components, per model: a positive's placement is the share of */
  /* negatives it outranks (a tie counts ½), a negative's the share of positives that */
  /* outrank it. Their means are the AUC. Counts come from running sums over the */
  /* segment sorted by each model's score; RANGE frames take in tied scores. */
  SELECT
    segment,
    p,
    s,
    label,
    CASE
      WHEN label = 1
      THEN (
        SUM(1 - label) OVER (
          PARTITION BY segment
          ORDER BY p NULLS LAST
          RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) - CAST(0.5 AS DOUBLE) * SUM(1 - label) OVER (PARTITION BY segment, p)
      ) / NULLIF(SUM(1 - label) OVER (PARTITION BY segment), 0)
      ELSE (
        SUM(label) OVER (
          PARTITION BY segment
          ORDER BY p NULLS LAST
          RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING
        ) - CAST(0.5 AS DOUBLE) * SUM(label) OVER (PARTITION BY segment, p)
      ) / NULLIF(SUM(label) OVER (PARTITION BY segment), 0)
    END AS `place_p`,
    CASE
      WHEN label = 1
      THEN (
        SUM(1 - label) OVER (
          PARTITION BY segment
          ORDER BY s NULLS LAST
          RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) - CAST(0.5 AS DOUBLE) * SUM(1 - label) OVER (PARTITION BY segment, s)
      ) / NULLIF(SUM(1 - label) OVER (PARTITION BY segment), 0)
      ELSE (
        SUM(label) OVER (
          PARTITION BY segment
          ORDER BY s NULLS LAST
          RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING
        ) - CAST(0.5 AS DOUBLE) * SUM(label) OVER (PARTITION BY segment, s)
      ) / NULLIF(SUM(label) OVER (PARTITION BY segment), 0)
    END AS `place_s`,
    -LN(
      LEAST(
        GREATEST(CASE WHEN label = 1 THEN p ELSE 1 - p END, 2.220446049250313e-16),
        1 - 2.220446049250313e-16
      )
    ) AS loss_p,
    -LN(
      LEAST(
        GREATEST(CASE WHEN label = 1 THEN s ELSE 1 - s END, 2.220446049250313e-16),
        1 - 2.220446049250313e-16
      )
    ) AS loss_s
  FROM segmented
  WHERE
    usable
), segment_stats AS (
  SELECT
    k.segment,
    COALESCE(u.mature_pairs, 0) AS mature_pairs,
    COALESCE(x.n, 0) AS n,
    COALESCE(x.pos, 0) AS pos,
    COALESCE(x.neg, 0) AS neg,
    x.correct_p,
    x.correct_s,
    x.wins,
    x.losses,
    x.auc_p,
    x.auc_s,
    x.var_pos,
    x.var_neg,
    x.loss_p,
    x.loss_s,
    x.loss_diff_mean,
    x.loss_diff_sd,
    x.not_probability
  FROM (
    SELECT DISTINCT
      segment
    FROM segmented
    UNION
    SELECT
      'all'
  ) AS k
  LEFT JOIN (
    SELECT
      segment,
      COUNT(CASE WHEN both_sides AND mature THEN 1 END) AS mature_pairs
    FROM segmented
    GROUP BY
      segment
  ) AS u
    ON u.segment = k.segment
  LEFT JOIN (
    SELECT
      segment,
      COUNT(*) AS n,
      COUNT(CASE WHEN label = 1 THEN 1 END) AS pos,
      COUNT(CASE WHEN label = 0 THEN 1 END) AS neg,
      COUNT(CASE WHEN (
        p >= CAST(0.5 AS DOUBLE)
      ) = (
        label = 1
      ) THEN 1 END) AS correct_p,
      COUNT(CASE WHEN (
        s >= CAST(0.5 AS DOUBLE)
      ) = (
        label = 1
      ) THEN 1 END) AS correct_s,
      COUNT(
        CASE
          WHEN (
            s >= CAST(0.5 AS DOUBLE)
          ) = (
            label = 1
          )
          AND (
            p >= CAST(0.5 AS DOUBLE)
          ) <> (
            label = 1
          )
          THEN 1
        END
      ) AS wins,
      COUNT(
        CASE
          WHEN (
            p >= CAST(0.5 AS DOUBLE)
          ) = (
            label = 1
          )
          AND (
            s >= CAST(0.5 AS DOUBLE)
          ) <> (
            label = 1
          )
          THEN 1
        END
      ) AS losses,
      AVG(CASE WHEN label = 1 THEN place_p END) AS auc_p,
      AVG(CASE WHEN label = 1 THEN place_s END) AS auc_s,
      VARIANCE(CASE WHEN label = 1 THEN place_s - place_p END) AS var_pos, /* Var of the paired difference of placements, per class (sample variance). */
      VARIANCE(CASE WHEN label = 0 THEN place_s - place_p END) AS var_neg,
      AVG(loss_p) AS loss_p,
      AVG(loss_s) AS loss_s,
      AVG(loss_s - loss_p) AS loss_diff_mean,
      STDDEV_SAMP(loss_s - loss_p) AS loss_diff_sd,
      COUNT(CASE WHEN p < 0 OR p > 1 OR s < 0 OR s > 1 THEN 1 END) AS not_probability
    FROM placed
    GROUP BY
      segment
  ) AS x
    ON x.segment = k.segment
), metric_rows AS (
  SELECT
    segment,
    m.metric,
    CASE m.metric
      WHEN 'accuracy'
      THEN correct_s * CAST(1.0 AS DOUBLE) / NULLIF(n, 0)
      WHEN 'auc'
      THEN CASE WHEN pos > 0 AND neg > 0 THEN auc_s END
      WHEN 'log_loss'
      THEN CASE WHEN not_probability = 0 THEN loss_s END
      WHEN 'wins'
      THEN CAST(wins AS DOUBLE)
      WHEN 'losses'
      THEN CAST(losses AS DOUBLE)
      WHEN 'win_rate'
      THEN wins * CAST(1.0 AS DOUBLE) / NULLIF(wins + losses, 0)
    END AS value,
    CASE m.metric
      WHEN 'auc'
      THEN LEAST(pos, neg)
      WHEN 'win_rate'
      THEN COALESCE(wins + losses, 0)
      ELSE n
    END AS sample_size,
    CASE m.metric
      WHEN 'accuracy'
      THEN correct_p * CAST(1.0 AS DOUBLE) / NULLIF(n, 0)
      WHEN 'auc'
      THEN CASE WHEN pos > 0 AND neg > 0 THEN auc_p END
      WHEN 'log_loss'
      THEN CASE WHEN not_probability = 0 THEN loss_p END
    END AS baseline_value,
    CASE
      WHEN m.metric IN ('accuracy', 'auc', 'log_loss')
      THEN CASE m.metric WHEN 'auc' THEN LEAST(pos, neg) ELSE n END
    END AS baseline_size,
    CASE m.metric
      WHEN 'auc'
      THEN 'z'
      WHEN 'log_loss'
      THEN 'z'
      WHEN 'win_rate'
      THEN 'mcnemar'
    END AS test,
    CASE m.metric
      WHEN 'auc'
      THEN CASE
        WHEN auc_s = auc_p
        THEN CAST(0.0 AS DOUBLE)
        ELSE (
          auc_s - auc_p
        ) / NULLIF(SQRT(var_pos / pos + var_neg / neg), 0)
      END
      WHEN 'log_loss'
      THEN CASE
        WHEN loss_diff_mean = 0
        THEN CAST(0.0 AS DOUBLE)
        ELSE loss_diff_mean / NULLIF(loss_diff_sd / SQRT(n), 0)
      END
      WHEN 'win_rate'
      THEN CAST(wins AS DOUBLE)
    END AS statistic,
    CASE
      WHEN n = 0 AND mature_pairs = 0
      THEN 'no request of the window with both scores has matured yet (ts + label_maturity <= run time)'
      WHEN n = 0
      THEN 'no mature request with both scores has a 0/1 label (feedback missing?)'
      WHEN m.metric = 'auc' AND pos = 0
      THEN 'AUC is undefined: every labelled request is negative'
      WHEN m.metric = 'auc' AND neg = 0
      THEN 'AUC is undefined: every labelled request is positive'
      WHEN m.metric = 'log_loss' AND not_probability > 0
      THEN CAST(not_probability AS STRING) || ' request(s) have a score outside [0, 1]: not probabilities'
      WHEN m.metric = 'win_rate' AND wins + losses = 0
      THEN 'the models decide every labelled request alike'
    END AS reason,
    CASE
      WHEN m.metric = 'win_rate'
      THEN TO_JSON(NAMED_STRUCT('wins', wins, 'losses', losses), MAP('ignoreNullFields', 'false'))
    END AS detail
  FROM segment_stats
  CROSS JOIN VALUES
    ('accuracy'),
    ('auc'),
    ('log_loss'),
    ('wins'),
    ('losses'),
    ('win_rate') AS m(metric)
)
SELECT
  segment,
  '' AS feature,
  metric,
  value,
  sample_size,
  baseline_value,
  baseline_size,
  test,
  CASE WHEN NOT value IS NULL THEN statistic END AS statistic, /* No test without a value: an undefined statistic is not evidence. */
  CASE WHEN value IS NULL THEN reason END AS reason,
  CAST(detail AS STRING) AS detail
FROM metric_rows
ORDER BY
  segment NULLS LAST,
  metric NULLS LAST
