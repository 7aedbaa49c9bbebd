/* ---
name: shadow_disagreement
family: shadow
description: |
  Production against shadow, request by request, overall and per slice.
  From shadow_pairs rows of the window (prediction time); formulas in docs/metrics.md,
  "Shadow vs production".
  - shadow_coverage: requests with both scores / production requests (a broken shadow
    deployment alerts); detail counts production-only and shadow-only requests, so no
    one-sided request goes unseen.
  - On the requests that both models scored (n): disagreement_rate, the share whose
    decision differs at each model's operating threshold (production: score >=
    threshold; shadow: score >= shadow_threshold; by default the model's `thresholds`
    in alerts.yaml, else 0.5, the shadow's falling back to production's), split into
    flip_to_positive (production no, shadow yes) and flip_to_negative.
  - mean_abs_delta, p95_abs_delta (linear interpolation, as numpy's default) and
    mean_delta of Δ = shadow − production score.
  - pearson, and spearman (Pearson of mid-ranks, ties averaged, computed in SQL);
    NULL with a reason when either model's scores are constant.
  With a baseline (time ranges of shadow_pairs), each row carries the baseline's value,
  and the rates a two-proportion z statistic (test z) for max_q_value rules, so "the
  models agree overall but disagree on one country" fires and names the country.
params:
  slices: {type: list[list[str]], default: [], description: "slice sets, e.g. [[country], [country, device]]; default: each of the model's slices alone"}
  threshold: {type: float, default: null, description: "production's operating threshold (default: the model's thresholds.production, else 0.5)"}
  shadow_threshold: {type: float, default: null, description: "the shadow's operating threshold (default: the model's thresholds.shadow, else production's)"}
metrics: [shadow_coverage, disagreement_rate, flip_to_positive, flip_to_negative, mean_abs_delta, p95_abs_delta, mean_delta, pearson, spearman]
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
{%- if not model.shadow_pairs %}{{ fail("shadow_disagreement needs the model's shadow_pairs table") }}{% endif %}
{{- paired_slices(slice_sets, model.slices) }}
{%- if baseline is not none and baseline.table %}{{ fail("shadow_disagreement compares time ranges of shadow_pairs: use a fixed, rolling or seasonal baseline") }}{% endif %}
{%- set prod_cut = threshold if threshold is not none else model.thresholds.get('production', 0.5) %}
{%- set shadow_cut = shadow_threshold if shadow_threshold is not none else model.thresholds.get('shadow', prod_cut) %}
{%- set samples = [('cur', [window])] + ([('base', baseline.ranges)] if baseline is not none else []) %}
{%- set rates = ['shadow_coverage', 'disagreement_rate', 'flip_to_positive', 'flip_to_negative'] %}
WITH
pairs AS (
    -- The window's requests ('cur') and the baseline's ('base'), one row each, with
    -- either side possibly missing.
    {%- for sample, ranges in samples %}
    {% if not loop.first %}UNION ALL
    {% endif -%}
    SELECT {{ sample | literal }} AS sample,
           {%- for c in cols %} {{ c | ident }},{% endfor %}
           has_production,
           has_shadow,
           {{ finite_double('prod_score') }} AS p,
           {{ finite_double('shadow_score') }} AS s
    FROM ({{ model_rows(model.shadow_pairs, model.name, ranges) }}) AS sample_pairs
    {%- endfor %}
),
segmented AS (
    -- One copy of each request per slice set (and 'all'): ranks and quantiles need
    -- the rows of each segment together. `paired` marks requests with two scores.
    {%- for seg in [[]] + slice_sets %}
    {% if not loop.first %}UNION ALL
    {% endif -%}
    SELECT sample, {{ segment_label(seg, segment_pools) }} AS segment, has_production, has_shadow, p, s,
           has_production AND has_shadow AND p IS NOT NULL AND s IS NOT NULL AS paired
    FROM pairs
    {%- endfor %}
),
ranked AS (
    -- Mid-ranks within each segment (ties get the mean of the ranks they span), for
    -- Spearman's ρ = Pearson's r of the ranks, as scipy.stats.spearmanr.
    SELECT *,
           RANK() OVER (PARTITION BY sample, segment, paired ORDER BY p)
               + (COUNT(*) OVER (PARTITION BY sample, segment, paired, p) - 1) / 2.0 AS rank_p,
           RANK() OVER (PARTITION BY sample, segment, paired ORDER BY s)
               + (COUNT(*) OVER (PARTITION BY sample, segment, paired, s) - 1) / 2.0 AS rank_s,
           -- For the 95th percentile of |s − p|: each delta's 0-based position in sorted
           -- order, and h = 0.95·(n − 1), the position the percentile sits at.
           ROW_NUMBER() OVER (PARTITION BY sample, segment, paired ORDER BY ABS(s - p)) - 1 AS delta_index,
           (COUNT(*) OVER (PARTITION BY sample, segment, paired) - 1) * CAST(0.95 AS DOUBLE) AS delta_h
    FROM segmented
),
segment_stats AS (
    SELECT sample, segment,
           COUNT(CASE WHEN has_production THEN 1 END) AS production,
           COUNT(CASE WHEN has_production AND NOT has_shadow THEN 1 END) AS production_only,
           COUNT(CASE WHEN has_shadow AND NOT has_production THEN 1 END) AS shadow_only,
           COUNT(CASE WHEN has_production AND has_shadow THEN 1 END) AS paired,
           COUNT(CASE WHEN paired THEN 1 END) AS compared,
           COUNT(CASE WHEN paired AND (p >= {{ prod_cut | literal }}) != (s >= {{ shadow_cut | literal }}) THEN 1 END) AS disagree,
           COUNT(CASE WHEN paired AND p < {{ prod_cut | literal }} AND s >= {{ shadow_cut | literal }} THEN 1 END) AS to_positive,
           COUNT(CASE WHEN paired AND p >= {{ prod_cut | literal }} AND s < {{ shadow_cut | literal }} THEN 1 END) AS to_negative,
           SUM(CASE WHEN paired THEN ABS(s - p) END) AS abs_delta_sum,
           SUM(CASE WHEN paired THEN s - p END) AS delta_sum,
           -- QUANTILE_CONT(|s − p|, 0.95), written out so that every engine computes it
           -- exactly (Spark and Trino only approximate percentiles): the sorted deltas at
           -- positions ⌊h⌋ and ⌊h⌋ + 1, interpolated linearly (Hyndman & Fan's type 7,
           -- numpy's default).
           MAX(CASE WHEN paired AND delta_index = FLOOR(delta_h) THEN ABS(s - p) END)
             + (MAX(CASE WHEN paired THEN delta_h END) - FLOOR(MAX(CASE WHEN paired THEN delta_h END)))
             * COALESCE(MAX(CASE WHEN paired AND delta_index = FLOOR(delta_h) + 1 THEN ABS(s - p) END)
                        - MAX(CASE WHEN paired AND delta_index = FLOOR(delta_h) THEN ABS(s - p) END), 0)
             AS p95_abs_delta,
           COUNT(DISTINCT CASE WHEN paired THEN p END) AS distinct_prod,
           COUNT(DISTINCT CASE WHEN paired THEN s END) AS distinct_shadow,
           CORR(CASE WHEN paired THEN s END, CASE WHEN paired THEN p END) AS pearson,
           CORR(CASE WHEN paired THEN rank_s END, CASE WHEN paired THEN rank_p END) AS spearman
    FROM ranked
    GROUP BY sample, segment
),
-- Every segment in every sample, the 'all' segment always (so an empty window says
-- so): a sample without rows in a segment counts 0.
sums AS (
    SELECT k.segment, s.sample,
           {%- for name in ['production', 'production_only', 'shadow_only', 'paired', 'compared', 'disagree', 'to_positive', 'to_negative', 'abs_delta_sum', 'delta_sum', 'p95_abs_delta', 'distinct_prod', 'distinct_shadow', 'pearson', 'spearman'] %}
           COALESCE(t.{{ name }}, 0) AS {{ name }}{{ ',' if not loop.last }}
           {%- endfor %}
    FROM (SELECT segment FROM segment_stats UNION SELECT 'all') AS k
    CROSS JOIN (VALUES {% for sample, _ in samples %}{{ ', ' if not loop.first }}({{ sample | literal }}){% endfor %}) AS s(sample)
    LEFT JOIN segment_stats AS t ON t.segment = k.segment AND t.sample = s.sample
),
-- Per sample, segment and metric: the value, its sample size (shadow_coverage counts
-- production requests, everything else the compared ones), and why it is undefined.
formulas AS (
    SELECT sample, segment, m.metric, production, production_only, shadow_only, paired,
           compared, distinct_prod,
           CASE m.metric
               WHEN 'shadow_coverage' THEN paired * 1.0 / NULLIF(production, 0)
               WHEN 'disagreement_rate' THEN disagree * 1.0 / NULLIF(compared, 0)
               WHEN 'flip_to_positive' THEN to_positive * 1.0 / NULLIF(compared, 0)
               WHEN 'flip_to_negative' THEN to_negative * 1.0 / NULLIF(compared, 0)
               WHEN 'mean_abs_delta' THEN abs_delta_sum / NULLIF(compared, 0)
               WHEN 'p95_abs_delta' THEN CASE WHEN compared > 0 THEN p95_abs_delta END
               WHEN 'mean_delta' THEN delta_sum / NULLIF(compared, 0)
               -- Correlation is undefined when either model's scores are constant.
               WHEN 'pearson' THEN CASE WHEN distinct_prod > 1 AND distinct_shadow > 1 THEN pearson END
               WHEN 'spearman' THEN CASE WHEN distinct_prod > 1 AND distinct_shadow > 1 THEN spearman END
           END AS value,
           CASE WHEN m.metric = 'shadow_coverage' THEN production ELSE compared END AS n
    FROM sums
    CROSS JOIN (VALUES ('shadow_coverage'), ('disagreement_rate'), ('flip_to_positive'),
                       ('flip_to_negative'), ('mean_abs_delta'), ('p95_abs_delta'),
                       ('mean_delta'), ('pearson'), ('spearman')) AS m(metric)
),
-- The window's value beside the baseline's (when the monitor has a baseline), and the
-- pooled proportion p̄ = (v₁n₁ + v₂n₂) / (n₁ + n₂) of the rates' z test.
side_by_side AS (
    SELECT c.segment, c.metric, c.value, c.n AS sample_size, b.value AS baseline_value,
           b.n AS baseline_size, c.production, c.compared, c.distinct_prod,
           c.paired, c.production_only, c.shadow_only,
           (c.value * c.n + b.value * b.n) / NULLIF(c.n + b.n, 0) AS pooled_rate
    FROM formulas AS c
    LEFT JOIN formulas AS b ON b.segment = c.segment AND b.metric = c.metric AND b.sample = 'base'
    WHERE c.sample = 'cur'
)
SELECT segment,
       '' AS feature,
       metric,
       value,
       sample_size,
       baseline_value,
       baseline_size,
       CASE WHEN metric IN ({{ rates | map('literal') | join(', ') }}) THEN 'z' END AS test,
       -- The rates' pooled two-proportion z, (v₁ − v₂) / √(p̄(1 − p̄)(1/n₁ + 1/n₂)):
       -- 0 when the rates are equal, NULL when either is undefined.
       CASE WHEN metric IN ({{ rates | map('literal') | join(', ') }}) THEN
           CASE WHEN value IS NULL OR baseline_value IS NULL THEN NULL
                WHEN value = baseline_value THEN 0.0
                ELSE (value - baseline_value) / NULLIF(SQRT(
                     pooled_rate * (1 - pooled_rate) * (1.0 / sample_size + 1.0 / baseline_size)), 0)
           END
       END AS statistic,
       CASE
           WHEN value IS NOT NULL THEN NULL
           WHEN production = 0 THEN 'no production request in the window'
           WHEN compared = 0 THEN 'no request has both a production and a shadow score'
           WHEN distinct_prod < 2 THEN 'production''s scores are constant: correlation is undefined'
           ELSE 'the shadow''s scores are constant: correlation is undefined'
       END AS reason,
       CASE WHEN metric = 'shadow_coverage' THEN json_object(
           'paired', paired, 'production_only', production_only, 'shadow_only', shadow_only
       ) END AS detail
FROM side_by_side
ORDER BY segment, metric
