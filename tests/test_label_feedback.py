"""Feedback that stops, and feedback that arrives late: label_coverage alerts on the
first, and a backfill of a past window recomputes it with the labels known now."""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb

from monitor.config import load_config
from monitor.runner import Runner
from tests.conftest import read_db

COVERAGE_RULE = {"metric": "label_coverage", "direction": "below", "warn": 0.7, "alert": 0.5}


def labels(n: int, labelled: int) -> list[float | None]:
    """n labels alternating 1/0, of which only the first `labelled` are known."""
    return [float(i % 2) if i < labelled else None for i in range(n)]


def test_label_coverage_alerts_when_feedback_stops_in_one_slice(world) -> None:
    n = 400
    device = ["ios"] * (n // 2) + ["web"] * (n // 2)
    scores = [0.2 + 0.6 * (i % 2) for i in range(n)]
    current = labels(n, n)
    current[n // 2 :] = [None] * (n // 2)  # web's feedback pipeline broke
    world.load(
        {"score": scores, "label": labels(n, n), "device": device},
        {"score": scores, "label": current, "device": device},
    )
    (result,) = world.run(
        [
            {
                "name": "perf",
                "check": "classification",
                "params": {"by": [["device"]]},
                "rules": [COVERAGE_RULE],
            }
        ]
    )
    rows = {(r.segment, r.metric): r.as_dict() for r in result.rows}
    assert rows[("device=web", "label_coverage")]["value"] == 0.0
    assert rows[("device=web", "label_coverage")]["status"] == "alert"
    assert rows[("device=ios", "label_coverage")]["value"] == 1.0
    assert rows[("device=ios", "label_coverage")]["status"] == "ok"
    assert rows[("all", "label_coverage")]["value"] == 0.5
    assert rows[("all", "label_coverage")]["status"] == "warn"
    # web's label metrics say why they are missing instead of shrinking silently.
    web_auc = rows[("device=web", "auc")]
    assert web_auc["value"] is None and web_auc["status"] == "no_data"
    assert "feedback missing" in web_auc["reason"]


def test_a_backfill_recomputes_a_past_window_with_late_labels(world) -> None:
    n = 400
    scores = [0.2 + 0.6 * (i % 2) for i in range(n)]
    world.load(
        {"score": scores, "label": labels(n, n)},
        {"score": scores, "label": labels(n, 40)},  # only 10% known at first
    )
    monitors = [
        {
            "name": "perf",
            "check": "classification",
            "schedule": "0 6 * * *",
            "rules": [COVERAGE_RULE],
        }
    ]
    config = load_config(world.config(monitors))
    day = date(2026, 9, 8)

    def coverage() -> list[tuple]:
        return read_db(
            world.db,
            "SELECT value, status FROM monitor.metrics "
            "WHERE monitor = 'perf' AND metric = 'label_coverage' AND segment = 'all'",
        )

    (first,) = Runner(config).backfill(day, day).runs
    assert first.window.start == datetime(2026, 9, 8, tzinfo=UTC)
    assert coverage() == [(0.1, "alert")]

    # The outcomes arrive: every current prediction now has its label.
    con = duckdb.connect(str(world.db))
    con.execute(
        "UPDATE preds SET label = CASE WHEN score > 0.5 THEN 1.0 ELSE 0.0 END WHERE label IS NULL"
    )
    con.close()

    (again,) = Runner(config).backfill(day, day).runs
    assert again.status == "ok"
    assert coverage() == [(1.0, "ok")]  # the window's rows were replaced, not added
    runs = read_db(world.db, "SELECT count(*) FROM monitor.metrics WHERE metric = 'auc'")
    assert runs == [(1,)]
