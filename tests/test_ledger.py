"""The run ledger against a real DuckDB file: a scheduled window runs once; catch-up
runs what was missed, oldest first, within the horizon; stale claims are taken over,
live ones are not; backfills count as done."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import duckdb

from monitor.config import load_config
from monitor.ledger import OWNER
from monitor.runner import Runner
from tests.conftest import read_db

DAILY = {
    "name": "drift",
    "check": "numeric_drift",
    "params": {"columns": ["x"]},
    "schedule": "0 6 * * *",
    "rules": [{"metric": "ks", "alert": 0.3}],
}
NOW = datetime(2026, 9, 9, 6, 30, tzinfo=UTC)  # the 06:00 fire evaluates 2026-09-08


def runner(world) -> Runner:
    world.load({"x": [float(i) for i in range(50)]}, {"x": [float(i) for i in range(50)]})
    return Runner(load_config(world.config([DAILY])))


def ledger(world) -> list[tuple]:
    return read_db(
        world.db,
        'SELECT window_start, status, "trigger", attempts, run_status FROM monitor.run_ledger '
        "ORDER BY window_start",
    )


def test_a_scheduled_window_runs_once_unless_forced(world) -> None:
    r = runner(world)
    (first,) = r.run_scheduled(now=NOW, build=False).runs
    assert first.status == "ok" and first.window.start == datetime(2026, 9, 8, tzinfo=UTC)
    assert first.run_at == datetime(2026, 9, 9, 6, tzinfo=UTC)  # the fire time, not the clock
    assert r.run_scheduled(now=NOW + timedelta(minutes=20), build=False).runs == []  # nothing due
    (forced,) = Runner(r.config).run_scheduled(now=NOW, force=True, build=False).runs
    assert forced.status == "ok"
    assert read_db(world.db, 'SELECT count(*), min("trigger") FROM monitor.runs') == [
        (2, "schedule")
    ]
    assert ledger(world) == [(datetime(2026, 9, 8), "done", "schedule", 2, "ok")]


def test_catch_up_runs_missed_windows_oldest_first_within_the_horizon(world) -> None:
    r = runner(world)
    r.run_scheduled(now=NOW, build=False)
    later = NOW + timedelta(days=4)  # four fires missed: 09-10 .. 09-13 06:00
    report = r.run_scheduled(now=later, horizon=timedelta(days=2), build=False)
    assert [x.window.start.date() for x in report.runs] == [date(2026, 9, 11), date(2026, 9, 12)]
    assert len(report.gaps) == 1
    assert "drift: windows scheduled from 2026-09-10 06:00" in report.gaps[0]
    assert "monitor backfill --monitor drift --from 2026-09-10 --to 2026-09-11" in report.gaps[0]
    # Within the horizon, a catch-up fills every hole, including an aborted window.
    report = r.run_scheduled(now=later, horizon=timedelta(days=5), build=False)
    assert [x.window.start.date() for x in report.runs] == [date(2026, 9, 9), date(2026, 9, 10)]
    assert report.gaps == []


def set_claim(world, owner: str, claimed_at: datetime) -> None:
    con = duckdb.connect(str(world.db))
    try:
        con.execute(
            "UPDATE monitor.run_ledger SET status = 'running', owner = ?, claimed_at = ?",
            [owner, claimed_at.replace(tzinfo=None)],
        )
    finally:
        con.close()


def test_claims_of_dead_or_silent_owners_are_taken_over_live_ones_are_not(world) -> None:
    r = runner(world)
    r.run_scheduled(now=NOW, build=False)
    host = socket.gethostname()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    now = datetime.now(UTC)

    set_claim(world, f"{host}:{os.getppid()}:cafe", now)  # a live process on this host
    (skipped,) = Runner(r.config).run_scheduled(now=NOW, build=False).runs
    assert skipped.status == "skipped" and f"being run by {host}:{os.getppid()}" in skipped.error

    set_claim(world, "elsewhere:123:beef", now)  # another host, recent: trusted
    (skipped,) = Runner(r.config).run_scheduled(now=NOW, build=False).runs
    assert skipped.status == "skipped"

    set_claim(world, "elsewhere:123:beef", now - timedelta(hours=2))  # > 2 x query_timeout
    (taken,) = Runner(r.config).run_scheduled(now=NOW, build=False).runs
    assert taken.status == "ok"

    set_claim(world, f"{host}:{gone.stdout.strip()}:dead", now)  # that process has exited
    (taken,) = Runner(r.config).run_scheduled(now=NOW, build=False).runs
    assert taken.status == "ok"
    assert [row[1:3] for row in ledger(world)] == [("done", "schedule")]


def test_a_backfill_counts_as_run(world) -> None:
    r = runner(world)
    r.backfill(date(2026, 9, 6), date(2026, 9, 8), build=False)
    assert [row[1:3] for row in ledger(world)] == [("done", "backfill")] * 3
    assert r.run_scheduled(now=NOW, build=False).runs == []


def test_a_monitor_named_twice_runs_once_and_the_ledger_names_its_run(world) -> None:
    """`backfill --monitor drift --monitor drift` runs each window once; the pass's
    ledger rows are written in one statement, so a window may not appear twice."""
    r = runner(world)
    report = r.backfill(date(2026, 9, 7), date(2026, 9, 8), ["drift", "drift"], build=False)
    assert [x.window.start.date() for x in report.runs] == [date(2026, 9, 7), date(2026, 9, 8)]
    recorded = read_db(
        world.db,
        "SELECT l.run_id = r.run_id FROM monitor.run_ledger AS l "
        "JOIN monitor.runs AS r ON r.monitor = l.monitor AND r.window_start = l.window_start "
        "ORDER BY l.window_start",
    )
    assert recorded == [(True,), (True,)]


def test_a_leftover_claim_of_this_process_is_taken_and_stopping_never_overwrites(world) -> None:
    r = runner(world)
    r.run_scheduled(now=NOW, build=False)
    # Our own `running` row, found by us: a run whose write failed; runs are sequential.
    set_claim(world, OWNER, datetime.now(UTC))
    (taken,) = Runner(r.config).run_scheduled(now=NOW, build=False).runs
    assert taken.status == "ok"
    # A stopping runner aborts what it has not started, but never a window that is done.
    stopping = Runner(r.config)
    stopping.stopping.set()
    later = NOW + timedelta(days=1)
    (aborted,) = stopping.run_scheduled(now=later, build=False).runs
    assert aborted.status == "aborted"
    (forced,) = stopping.run_scheduled(now=NOW, force=True, build=False).runs
    assert forced.status == "aborted"
    assert [row[1] for row in ledger(world)] == ["done", "aborted"]
    (caught_up,) = Runner(r.config).run_scheduled(now=later, build=False).runs
    assert caught_up.recorded and caught_up.window.start.date() == date(2026, 9, 9)


def deadman_monitor(**extra):
    from monitor.config import MonitorConfig

    return MonitorConfig.model_validate(
        {"name": "m", "model": "m", "check": "row_count", "grace": "10m", **extra}
    )


def test_the_dead_man_counts_scheduled_windows_not_cron_fires() -> None:
    from monitor.scheduler import _deadman

    day = datetime(2026, 9, 8, tzinfo=UTC)
    hourly_daily = deadman_monitor(schedule="0 * * * *", window="1d")
    # Hourly fires, one window a day (first fired at 00:00): a quiet afternoon is fine.
    assert _deadman(hourly_daily, day, day, day + timedelta(hours=15)).status == "ok"
    assert _deadman(hourly_daily, day, day, day + timedelta(days=1, hours=23)).status == "ok"
    late = _deadman(hourly_daily, day, day, day + timedelta(days=2, minutes=11))
    assert late.status == "alert" and "2026-09-09 00:00 and 2026-09-10 00:00" in late.reason
    # Right after a restart (the last success is older than the watch), it cannot tell.
    watched = day + timedelta(days=5)
    assert _deadman(hourly_daily, day, watched, watched + timedelta(hours=1)).status == "no_data"
    stale = watched + timedelta(days=2, minutes=11)
    assert _deadman(hourly_daily, day, watched, stale).status == "alert"
    # A monitor whose window is its schedule: two missed hours.
    hourly = deadman_monitor(schedule="0 * * * *", window="1h")
    assert _deadman(hourly, day, day, day + timedelta(hours=2, minutes=5)).status == "ok"
    assert _deadman(hourly, day, day, day + timedelta(hours=2, minutes=11)).status == "alert"
