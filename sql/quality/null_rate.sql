/* ---
name: null_rate
family: quality
description: |
  Missing values per column: the cheap check that catches a broken join or a feature
  service that stopped filling a field.
  - null_rate: share of the window's rows whose column is NULL (a numeric NaN is a
    value here; the drift checks count NaN and ±inf as missing too). baseline_value:
    the baseline's share, when the monitor has a baseline, so a rule can use
    `measure: delta`.
  An empty window is NULL with a reason.
params:
  columns: {type: list[str], required: true, description: columns to watch}
  by: {type: list[list[str]], default: [], description: "slices, e.g. [[device]]"}
metrics: [null_rate]
returns: [segment, feature, metric, value, sample_size, baseline_value, baseline_size, reason]
--- */
WITH
{{ window_ctes() }}
{{ flag_shares('null_rate', columns, by, 'is_null') }}
