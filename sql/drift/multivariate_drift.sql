/* ---
name: multivariate_drift
family: drift
description: |
  Drift that no single feature shows: a change in how numeric columns relate to each
  other (a join that pairs the wrong rows, a unit change in one of two correlated
  fields) leaves every marginal distribution as it was, but a principal-component
  basis fitted on the baseline no longer reconstructs the window's rows (data
  reconstruction with PCA, as NannyML's DataReconstructionDriftCalculator; Jolliffe
  2002, Principal Component Analysis, ch. 10).
  The fit, once per monitor and segment, then frozen (monitor.bin_specs, kind pca) so
  the series stays comparable: `baseline_moments` below gives each column's baseline
  mean μ_j over its finite values and the covariance of the columns with each
  missing value (NULL, NaN, ±inf) imputed by μ_j, divided by the rows; the runner
  (monitor/fit.py) takes each column's scale σ_j = its population std (1 for a
  constant column, by scikit-learn's rounding test) and the leading eigenvectors W of
  the correlation matrix: `components` of them,
  or else the fewest whose explained-variance share exceeds `variance` (as
  scikit-learn's SimpleImputer(mean) → StandardScaler → PCA(n_components)), at most
  p − 1 of the p columns (all of them would reconstruct every row exactly).
  Each row, with z_j = (x_j − μ_j) / σ_j (0 where x_j is missing), t = Wᵀz and the
  reconstruction ẑ = W·t, has the error e = Σ_j (z_j − ẑ_j)², computed as Σ_r (u_rᵀz)²
  over the left-out eigenvectors u_r (the same number: the eigenvectors are
  orthonormal).
  - reconstruction_error: the mean of e over the window's rows; baseline_value: its
    mean over the baseline's rows (same basis); statistic: Welch's
    (ē_cur − ē_base) / sqrt(s²_cur/n_cur + s²_base/n_base), s² the sample variances,
    and p_value its two-sided normal tail (test = 'z'; windows hold hundreds of rows);
    NULL when a side has fewer than 2 rows; the standard error is floored at
    1e-12·(1 + |ē_cur| + |ē_base|), the rounding noise of these sums.
  - missing_rate: share of the window's values (rows × columns) that were missing
    and imputed; baseline_value: the baseline's.
  An undefined value is NULL with a `reason` (an empty window or baseline, no basis:
  a baseline of fewer than 2 rows, a column with no finite value, every column
  constant).
params:
  columns: {type: list[str], required: true, description: "numeric columns, at least 2"}
  variance: {type: float, default: 0.9, description: "share of variance the kept components explain (0 < variance < 1)"}
  components: {type: int, default: 0, description: "components to keep; 0 chooses them by `variance`"}
  by: {type: list[list[str]], default: [], description: "slices, e.g. [[device]]"}
fit: {query: baseline_moments, method: pca}
metrics: [reconstruction_error, missing_rate]
returns: [segment, feature, metric, value, sample_size, baseline_value, baseline_size, p_value, test, statistic, reason]
--- */
{#- Helpers (sql/macros/): the model's rows in a time range, segment labels, NaN and
    ±inf as missing. -#}
{%- from 'macros/model_rows.sql' import model_rows %}
{%- from 'macros/segment_label.sql' import segment_label %}
{%- from 'macros/finite_double.sql' import finite_double %}
{%- if columns | length < 2 %}{{ fail("multivariate_drift: `columns` needs at least 2 numeric columns") }}{% endif %}
{%- if not (0 < variance < 1) %}{{ fail("multivariate_drift: `variance` must be between 0 and 1 (exclusive)") }}{% endif %}
{%- if components < 0 or components >= columns | length %}{{ fail("multivariate_drift: `components` must be at least 0 and fewer than the columns (all of them reconstruct every row exactly)") }}{% endif %}
{%- if baseline is none %}{{ fail("multivariate_drift needs a baseline: set `baseline:` on the monitor (fixed, rolling, seasonal or table)") }}{% endif %}
{%- set p = columns | length %}
{#- The baseline's rows: a reference table, or the model's rows in the baseline ranges. -#}
{%- macro baseline_source() %}
    {%- if baseline.table %}
    SELECT * FROM {{ baseline.table | table }}
    {%- else %}
    {{ model_rows(model.predictions, model.name, baseline.ranges, role) }}
    {%- endif %}
{%- endmacro %}
{#- Every row of `source` once per slice of `by` ('all' first), as (sample, segment,
    x_0 … x_p−1), NaN and ±inf as NULL. -#}
{%- macro sliced(sample, source) %}
    {%- for slice in [[]] + by %}
    {% if not loop.first %}UNION ALL {% endif -%}
    SELECT {{ sample | literal }} AS sample, {{ segment_label(slice, segment_pools) }} AS segment
           {%- for col in columns %}, {{ finite_double(col) }} AS x_{{ loop.index0 }}{% endfor %}
    FROM {{ source }}
    {%- endfor %}
{%- endmacro %}
{#- The fit query (header `fit`): per segment not in `skip` (those have a frozen
    basis), the rows n, each column's mean over its finite values, and the
    covariances of the mean-imputed columns (divided by n). monitor/fit.py turns a
    row into the basis. -#}
{%- macro baseline_moments(skip) %}
WITH baseline_rows AS (
    {{- baseline_source() }}
),
observed AS (
    {{- sliced('base', 'baseline_rows') }}
),
kept AS (
    SELECT * FROM observed
    {%- if skip %}
    WHERE segment NOT IN {{ skip | literal }}
    {%- endif %}
),
means AS (
    SELECT segment, COUNT(*) AS n
           {%- for j in range(p) %}, AVG(x_{{ j }}) AS mean_{{ j }}, COUNT(x_{{ j }}) AS finite_{{ j }}{% endfor %}
    FROM kept
    GROUP BY segment
)
SELECT m.segment, m.n
       {%- for j in range(p) %}, m.mean_{{ j }}, m.finite_{{ j }}{% endfor %}
       {%- for i in range(p) %}{% for j in range(i, p) %},
       SUM(COALESCE(k.x_{{ i }} - m.mean_{{ i }}, 0) * COALESCE(k.x_{{ j }} - m.mean_{{ j }}, 0)) / m.n AS cov_{{ i }}_{{ j }}
       {%- endfor %}{% endfor %}
FROM kept AS k
JOIN means AS m ON m.segment = k.segment
GROUP BY m.segment, m.n{% for j in range(p) %}, m.mean_{{ j }}, m.finite_{{ j }}{% endfor %}
{%- endmacro %}
{#- The segments with a basis, and the reasons of those without. -#}
{%- set found = namespace(bases=[], reasons=[]) %}
{%- for segment, spec in fits | dictsort %}
{%- if spec.get('residuals') %}
{%- set found.bases = found.bases + [(segment, spec)] %}
{%- elif spec.get('reason') %}
{%- set found.reasons = found.reasons + [(segment, 'no basis: ' ~ spec.reason)] %}
{%- endif %}
{%- endfor %}
{%- set bases, reasons = found.bases, found.reasons %}
WITH
current_window AS (
    {{ model_rows(model.predictions, model.name, [window], role) }}
),
baseline_window AS (
    {{- baseline_source() }}
),
-- Every row of both samples once per slice of `by` ('all' first), NaN and ±inf as
-- NULL; plus one row of sample 'none' (counted in neither) so the 'all' segment
-- exists even when both windows are empty.
observations AS (
    {{- sliced('cur', 'current_window') }}
    UNION ALL
    {{- sliced('base', 'baseline_window') }}
    UNION ALL SELECT 'none', 'all'{% for j in range(p) %}, CAST(NULL AS DOUBLE){% endfor %}
),
-- The fitted basis of each segment that has one: the means μ and the scales σ, as a
-- table to join. Numbers are written as text and cast, which round-trips a DOUBLE
-- exactly.
{%- if bases %}
basis AS (
    SELECT * FROM (VALUES
    {%- for segment, spec in bases %}
        {% if not loop.first %}, {% endif %}({{ segment | literal }}
        {%- for j in range(p) %}, CAST({{ (spec.means[j] | string) | literal }} AS DOUBLE){% endfor %}
        {%- for j in range(p) %}, CAST({{ (spec.scales[j] | string) | literal }} AS DOUBLE){% endfor %})
    {%- endfor %}
    ) AS b(segment{% for j in range(p) %}, mu_{{ j }}{% endfor %}{% for j in range(p) %}, sigma_{{ j }}{% endfor %})
),
{%- else %}
basis AS (
    SELECT CAST(NULL AS VARCHAR) AS segment WHERE FALSE
),
{%- endif %}
-- Each row's missing values and error. z_j = (x_j − μ_j) / σ_j, 0 where x_j is missing
-- (imputed with the mean); e = Σ_j (z_j − ẑ_j)², ẑ = W Wᵀ z, the part of z outside the
-- kept components. The eigenvectors are orthonormal, so e is the squared length of
-- z's projection on the left-out ones u_r, Σ_r (u_rᵀ z)²: the same number, with no
-- subtraction of nearly equal terms, and p·(p − k) products a row instead of 2·p·k.
-- The u_r are written into the expression per segment (shortest decimal form: the
-- same DOUBLE, or within an ulp): as columns they would pass PostgreSQL's limit of
-- 1,664 per select list from about 35 features. A segment without a basis matches no
-- branch: a NULL error. Each projection is clamped to ±1e75, so an absurd value
-- (1e200) gives an enormous error, not an overflow that NULLs the window or fails the
-- query. One pass: no CTE here is read twice, so none is materialised.
errors AS (
    SELECT sample, segment, missing,
           {%- if bases %}
           CASE segment
           {%- for segment, spec in bases %}
               WHEN {{ segment | literal }} THEN
               {%- for u in spec.residuals %}
                   {% if not loop.first %}+ {% endif %}POWER(LEAST(GREATEST({% for j in range(p) %}{% if not loop.first %} + {% endif %}{{ u[j] | float }} * z_{{ j }}{% endfor %}, -1e75), 1e75), 2)
               {%- endfor %}
           {%- endfor %}
           END AS error
           {%- else %}
           CAST(NULL AS DOUBLE) AS error
           {%- endif %}
    FROM (
        SELECT o.sample, o.segment,
               {% for j in range(p) %}(CASE WHEN o.x_{{ j }} IS NULL THEN 1 ELSE 0 END){% if not loop.last %} + {% endif %}{% endfor %} AS missing
               {%- if bases %}{% for j in range(p) %},
               COALESCE((o.x_{{ j }} - b.mu_{{ j }}) / b.sigma_{{ j }}, 0) AS z_{{ j }}
               {%- endfor %}{% endif %}
        FROM observations AS o
        LEFT JOIN basis AS b ON b.segment = o.segment
    ) AS standardised
),
-- Per segment and sample: rows, missing values, the errors' mean and sample variance
-- (the 'none' row only makes the 'all' segment exist).
totals AS (
    SELECT segment,
           COUNT(CASE WHEN sample = 'cur' THEN 1 END) AS rows_cur,
           COUNT(CASE WHEN sample = 'base' THEN 1 END) AS rows_base,
           SUM(CASE WHEN sample = 'cur' THEN missing ELSE 0 END) AS missing_cur,
           SUM(CASE WHEN sample = 'base' THEN missing ELSE 0 END) AS missing_base,
           AVG(CASE WHEN sample = 'cur' THEN error END) AS error_cur,
           AVG(CASE WHEN sample = 'base' THEN error END) AS error_base,
           VAR_SAMP(CASE WHEN sample = 'cur' THEN error END) AS var_cur,
           VAR_SAMP(CASE WHEN sample = 'base' THEN error END) AS var_base
    FROM errors
    GROUP BY segment
),
-- Welch's statistic of the two mean errors (NULL when a side has fewer than 2 rows).
-- Its standard error is floored at 1e-12·(1 + |ē_cur| + |ē_base|), the rounding noise
-- of these sums: errors that are all rounding noise give a statistic near 0, and a
-- real jump between two constant errors (rows exactly on a line that moved) a very
-- large one, never a division of noise by noise.
tested AS (
    SELECT *,
           CASE WHEN var_cur IS NOT NULL AND var_base IS NOT NULL
                THEN (error_cur - error_base)
                     / GREATEST(SQRT(var_cur / rows_cur + var_base / rows_base),
                                1e-12 * (1 + ABS(error_cur) + ABS(error_base)))
           END AS welch
    FROM totals
),
metric_rows AS (
    SELECT segment, '' AS feature, 'reconstruction_error' AS metric,
           error_cur AS value, rows_cur AS sample_size,
           error_base AS baseline_value, rows_base AS baseline_size,
           CAST(NULL AS DOUBLE) AS p_value,
           CASE WHEN welch IS NOT NULL THEN 'z' END AS test,
           welch AS statistic,
           CASE
               WHEN rows_cur = 0 THEN 'the current window has no rows'
               WHEN rows_base = 0 THEN 'the baseline has no rows'
               WHEN {% if bases %}segment NOT IN {{ bases | map(attribute=0) | list | literal }}{% else %}TRUE{% endif %}
                   THEN {% if reasons %}CASE segment
                   {%- for segment, reason in reasons %}
                   WHEN {{ segment | literal }} THEN {{ reason | literal }}
                   {%- endfor %}
                   ELSE 'no basis: the baseline gave none for this segment' END
                   {%- else %}'no basis: the baseline gave none for this segment'{% endif %}
           END AS reason
    FROM tested
    UNION ALL
    SELECT segment, '', 'missing_rate',
           missing_cur * 1.0 / NULLIF(rows_cur * {{ p }}, 0), rows_cur,
           missing_base * 1.0 / NULLIF(rows_base * {{ p }}, 0), rows_base,
           CAST(NULL AS DOUBLE), CAST(NULL AS VARCHAR), CAST(NULL AS DOUBLE),
           CASE WHEN rows_cur = 0 THEN 'the current window has no rows' END
    FROM tested
)
SELECT segment, feature, metric, value, sample_size, baseline_value, baseline_size,
       p_value, test, statistic, reason
FROM metric_rows
ORDER BY segment, metric
