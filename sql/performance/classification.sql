/* ---
name: classification
family: performance
description: |
  Classification quality once the outcomes are known, overall and per slice.
  Slices come from `by`. Formulas and references: docs/metrics.md, "Performance".
  - Label metrics (accuracy, precision, recall, f1, fpr, base_rate, auc, log_loss,
    brier, ece) use the window's mature predictions only (ts + label_maturity <= the
    run's time) that have a 0/1 label and a score; a prediction is positive when
    score >= threshold. auc is exact: Mann–Whitney with ties counted ½ (mid-ranks).
    log_loss clips scores to [ε, 1 − ε], ε = 2⁻⁵²; ece uses `ece_bins` equal-width
    bins (k/B, (k+1)/B]: Σ_bins |Σ label − Σ score| / n.
  - positive_rate (score >= threshold) uses every scored prediction of the window.
  - label_coverage: labelled / mature, so a broken feedback pipeline shows instead
    of silently shrinking the sample.
  Each metric's sample_size is its denominator (precision: predicted positives;
  recall: actual positives). An undefined value (one class only, an empty window,
  scores outside [0, 1] for the probability metrics) is NULL with a reason.
  baseline_value/baseline_size: the same over the baseline, when the monitor has one.
params:
  threshold: {type: float, default: null, description: "a prediction is positive when score >= threshold (default: the model's thresholds for the monitor's role, else 0.5)"}
  by: {type: list[list[str]], default: [], description: "slices, e.g. [[country], [country, device]]"}
  ece_bins: {type: int, default: 10, description: "equal-width calibration bins on [0, 1]"}
  score_column: {type: str, default: score, description: "the model's score (a probability for log_loss, brier, ece)"}
  label_column: {type: str, default: label, description: "the outcome: 1 positive, 0 negative"}
metrics: [accuracy, precision, recall, f1, fpr, positive_rate, base_rate, auc, log_loss, brier, ece, label_coverage]
returns: [segment, feature, metric, value, sample_size, baseline_value, baseline_size, reason]
--- */
{%- if ece_bins < 1 %}{{ fail("ece_bins must be at least 1") }}{% endif %}
{%- set cut = threshold if threshold is not none else model.thresholds.get(role, 0.5) %}
{%- set samples = [('cur', 'current_window', score_column, cut)] %}
{%- if baseline is not none %}{% set samples = samples + [('base', 'baseline_window', score_column, cut)] %}{% endif %}
WITH
{{ window_ctes() }}
scored AS (
    {{ scored_rows(samples, by, label_column) }}
),
{{ classification_ctes(by, ['accuracy', 'precision', 'recall', 'f1', 'fpr', 'positive_rate', 'base_rate', 'auc', 'log_loss', 'brier', 'ece', 'label_coverage'], ece_bins, baseline is not none) }}
SELECT segment,
       '' AS feature,
       metric,
       value,
       sample_size,
       baseline_value,
       baseline_size,
       reason
FROM metric_rows
ORDER BY segment, metric
