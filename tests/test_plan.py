"""Planning without I/O (monitor/plan.py): which windows are due given what the ledger
says, the order of a pass, a backfill's plan, and the note for windows missed before
the catch-up horizon. Built-in checks and a config, no warehouse: the ledger's span
and entries are handed in as plain values, as the runner reads them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from monitor import plan
from monitor.checks import discover_checks
from monitor.config import Config, load_config
from monitor.ledger import LedgerEntry
from monitor.store import LedgerSpan
from monitor.windows import Window

NOW = datetime(2026, 9, 9, 6, 30, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    doc = {
        "warehouse": {"type": "duckdb", "path": str(tmp_path / "w.duckdb")},
        "models": {"m": {"predictions": "preds"}},
        "monitors": [
            {"name": "drift", "model": "m", "check": "numeric_drift",
             "params": {"columns": ["x"]}, "schedule": "0 6 * * *"},
            {"name": "volume", "model": "m", "check": "row_count", "schedule": "0 6 * * *"},
        ],
    }  # fmt: skip
    path = tmp_path / "alerts.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return load_config(path)


def day(d: int) -> datetime:
    return datetime(2026, 9, d, tzinfo=UTC)


def test_quality_checks_go_first_at_a_shared_fire_time(config) -> None:
    checks = discover_checks(config.check_dirs)
    drift, volume = config.monitors
    assert plan.rank(volume, checks) == 0 and plan.rank(drift, checks) == 1
    runs = plan.backfill_plan(config.monitors, date(2026, 9, 7), date(2026, 9, 8), checks)
    assert [(p.monitor.name, p.window.start) for p in runs] == [
        ("volume", day(7)), ("drift", day(7)), ("volume", day(8)), ("drift", day(8)),
    ]  # fmt: skip
    assert all(p.run_at == p.window.end + timedelta(hours=6) for p in runs)


def test_a_monitor_that_never_ran_gets_its_latest_window_only(config) -> None:
    drift = config.monitors[0]
    found, gaps = plan.scheduled_candidates([drift], {}, NOW, 3 * DAY, {}, force=False)
    assert [(p.window.start, p.run_at) for p in found] == [(day(8), day(9) + timedelta(hours=6))]
    assert gaps == []


def test_catch_up_within_the_horizon_and_a_note_for_older_windows(config) -> None:
    drift = config.monitors[0]
    last = day(3) + timedelta(hours=6)  # ran on schedule until 09-03, then nothing
    span = {"drift": LedgerSpan(first=day(1) + timedelta(hours=6), last=last, last_ok=last)}
    found, gaps = plan.scheduled_candidates([drift], span, NOW, 2 * DAY, {}, force=False)
    # 2 days back from 09-09 06:30: the fires of 09-08 and 09-09 (windows 09-07, 09-08).
    assert [p.window.start for p in found] == [day(7), day(8)]
    (gap,) = gaps
    assert "windows scheduled from 2026-09-04 06:00 to 2026-09-07 06:30" in gap
    assert "monitor backfill --monitor drift --from 2026-09-04 --to 2026-09-07" in gap
    # The daemon's cursor narrows the search; force takes the latest window only.
    after = {"drift": day(8) + timedelta(hours=6)}  # settled through the 09-08 fire
    found, _ = plan.scheduled_candidates([drift], span, NOW, 2 * DAY, after, force=False)
    assert [p.window.start for p in found] == [day(8)]
    found, gaps = plan.scheduled_candidates([drift], span, NOW, 2 * DAY, {}, force=True)
    assert [p.window.start for p in found] == [day(8)] and gaps == []


def test_done_windows_drop_out_and_claimed_ones_stay(config) -> None:
    drift = config.monitors[0]
    w7, w8 = Window(day(7), day(8)), Window(day(8), day(9))
    candidates = [plan.Planned(drift, w7, day(8)), plan.Planned(drift, w8, day(9))]

    def entry(window: Window, status: str) -> LedgerEntry:
        return LedgerEntry("drift", window, window.end, status, "schedule", "h:1:t", 1, NOW)

    ledger = {("drift", w7): entry(w7, "done"), ("drift", w8): entry(w8, "running")}
    assert plan.not_done(candidates, ledger) == [candidates[1]]
    assert plan.not_done(candidates, {}) == candidates


def test_select_names_the_nearest_monitor(config) -> None:
    assert plan.select(config, None) == config.monitors
    assert plan.select(config, ["volume"]) == [config.monitors[1]]
    # `--monitor a --monitor a` runs a once (a pass must not record a window twice).
    assert plan.select(config, ["volume", "drift", "volume"]) == config.monitors[::-1]
    with pytest.raises(Exception, match="drift"):
        plan.select(config, ["drfit"])
