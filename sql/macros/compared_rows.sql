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
