{#- The counts stored for the days of `stored` (a `day_counts:` check's
    baseline.stored: {counts, guards, monitor, key, days}) as rows (day, segment,
    feature, item, n). One fill per day: the day's live one (the latest, should two
    processes have stored the day at once), else the one dropped last (another
    process dropped it after this run found it; it stays readable a day). -#}
{% macro stored_counts(stored) -%}
SELECT c.day, c.segment, c.feature, c.item, c.n
FROM {{ stored.counts | table }} AS c
JOIN (
    SELECT day, fill_id, ROW_NUMBER() OVER (
        PARTITION BY day
        ORDER BY CASE WHEN dropped_at IS NULL THEN 0 ELSE 1 END, dropped_at DESC, stored_at DESC, fill_id DESC
    ) AS pick
    FROM {{ stored.guards | table }}
    WHERE monitor = {{ stored.monitor | literal }} AND counts_key = {{ stored.key | literal }}
      AND day IN ({% for d in stored.days %}{{ ', ' if not loop.first }}{{ d | literal }}{% endfor %})
) AS f ON f.day = c.day AND f.fill_id = c.fill_id AND f.pick = 1
WHERE c.monitor = {{ stored.monitor | literal }} AND c.counts_key = {{ stored.key | literal }}
{%- endmacro %}
