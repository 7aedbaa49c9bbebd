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
{% from 'macros/clipped_ln.sql' import clipped_ln with context %}
{% from 'macros/compared_rows.sql' import compared_rows with context %}
{% from 'macros/grouping_segment.sql' import grouping_segment with context %}
{% from 'macros/grouping_sets.sql' import grouping_sets with context %}
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
