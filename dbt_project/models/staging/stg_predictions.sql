-- Typed prediction log: one row per prediction_id, test traffic removed. Feature and
-- slice columns pass through. A re-delivered event keeps its latest version: the
-- latest `loaded_at_column` when the var names one (an ingestion timestamp), else
-- the latest ts; remaining ties are broken by a hash of the row, so the choice is
-- deterministic.
--
-- Portable SQL (DuckDB and PostgreSQL): the column list is read from the raw table
-- (raw_columns) instead of DuckDB's `* replace` / `* exclude`, and the ranking is a
-- subquery instead of QUALIFY. The SQL is the macro latest_predictions (macros/logs.sql),
-- which prediction_outcomes also embeds for an incremental build.

{{ latest_predictions() }}
