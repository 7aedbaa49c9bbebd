-- Typed feedback: the true outcome of a prediction (by prediction_id) or of a request
-- (by request_id, then it applies to every prediction of that request). One row per
-- (key, label_ts): re-deliveries of the same event collapse, and two different labels
-- stamped with the same label_ts resolve deterministically to the larger. A second
-- outcome with a later label_ts is kept; prediction_outcomes takes the first.
-- `loaded_at` is the feedback's ingestion time (the var feedback_loaded_at_column),
-- null without one.
-- With no feedback log (the var feedback_table is null) no outcome is known yet: the
-- model is typed but empty, and the performance checks find no labels.
-- The SQL is the macro deduped_feedback (macros/logs.sql), which prediction_outcomes
-- also embeds for an incremental build.

{{ deduped_feedback() }}
