/* ---
name: test_traffic_share
family: quality
description: |
  Synthetic and test requests mixed into production traffic skew every other metric.
  - test_traffic_share: share of the window's rows whose boolean `column` is TRUE
    (NULL counts as not test). baseline_value: the baseline's share, when the monitor
    has a baseline.
  An empty window is NULL with a reason.
params:
  column: {type: str, default: is_test, description: boolean column that flags test traffic}
  by: {type: list[list[str]], default: [], description: "slices, e.g. [[country]]"}
metrics: [test_traffic_share]
returns: [segment, feature, metric, value, sample_size, baseline_value, baseline_size, reason]
--- */
WITH
{{ window_ctes() }}
{{ flag_shares('test_traffic_share', [column], by, 'is_true') }}
