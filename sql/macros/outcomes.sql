{#-
  Building blocks of the checks that compare two samples of predictions per segment
  (performance/, guardrails/, shadow/): the scored rows, the segment of a GROUPING
  SETS row, the metrics over both samples, and their tests. docs/metrics.md defines
  every metric.
-#}
{% from 'macros/segments.sql' import segment_label, distinct_slices %}
{% from 'macros/numbers.sql' import finite_double, clipped_ln %}
{% from 'macros/rows.sql' import in_ranges %}

{#- The model's shadow_pairs rows with `ts` in `ranges`. Slices must be among the
    model's `slices`: those are the columns dbt copies into shadow_pairs. -#}
{% macro shadow_pair_rows(ranges, slices) -%}
{%- set unpaired = slices | sum(start=[]) | unique | reject('in', model.slices) | list -%}
{%- if unpaired -%}
{{ fail("slices must be among the model's `slices` in alerts.yaml (dbt copies those into shadow_pairs, var slice_columns); not: " ~ unpaired | join(', ')) }}
{%- endif -%}
SELECT * FROM {{ model.shadow_pairs | table }}
WHERE {{ 'model_name' | ident }} = {{ model.name | literal }} AND {{ in_ranges(ranges) }}
{%- endmacro %}

{#- The relation `scored` that the outcome metrics read: one row per prediction with
    sample, the slice columns, score (DOUBLE; NaN/±inf as NULL), cut (the sample's
    operating threshold), label (DOUBLE) and mature (ts + label_maturity <= the run's
    time T, DESIGN.md "Time").
    `samples` lists (sample name, source relation, score column, threshold): ('cur',
    'current_window', 'score', 0.5) and ('base', 'baseline_window', 'score', 0.5)
    compare a window with its baseline; a shadow pair gives the same requests under two
    models, each at its own threshold. -#}
{% macro scored_rows(samples, slices, label_column) -%}
{%- set cols = slices | sum(start=[]) | unique | list -%}
{%- for sample, source, score_column, cut in samples %}
    {% if not loop.first %}UNION ALL
    {% endif -%}
    SELECT {{ sample | literal }} AS sample,
           {%- for c in cols %} {{ c | ident }},{% endfor %}
           {{ finite_double(score_column) }} AS score,
           CAST({{ cut | literal }} AS DOUBLE) AS cut,
           CAST({{ label_column | ident }} AS DOUBLE) AS label,
           ts <= {{ mature_before | literal }} AS mature
    FROM {{ source }}
{%- endfor %}
{%- endmacro %}

{#- The GROUPING SETS clause for `slices` (e.g. [[country], [country, device]]) plus the
    always-present 'all' set; `keys` are grouped in every set (e.g. sample, score). -#}
{% macro grouping_sets(slices, keys) -%}
GROUPING SETS (({{ keys | join(', ') }})
{%- for cols in slices %}, ({% for c in cols %}{{ c | ident }}, {% endfor %}{{ keys | join(', ') }}){% endfor %})
{%- endmacro %}

{#- The segment label of a row of a GROUPING SETS query: GROUPING(col) is 0 for the
    columns its set groups by, so the pattern of flags names the set. A NULL value in a
    grouped column is a real NULL: `col=<null>`. -#}
{% macro grouping_segment(slices) -%}
{%- set cols = slices | sum(start=[]) | unique | list -%}
{{- distinct_slices(slices) -}}
{%- if not slices -%}
'all'
{%- else -%}
CASE
{%- for set_cols in slices %}
        WHEN {% for c in cols %}{% if not loop.first %} AND {% endif %}GROUPING({{ c | ident }}) = {{ 0 if c in set_cols else 1 }}{% endfor %}
        THEN {{ segment_label(set_cols) }}
{%- endfor %}
        ELSE 'all'
    END
{%- endif -%}
{%- endmacro %}

{#- Binary classification metrics per segment, as the CTEs score_groups, ranked,
    calibration_bins (when `ece` is asked for), segment_stats, paired and `metric_rows`,
    each followed by a comma except the last. Reads `scored` (see scored_rows): label 1 is a positive, 0 a
    negative, anything else (NULL: no feedback yet) is unlabelled; only mature rows
    count as labelled. A prediction is positive when score >= its sample's cut.

    One GROUP BY GROUPING SETS pass reduces the rows to (sample, segment, distinct
    score) with counts; every metric is a sum over those groups, so each slice and
    metric costs no extra scan. metric_rows: segment, metric, value, sample_size,
    baseline_value, baseline_size (when `compared`; sample 'base'), reason, and the
    class counts cur_pos, cur_neg, base_pos, base_neg (for AUC's standard error). -#}
{% macro classification_ctes(slices, metrics, ece_bins, compared) -%}
{#- Per metric: (value, sample size, reason when undefined), over the per-segment sums
    below with @ for the sample's prefix (see compared_rows). The sample size is the
    metric's denominator: precision counts predicted positives, recall actual ones;
    auc the smaller class (one positive among thousands of negatives ranks nothing). -#}
{%- set not_mature = "'no prediction of the window has matured yet (ts + label_maturity <= run time)'" -%}
{%- set no_labels -%}
CASE WHEN @mature = 0 THEN {{ not_mature }}
     WHEN @labelled = 0 THEN 'no mature prediction has a 0/1 label (feedback missing?)'
     ELSE 'no mature labelled prediction has a score' END
{%- endset -%}
{%- set checked = "CASE WHEN @not_probability = 0 THEN @{0} * 1.0 / NULLIF(@pos + @neg, 0) END" -%}
{%- set not_probabilities = "COALESCE(CASE WHEN @not_probability > 0 THEN CAST(@not_probability AS VARCHAR) || ' labelled score(s) lie outside [0, 1]: not probabilities' END, " ~ no_labels ~ ")" -%}
{%- set defs = {
    'accuracy': ('(@tp + @neg - @fp) * 1.0 / NULLIF(@pos + @neg, 0)', '@pos + @neg', no_labels),
    'precision': ('@tp * 1.0 / NULLIF(@tp + @fp, 0)', '@tp + @fp',
        "CASE WHEN @pos + @neg = 0 THEN " ~ no_labels ~ " ELSE 'no mature labelled prediction scored at or above the threshold' END"),
    'recall': ('@tp * 1.0 / NULLIF(@pos, 0)', '@pos',
        "CASE WHEN @pos + @neg = 0 THEN " ~ no_labels ~ " ELSE 'no actual positive among the mature labelled predictions' END"),
    'f1': ('2.0 * @tp / NULLIF(@tp + @fp + @pos, 0)', '@pos + @neg',
        "CASE WHEN @pos + @neg = 0 THEN " ~ no_labels ~ " ELSE 'no positive, predicted or actual' END"),
    'fpr': ('@fp * 1.0 / NULLIF(@neg, 0)', '@neg',
        "CASE WHEN @pos + @neg = 0 THEN " ~ no_labels ~ " ELSE 'no actual negative among the mature labelled predictions' END"),
    'positive_rate': ('@flagged * 1.0 / NULLIF(@scored, 0)', '@scored', "'the window has no scored predictions'"),
    'base_rate': ('@pos * 1.0 / NULLIF(@pos + @neg, 0)', '@pos + @neg', no_labels),
    'auc': ('@auc_pairs * 1.0 / NULLIF(@pos * @neg, 0)', 'LEAST(@pos, @neg)',
        "CASE WHEN @pos + @neg = 0 THEN " ~ no_labels ~ " WHEN @pos = 0 THEN 'AUC is undefined: every mature labelled prediction is negative' ELSE 'AUC is undefined: every mature labelled prediction is positive' END"),
    'log_loss': (checked.format('log_loss_sum'), '@pos + @neg', not_probabilities),
    'brier': (checked.format('brier_sum'), '@pos + @neg', not_probabilities),
    'ece': (checked.format('ece_sum'), '@pos + @neg', not_probabilities),
    'label_coverage': ('@labelled * 1.0 / NULLIF(@mature, 0)', '@mature', not_mature),
} -%}
{%- set stats = ['scored', 'flagged', 'mature', 'labelled', 'other_labels', 'pos', 'neg', 'tp', 'fp', 'auc_pairs', 'not_probability', 'brier_sum', 'log_loss_sum', 'ece_sum'] -%}
score_groups AS (
    SELECT sample,
           {{ grouping_segment(slices) }} AS segment,
           cut,
           score,
           COUNT(*) AS n_rows,
           COUNT(CASE WHEN mature THEN 1 END) AS n_mature,
           COUNT(CASE WHEN mature AND label = 1 THEN 1 END) AS n_pos,
           COUNT(CASE WHEN mature AND label = 0 THEN 1 END) AS n_neg,
           COUNT(CASE WHEN mature AND label NOT IN (0, 1) THEN 1 END) AS n_other
    FROM scored
    GROUP BY {{ grouping_sets(slices, ['sample', 'cut', 'score']) }}
),
ranked AS (
    -- Negatives scored strictly below each distinct score. AUC is the Mann–Whitney
    -- statistic: the share of (positive, negative) pairs ranked right, a tie counting
    -- ½, which is the ROC curve's trapezoid area (mid-ranks for ties).
    SELECT *,
           COALESCE(SUM(n_neg) OVER (
               PARTITION BY sample, segment ORDER BY score NULLS LAST
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS neg_below
    FROM score_groups
),
{%- if 'ece' in metrics %}
calibration_bins AS (
    -- ECE's equal-width bins (k/B, (k+1)/B], the first closed at 0, as scikit-learn's
    -- calibration_curve: per bin, Σ label − Σ score; ECE = Σ_bins |gap| / n.
    SELECT sample, segment,
           CASE
           {%- for k in range(1, ece_bins) %}
               WHEN score <= {{ (k / ece_bins) | literal }} THEN {{ k - 1 }}
           {%- endfor %}
               ELSE {{ ece_bins - 1 }}
           END AS bin,
           SUM(n_pos - (n_pos + n_neg) * score) AS gap
    FROM score_groups
    WHERE score IS NOT NULL
    GROUP BY sample, segment, bin
),
{%- endif %}
segment_stats AS (
    SELECT r.sample, r.segment,
           SUM(CASE WHEN score IS NOT NULL THEN n_rows ELSE 0 END) AS scored,
           SUM(CASE WHEN score >= cut THEN n_rows ELSE 0 END) AS flagged,
           SUM(n_mature) AS mature,
           SUM(n_pos + n_neg) AS labelled,
           SUM(n_other) AS other_labels,
           SUM(CASE WHEN score IS NOT NULL THEN n_pos ELSE 0 END) AS pos,
           SUM(CASE WHEN score IS NOT NULL THEN n_neg ELSE 0 END) AS neg,
           SUM(CASE WHEN score >= cut THEN n_pos ELSE 0 END) AS tp,
           SUM(CASE WHEN score >= cut THEN n_neg ELSE 0 END) AS fp,
           SUM(CASE WHEN score IS NOT NULL THEN n_pos * (neg_below + 0.5 * n_neg) ELSE 0 END) AS auc_pairs,
           SUM(CASE WHEN score < 0 OR score > 1 THEN n_pos + n_neg ELSE 0 END) AS not_probability,
           -- Brier: Σ (score − label)²; log loss: −Σ ln(the score given to the true
           -- class), clipped to [ε, 1 − ε] with ε = 2⁻⁵² as scikit-learn does. The CASE
           -- is needed: GREATEST and LEAST skip a NULL score instead of returning NULL.
           SUM(n_pos * (1 - score) * (1 - score) + n_neg * score * score) AS brier_sum,
           -SUM(CASE WHEN score IS NOT NULL THEN
                n_pos * {{ clipped_ln('score') }} + n_neg * {{ clipped_ln('1 - score') }} END) AS log_loss_sum,
           {% if 'ece' in metrics %}MAX(e.ece_sum){% else %}CAST(NULL AS DOUBLE){% endif %} AS ece_sum
    FROM ranked AS r
    {%- if 'ece' in metrics %}
    LEFT JOIN (
        SELECT sample, segment, SUM(ABS(gap)) AS ece_sum FROM calibration_bins GROUP BY sample, segment
    ) AS e ON e.sample = r.sample AND e.segment = r.segment
    {%- endif %}
    GROUP BY r.sample, r.segment
),
{#- A label that is neither 0 nor 1 (-1/+1, a probability, a class id) means these are
    not binary outcomes: every label metric says so instead of reading them wrong. -#}
{%- set label_guard = "CASE WHEN @other_labels = 0 THEN {0} END" -%}
{%- set label_reason = "CASE WHEN @other_labels > 0 THEN CAST(@other_labels AS VARCHAR) || ' mature label(s) are neither 0 nor 1: the classification metrics need 0/1 labels' ELSE {0} END" -%}
{%- set checked_defs = {} -%}
{%- for name, (value, n, reason) in defs.items() -%}
{%- if name in ('positive_rate', 'label_coverage') -%}
{%- set _ = checked_defs.update({name: (value, n, reason)}) -%}
{%- else -%}
{%- set _ = checked_defs.update({name: (label_guard.format(value), n, label_reason.format(reason))}) -%}
{%- endif -%}
{%- endfor -%}
{{ compared_rows(checked_defs, metrics, stats, ['pos', 'neg'], compared) }}
{%- endmacro %}

{#- The CTEs `paired` and `metric_rows` from a CTE `segment_stats` (sample, segment, the
    sums named in `stats`): one row per segment and metric with value, sample_size,
    baseline_value, baseline_size (when `compared`: sample 'base'), reason, and the sums
    named in `carry` as cur_<name> and base_<name>. `defs` maps a metric to (value,
    sample size, reason when the value is NULL), SQL over the sums with @ for the
    sample's prefix, so each formula is written once for both samples. -#}
{% macro compared_rows(defs, metrics, stats, carry, compared) -%}
{%- set unknown = metrics | reject('in', defs) | list -%}
{%- if unknown -%}{{ fail("unknown metric(s) " ~ unknown | join(', ') ~ "; known: " ~ defs | sort | join(', ')) }}{%- endif -%}
paired AS (
    -- One row per segment, the window's sums (cur_) beside the baseline's (base_); the
    -- 'all' segment always exists, so an empty window says so.
    SELECT k.segment
           {%- for s in stats %},
           COALESCE(c.{{ s | ident }}, 0) AS {{ ('cur_' ~ s) | ident }}, COALESCE(b.{{ s | ident }}, 0) AS {{ ('base_' ~ s) | ident }}
           {%- endfor %}
    FROM (SELECT segment FROM segment_stats UNION SELECT 'all') AS k
    LEFT JOIN segment_stats AS c ON c.segment = k.segment AND c.sample = 'cur'
    LEFT JOIN segment_stats AS b ON b.segment = k.segment AND b.sample = 'base'
),
metric_rows AS (
{%- for name in metrics %}
{%- set value, n, reason = defs[name] %}
    {% if not loop.first %}UNION ALL
    {% endif -%}
    SELECT segment,
           {{ name | literal }} AS metric,
           {{ value | replace('@', 'cur_') }} AS value,
           {{ n | replace('@', 'cur_') }} AS sample_size,
           {% if compared %}{{ value | replace('@', 'base_') }}{% else %}CAST(NULL AS DOUBLE){% endif %} AS baseline_value,
           {% if compared %}{{ n | replace('@', 'base_') }}{% else %}CAST(NULL AS BIGINT){% endif %} AS baseline_size,
           CASE WHEN {{ value | replace('@', 'cur_') }} IS NULL THEN {{ reason | replace('@', 'cur_') }} END AS reason
           {%- for s in carry %}, {{ ('cur_' ~ s) | ident }}, {{ ('base_' ~ s) | ident }}{% endfor %}
    FROM paired
{%- endfor %}
)
{%- endmacro %}

{#- Hanley & McNeil (1982) variance of an AUC `a` from `pos` positives and `neg`
    negatives: (A(1−A) + (P−1)(Q₁−A²) + (N−1)(Q₂−A²)) / (P·N), Q₁ = A/(2−A),
    Q₂ = 2A²/(1+A). Each term is ≥ 0 for A in [0, 1]; GREATEST guards rounding. -#}
{% macro auc_variance(a, pos, neg) -%}
GREATEST(({{ a }} * (1 - {{ a }})
    + ({{ pos }} - 1) * ({{ a }} / (2 - {{ a }}) - {{ a }} * {{ a }})
    + ({{ neg }} - 1) * (2 * {{ a }} * {{ a }} / (1 + {{ a }}) - {{ a }} * {{ a }}))
    / NULLIF({{ pos }} * {{ neg }}, 0), 0)
{%- endmacro %}

{#- One end (`side` −1 low, +1 high) of a 95% interval for a metric row's value `v`
    with sample size `n`: Wilson's score interval for a rate,
    (v + z²/2n ± z·√(v(1−v)/n + z²/4n²)) / (1 + z²/n), and v ± z·SE (Hanley–McNeil)
    for auc, both clamped to [0, 1]; z = Φ⁻¹(0.975). NULL when n is 0. -#}
{% macro interval(v, n, pos, neg, side) -%}
{%- set z = 1.959963984540054 -%}
CASE WHEN {{ v }} IS NULL OR {{ n }} = 0 THEN NULL  -- no division by zero on strict engines
     WHEN metric = 'auc'
     THEN LEAST(1.0, GREATEST(0.0, {{ v }} + {{ side }} * {{ z }} * SQRT({{ auc_variance(v, pos, neg) }})))
     -- clamped to [0, 1]: at v = 0 or 1 rounding can step a hair outside
     ELSE LEAST(1.0, GREATEST(0.0,
          ({{ v }} + {{ z * z }} / (2.0 * {{ n }})
           + {{ side }} * {{ z }} * SQRT({{ v }} * (1 - {{ v }}) / {{ n }} + {{ z * z }} / (4.0 * {{ n }} * {{ n }})))
          / (1 + {{ z * z }} / {{ n }})))
END
{%- endmacro %}

{#- The two-proportion z statistic with the pooled proportion, for rates `v1` over `n1`
    against `v2` over `n2`: (v1 − v2) / √(p̄(1 − p̄)(1/n1 + 1/n2)), p̄ = (v1·n1 + v2·n2) /
    (n1 + n2). 0 when the rates are equal (also when p̄ is 0 or 1); NULL when either
    rate is undefined. Its two-sided p-value is the 2×2 χ² test's (test `z`). -#}
{% macro proportion_z(v1, n1, v2, n2) -%}
CASE WHEN {{ v1 }} IS NULL OR {{ v2 }} IS NULL THEN NULL
     WHEN {{ v1 }} = {{ v2 }} THEN 0.0
     ELSE ({{ v1 }} - {{ v2 }}) / NULLIF(SQRT(
          ({{ v1 }} * {{ n1 }} + {{ v2 }} * {{ n2 }}) / ({{ n1 }} + {{ n2 }})
          * (1 - ({{ v1 }} * {{ n1 }} + {{ v2 }} * {{ n2 }}) / ({{ n1 }} + {{ n2 }}))
          * (1.0 / {{ n1 }} + 1.0 / {{ n2 }})), 0)
END
{%- endmacro %}
