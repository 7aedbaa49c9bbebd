/* ---
name: score_comovement
family: shadow
description: |
  Does one model's score distribution move while the other's stays put? When the
  world changes both models see it, and their scores drift together; when one model
  (or its feature path) breaks, only its scores move. From shadow_pairs: the requests
  both models scored with a finite score, in the window and in the baseline, so the
  two models are measured on exactly the same traffic (shadow_disagreement counts the
  one-sided requests).
  - Per model (feature = production | shadow), its scores in the window against its
    own scores in the baseline, per segment, computed as drift/numeric_drift computes
    them (same bins, frozen per monitor, same formulas; docs/metrics.md "Drift"):
    psi (baseline-quantile bins, Jeffreys-smoothed), js_distance, ks (exact, with
    Smirnov's asymptotic p-value, test ks), wasserstein (W1, in score units) and
    mean_shift_std ((mean_cur − mean_base) / σ_base).
  - The gap (feature ''): psi_gap, ks_gap, mean_shift_gap = the shadow's value minus
    production's. Near 0 when both moved alike or neither did; positive when the
    shadow moved more, negative when production did. Alert on it with direction: both;
    detail holds both models' values.
params:
  slices: {type: list[list[str]], default: [], description: "slice sets, e.g. [[country], [country, device]]; default: each of the model's slices alone"}
  bins: {type: int, default: 10, description: number of baseline-quantile bins for psi and js_distance}
metrics: [psi, js_distance, ks, wasserstein, mean_shift_std, psi_gap, ks_gap, mean_shift_gap]
returns: [segment, feature, metric, value, sample_size, baseline_value, baseline_size, p_value, test, reason, histogram, detail]
--- */
{%- set slice_sets = slices or (model.slices | batch(1) | list) %}
{{- distinct_slices(slice_sets) }}
{%- set cols = slice_sets | sum(start=[]) | unique | list %}
{%- if bins < 2 %}{{ fail("score_comovement: bins must be at least 2") }}{% endif %}
{%- if not model.shadow_pairs %}{{ fail("score_comovement needs the model's shadow_pairs table") }}{% endif %}
{%- if baseline is none or baseline.table %}{{ fail("score_comovement compares time ranges of shadow_pairs: set a fixed, rolling or seasonal baseline") }}{% endif %}
{%- set per_model = ['psi', 'js_distance', 'ks', 'wasserstein', 'mean_shift_std'] %}
{%- set gaps = ['psi', 'ks', 'mean_shift_std'] %}
WITH
{%- for cte, ranges in [('current_window', [window]), ('baseline_window', baseline.ranges)] %}
{{ cte }} AS (
    -- Requests both models scored; `production` and `shadow` are their scores, as the
    -- two "columns" whose drift is measured.
    SELECT {% for c in cols %}{{ c | ident }}, {% endfor %}production, shadow
    FROM (
        SELECT {% for c in cols %}{{ c | ident }}, {% endfor %}
               {{ finite_double('prod_score') }} AS production,
               {{ finite_double('shadow_score') }} AS shadow
        FROM ({{ shadow_pair_rows(ranges, slice_sets) }}) AS sample_pairs
        WHERE has_production AND has_shadow
    ) AS scores
    WHERE production IS NOT NULL AND shadow IS NOT NULL
),
{%- endfor %}
{{ numeric_drift_ctes(['production', 'shadow'], slice_sets, bins) }},
gap_rows AS (
    SELECT p.segment,
           '' AS feature,
           {%- set metric_of = {'psi': 'psi_gap', 'ks': 'ks_gap', 'mean_shift_std': 'mean_shift_gap'} %}
           CASE p.metric {% for m in gaps %}WHEN {{ m | literal }} THEN {{ metric_of[m] | literal }} {% endfor %}END AS metric,
           s.value - p.value AS value,
           p.sample_size,
           CAST(NULL AS DOUBLE) AS baseline_value,
           p.baseline_size,
           CAST(NULL AS DOUBLE) AS p_value,
           CAST(NULL AS VARCHAR) AS test,
           COALESCE('production: ' || p.reason, 'shadow: ' || s.reason) AS reason,
           CAST(NULL AS VARCHAR) AS histogram,
           json_object('production', p.value, 'shadow', s.value) AS detail
    FROM metric_rows AS p
    JOIN metric_rows AS s ON s.segment = p.segment AND s.metric = p.metric
    WHERE p.feature = 'production' AND s.feature = 'shadow'
      AND p.metric IN ({{ gaps | map('literal') | join(', ') }})
)
SELECT segment, feature, metric, value, sample_size, baseline_value, baseline_size,
       p_value, test, reason, CAST(histogram AS VARCHAR) AS histogram,
       CAST(NULL AS VARCHAR) AS detail
FROM metric_rows
WHERE metric IN ({{ per_model | map('literal') | join(', ') }})
UNION ALL
SELECT segment, feature, metric, value, sample_size, baseline_value, baseline_size,
       p_value, test, reason, histogram, CAST(detail AS VARCHAR)
FROM gap_rows
ORDER BY segment, feature, metric
