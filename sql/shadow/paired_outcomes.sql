/* ---
name: paired_outcomes
family: shadow
description: |
  Which model is right more often, on the same requests? From shadow_pairs: the
  window's requests that both models scored with a finite score and that have matured
  (ts <= T − label_maturity) with a 0/1 label, overall and per slice. value is the
  shadow's, baseline_value production's, both over the same n requests. Formulas and
  references in docs/metrics.md, "Paired outcomes".
  - accuracy: share decided right at each model's operating threshold (the model's
    `thresholds`, else 0.5; params override).
  - auc: Mann–Whitney AUC (ties ½) of each model; statistic (test z): DeLong's paired
    test, z = (A_s − A_p) / √(Var[V10_s − V10_p]/P + Var[V01_s − V01_p]/N) over the
    structural components (placements) of the positives and negatives (DeLong, DeLong
    & Clarke-Pearson 1988, Biometrics 44:837), which counts the correlation of two
    models scoring the same requests.
  - log_loss: mean −ln p(true class), scores clipped to [2⁻⁵², 1 − 2⁻⁵²]; statistic
    (test z): the paired z of the per-request differences d = loss_s − loss_p,
    mean(d) / (sd(d)/√n) (= scipy.stats.ttest_rel's t, read on the normal).
  - wins, losses: requests only the shadow decided right, and only production did.
  - win_rate: wins / (wins + losses), over the discordant requests; test mcnemar:
    McNemar's test, exact two-sided binomial (p = ½) below 25 discordant requests,
    else the χ²(1) statistic (wins − losses)² / (wins + losses) (McNemar 1947;
    Fagerland, Lydersen & Laake 2013 on the uncorrected asymptotic test), computed by
    the runner from statistic = wins and sample_size.
  Undefined values are NULL with a reason: nothing mature or labelled, one class only
  (auc), scores outside [0, 1] (log_loss), no discordant request (win_rate).
params:
  slices: {type: list[list[str]], default: [], description: "slice sets, e.g. [[country], [country, device]]; default: each of the model's slices alone"}
  threshold: {type: float, default: null, description: "production's operating threshold (default: the model's thresholds.production, else 0.5)"}
  shadow_threshold: {type: float, default: null, description: "the shadow's operating threshold (default: the model's thresholds.shadow, else production's)"}
metrics: [accuracy, auc, log_loss, wins, losses, win_rate]
returns: [segment, feature, metric, value, sample_size, baseline_value, baseline_size, test, statistic, reason, detail]
--- */
{#- Helpers (sql/macros/): the model's rows in a time range, segment labels, NaN and
    ±inf as missing, and the checks of the slice columns. -#}
{%- from 'macros/model_rows.sql' import model_rows %}
{%- from 'macros/segment_label.sql' import segment_label %}
{%- from 'macros/finite_double.sql' import finite_double %}
{%- from 'macros/distinct_slices.sql' import distinct_slices %}
{%- from 'macros/paired_slices.sql' import paired_slices %}
{%- set slice_sets = slices or (model.slices | batch(1) | list) %}
{{- distinct_slices(slice_sets) }}
{%- set cols = slice_sets | sum(start=[]) | unique | list %}
{%- if not model.shadow_pairs %}{{ fail("paired_outcomes needs the model's shadow_pairs table") }}{% endif %}
{{- paired_slices(slice_sets, model.slices) }}
{%- set prod_cut = threshold if threshold is not none else model.thresholds.get('production', 0.5) %}
{%- set shadow_cut = shadow_threshold if shadow_threshold is not none else model.thresholds.get('shadow', prod_cut) %}
WITH
requests AS (
    -- The window's requests both models scored, with the shared outcome.
    SELECT {% for c in cols %}{{ c | ident }}, {% endfor %}
           has_production AND has_shadow AS both_sides,
           {{ finite_double('prod_score') }} AS p,
           {{ finite_double('shadow_score') }} AS s,
           CAST(label AS DOUBLE) AS label,
           ts <= {{ mature_before | literal }} AS mature
    FROM ({{ model_rows(model.shadow_pairs, model.name, [window]) }}) AS window_pairs
),
segmented AS (
    -- One copy of each usable request per slice set (and 'all'): the placements below
    -- rank within a segment. `usable`: both scores, mature, a 0/1 label.
    {%- for seg in [[]] + slice_sets %}
    {% if not loop.first %}UNION ALL
    {% endif -%}
    SELECT {{ segment_label(seg, segment_pools) }} AS segment, p, s, label, mature, both_sides,
           both_sides AND mature AND p IS NOT NULL AND s IS NOT NULL AND label IN (0, 1) AS usable
    FROM requests
    {%- endfor %}
),
placed AS (
    -- DeLong's structural components, per model: a positive's placement is the share of
    -- negatives it outranks (a tie counts ½), a negative's the share of positives that
    -- outrank it. Their means are the AUC. Counts come from running sums over the
    -- segment sorted by each model's score; RANGE frames take in tied scores.
    SELECT segment, p, s, label,
           {%- for m in ['p', 's'] %}
           CASE WHEN label = 1
                THEN (SUM(1 - label) OVER (PARTITION BY segment ORDER BY {{ m }} RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
                      - 0.5 * SUM(1 - label) OVER (PARTITION BY segment, {{ m }})) / NULLIF(SUM(1 - label) OVER (PARTITION BY segment), 0)
                ELSE (SUM(label) OVER (PARTITION BY segment ORDER BY {{ m }} RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)
                      - 0.5 * SUM(label) OVER (PARTITION BY segment, {{ m }})) / NULLIF(SUM(label) OVER (PARTITION BY segment), 0)
           END AS {{ ('place_' ~ m) | ident }},
           {%- endfor %}
           -- Each model's loss, −ln(the score given to the true class), clipped to
           -- [ε, 1 − ε] with ε = 2⁻⁵² as scikit-learn's log_loss clips.
           -LN(LEAST(GREATEST(CASE WHEN label = 1 THEN p ELSE 1 - p END, 2.220446049250313e-16), 1 - 2.220446049250313e-16)) AS loss_p,
           -LN(LEAST(GREATEST(CASE WHEN label = 1 THEN s ELSE 1 - s END, 2.220446049250313e-16), 1 - 2.220446049250313e-16)) AS loss_s
    FROM segmented
    WHERE usable
),
segment_stats AS (
    SELECT k.segment,
           COALESCE(u.mature_pairs, 0) AS mature_pairs,
           COALESCE(x.n, 0) AS n,
           COALESCE(x.pos, 0) AS pos,
           COALESCE(x.neg, 0) AS neg,
           x.correct_p, x.correct_s, x.wins, x.losses,
           x.auc_p, x.auc_s, x.var_pos, x.var_neg,
           x.loss_p, x.loss_s, x.loss_diff_mean, x.loss_diff_sd, x.not_probability
    FROM (SELECT DISTINCT segment FROM segmented UNION SELECT 'all') AS k
    LEFT JOIN (
        SELECT segment, COUNT(CASE WHEN both_sides AND mature THEN 1 END) AS mature_pairs
        FROM segmented GROUP BY segment
    ) AS u ON u.segment = k.segment
    LEFT JOIN (
        SELECT segment,
               COUNT(*) AS n,
               COUNT(CASE WHEN label = 1 THEN 1 END) AS pos,
               COUNT(CASE WHEN label = 0 THEN 1 END) AS neg,
               COUNT(CASE WHEN (p >= {{ prod_cut | literal }}) = (label = 1) THEN 1 END) AS correct_p,
               COUNT(CASE WHEN (s >= {{ shadow_cut | literal }}) = (label = 1) THEN 1 END) AS correct_s,
               COUNT(CASE WHEN (s >= {{ shadow_cut | literal }}) = (label = 1) AND (p >= {{ prod_cut | literal }}) != (label = 1) THEN 1 END) AS wins,
               COUNT(CASE WHEN (p >= {{ prod_cut | literal }}) = (label = 1) AND (s >= {{ shadow_cut | literal }}) != (label = 1) THEN 1 END) AS losses,
               AVG(CASE WHEN label = 1 THEN place_p END) AS auc_p,
               AVG(CASE WHEN label = 1 THEN place_s END) AS auc_s,
               -- Var of the paired difference of placements, per class (sample variance).
               VAR_SAMP(CASE WHEN label = 1 THEN place_s - place_p END) AS var_pos,
               VAR_SAMP(CASE WHEN label = 0 THEN place_s - place_p END) AS var_neg,
               AVG(loss_p) AS loss_p,
               AVG(loss_s) AS loss_s,
               AVG(loss_s - loss_p) AS loss_diff_mean,
               STDDEV_SAMP(loss_s - loss_p) AS loss_diff_sd,
               COUNT(CASE WHEN p < 0 OR p > 1 OR s < 0 OR s > 1 THEN 1 END) AS not_probability
        FROM placed
        GROUP BY segment
    ) AS x ON x.segment = k.segment
),
metric_rows AS (
    SELECT segment, m.metric,
           CASE m.metric
               WHEN 'accuracy' THEN correct_s * 1.0 / NULLIF(n, 0)
               WHEN 'auc' THEN CASE WHEN pos > 0 AND neg > 0 THEN auc_s END
               WHEN 'log_loss' THEN CASE WHEN not_probability = 0 THEN loss_s END
               WHEN 'wins' THEN CAST(wins AS DOUBLE)
               WHEN 'losses' THEN CAST(losses AS DOUBLE)
               WHEN 'win_rate' THEN wins * 1.0 / NULLIF(wins + losses, 0)
           END AS value,
           CASE m.metric
               WHEN 'auc' THEN LEAST(pos, neg)
               WHEN 'win_rate' THEN COALESCE(wins + losses, 0)
               ELSE n
           END AS sample_size,
           CASE m.metric
               WHEN 'accuracy' THEN correct_p * 1.0 / NULLIF(n, 0)
               WHEN 'auc' THEN CASE WHEN pos > 0 AND neg > 0 THEN auc_p END
               WHEN 'log_loss' THEN CASE WHEN not_probability = 0 THEN loss_p END
           END AS baseline_value,
           CASE WHEN m.metric IN ('accuracy', 'auc', 'log_loss') THEN
               CASE m.metric WHEN 'auc' THEN LEAST(pos, neg) ELSE n END
           END AS baseline_size,
           CASE m.metric
               WHEN 'auc' THEN 'z'
               WHEN 'log_loss' THEN 'z'
               WHEN 'win_rate' THEN 'mcnemar'
           END AS test,
           CASE m.metric
               -- Equal AUCs, or equal losses on every request: no difference, z = 0.
               WHEN 'auc' THEN CASE WHEN auc_s = auc_p THEN 0.0
                   ELSE (auc_s - auc_p) / NULLIF(SQRT(var_pos / pos + var_neg / neg), 0) END
               WHEN 'log_loss' THEN CASE WHEN loss_diff_mean = 0 THEN 0.0
                   ELSE loss_diff_mean / NULLIF(loss_diff_sd / SQRT(n), 0) END
               WHEN 'win_rate' THEN CAST(wins AS DOUBLE)
           END AS statistic,
           CASE
               WHEN n = 0 AND mature_pairs = 0 THEN 'no request of the window with both scores has matured yet (ts + label_maturity <= run time)'
               WHEN n = 0 THEN 'no mature request with both scores has a 0/1 label (feedback missing?)'
               WHEN m.metric = 'auc' AND pos = 0 THEN 'AUC is undefined: every labelled request is negative'
               WHEN m.metric = 'auc' AND neg = 0 THEN 'AUC is undefined: every labelled request is positive'
               WHEN m.metric = 'log_loss' AND not_probability > 0
                   THEN CAST(not_probability AS VARCHAR) || ' request(s) have a score outside [0, 1]: not probabilities'
               WHEN m.metric = 'win_rate' AND wins + losses = 0 THEN 'the models decide every labelled request alike'
           END AS reason,
           CASE WHEN m.metric = 'win_rate' THEN json_object('wins', wins, 'losses', losses) END AS detail
    FROM segment_stats
    CROSS JOIN (VALUES ('accuracy'), ('auc'), ('log_loss'), ('wins'), ('losses'), ('win_rate')) AS m(metric)
)
SELECT segment,
       '' AS feature,
       metric,
       value,
       sample_size,
       baseline_value,
       baseline_size,
       test,
       -- No test without a value: an undefined statistic is not evidence.
       CASE WHEN value IS NOT NULL THEN statistic END AS statistic,
       CASE WHEN value IS NULL THEN reason END AS reason,
       CAST(detail AS VARCHAR) AS detail
FROM metric_rows
ORDER BY segment, metric
