"""The runner against a real DuckDB file: idempotence, isolation, locks, bad input."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from monitor import runner as runner_module
from monitor.cli import app
from monitor.config import load_config
from monitor.errors import WarehouseError, WarehouseLockedError
from monitor.evidence import MetricRow
from monitor.execute import RunResult
from monitor.runner import Runner
from monitor.warehouse import connect
from monitor.warehouse.duckdb import DuckDBWarehouse
from monitor.windows import Window
from tests.conftest import BROKEN_CHECK, read_db, write_table
from tests.test_daemon import SPIN, spin_rate
from tests.test_drift_sql import histogram

DRIFT = {
    "name": "drift",
    "check": "numeric_drift",
    "params": {"columns": ["x"]},
    "rules": [{"metric": "ks", "alert": 0.3}],
}


def small_world(world) -> None:
    world.load({"x": [float(i) for i in range(100)]}, {"x": [float(i) + 50 for i in range(100)]})


def test_rerunning_a_window_replaces_its_rows(world) -> None:
    small_world(world)
    first = world.run([DRIFT])
    second = world.run([DRIFT])
    assert first[0].status == second[0].status == "ok"
    assert read_db(world.db, "SELECT count(*), count(DISTINCT run_id) FROM monitor.metrics") == [
        (8, 1)
    ]
    assert read_db(world.db, "SELECT count(*) FROM monitor.runs") == [
        (2,)
    ]  # every execution is recorded
    (latest,) = read_db(world.db, "SELECT max(run_id) FROM monitor.metrics")
    assert (
        latest[0]
        == read_db(world.db, "SELECT run_id FROM monitor.runs ORDER BY started_at DESC LIMIT 1")[0][
            0
        ]
    )
    ks = read_db(
        world.db, "SELECT value, status, threshold FROM monitor.metrics WHERE metric = 'ks'"
    )
    assert ks == [(0.5, "alert", 0.3)]


def test_a_failing_check_does_not_stop_the_others(world, tmp_path) -> None:
    small_world(world)
    extra = tmp_path / "extra"
    (extra / "custom").mkdir(parents=True)
    (extra / "custom" / "broken.sql").write_text(BROKEN_CHECK)
    world.sql_dirs.append(str(extra))
    broken = {"name": "broken", "check": "broken"}
    missing_col = {"name": "missing-col", "check": "numeric_drift", "params": {"columns": ["nope"]}}
    results = {r.monitor: r for r in world.run([broken, DRIFT, missing_col])}
    assert results["drift"].status == "ok"
    assert results["broken"].status == "error"
    assert 'Referenced column "no_such_column" not found' in results["broken"].error
    assert results["missing-col"].status == "error" and '"nope"' in results["missing-col"].error
    runs = dict(read_db(world.db, "SELECT monitor, status FROM monitor.runs"))
    assert runs == {"broken": "error", "drift": "ok", "missing-col": "error"}
    errors = read_db(world.db, "SELECT error FROM monitor.runs WHERE monitor = 'broken'")
    assert "no_such_column" in errors[0][0]


# A row the state cannot hold: a sample size beyond BIGINT.
UNWRITABLE_CHECK = """\
/* ---
name: unwritable
description: Returns a sample size too large for the metrics table.
returns: [segment, feature, metric, value, sample_size]
--- */
SELECT 'all' AS segment, '' AS feature, 'm' AS metric, 1.0 AS value,
       CAST(1e30 AS HUGEINT) AS sample_size
"""


def test_a_pass_is_written_at_once_and_a_run_that_cannot_be_is_alone_unrecorded(
    world, tmp_path, monkeypatch
) -> None:
    """A pass's runs are written in one transaction, one INSERT per table; if that
    write fails, each run is written on its own: the one the state cannot hold comes
    back unrecorded, the others are recorded as usual."""
    small_world(world)
    extra = tmp_path / "extra"
    (extra / "custom").mkdir(parents=True)
    (extra / "custom" / "unwritable.sql").write_text(UNWRITABLE_CHECK)
    world.sql_dirs.append(str(extra))
    inserts: list[str] = []
    insert_rows = DuckDBWarehouse.insert_rows

    def counting(self, table, columns, rows):  # the real insert, counted
        inserts.append(table)
        return insert_rows(self, table, columns, rows)

    monkeypatch.setattr(DuckDBWarehouse, "insert_rows", counting)
    nulls = {"name": "nulls", "check": "null_rate", "params": {"columns": ["x"]}}
    results = {r.monitor: r for r in world.run([DRIFT, nulls])}
    assert [results[m].status for m in ("drift", "nulls")] == ["ok", "ok"]
    # Both runs at once (the alert stage writes its own tables after).
    assert [t for t in inserts if t in ("monitor.metrics", "monitor.runs")] == [
        "monitor.metrics",
        "monitor.runs",
    ]
    inserts.clear()
    results = {r.monitor: r for r in world.run([DRIFT, {"name": "bad", "check": "unwritable"}])}
    assert results["drift"].status == "ok" and results["drift"].run_id
    assert results["bad"].status == "unrecorded"
    assert "could not write results" in results["bad"].error
    runs = sorted(read_db(world.db, "SELECT monitor, status FROM monitor.runs"))
    assert runs == [("drift", "ok"), ("drift", "ok"), ("nulls", "ok")]
    assert read_db(world.db, "SELECT count(*) FROM monitor.metrics WHERE monitor = 'bad'") == [(0,)]


def test_a_pass_runs_its_monitors_at_once_with_the_same_results(world, monkeypatch) -> None:
    """With warehouse.connections 2 the pass's checks run on two threads, each on its own
    connection, and give the rows, statuses and alerts one connection gives."""
    small_world(world)
    monitors = [
        DRIFT,
        {"name": "nulls", "check": "null_rate", "params": {"columns": ["x"]}},
        {"name": "volume", "check": "row_count"},
        {"name": "cats", "check": "numeric_drift", "params": {"columns": ["x"], "bins": 3}},
    ]
    threads: set[int] = set()
    execute = DuckDBWarehouse.execute
    # With two connections, each thread's first check query waits for the other's:
    # the test fails (the barrier breaks) unless two run at the same time.
    together = threading.Barrier(2, timeout=30)

    def noting(self, sql, params=None):  # the real query; which thread sent a check's
        if 'FROM "preds"' in sql:
            me = threading.get_ident()
            if me != threading.main_thread().ident and me not in threads:
                together.wait()
            threads.add(me)
        return execute(self, sql, params)

    monkeypatch.setattr(DuckDBWarehouse, "execute", noting)

    def rows(connections: int) -> dict[str, Any]:
        results = world.run(monitors, warehouse={"path": str(world.db), "connections": connections})
        got = {
            (r.monitor, row.segment, row.feature, row.metric): (row.value, row.status)
            for r in results
            for row in r.rows
        }
        alerts = read_db(world.db, "SELECT monitor, state FROM monitor.alerts ORDER BY ALL")
        return {"statuses": [r.status for r in results], "rows": got, "alerts": alerts}

    one = rows(1)
    assert threads == {threading.main_thread().ident}
    threads.clear()
    world.db.unlink()
    small_world(world)
    two = rows(2)
    assert len(threads) == 2
    assert one["statuses"] == two["statuses"] == ["ok"] * 4
    assert one["alerts"] == two["alerts"]
    # Equal up to summation order (DuckDB may add a sum's parts in another order).
    assert one["rows"].keys() == two["rows"].keys()
    for key, (value, status) in one["rows"].items():
        assert two["rows"][key][1] == status, key
        assert two["rows"][key][0] == pytest.approx(value, rel=1e-12, abs=1e-15), key


def test_a_window_whose_connection_cannot_open_is_aborted_not_failed(world, monkeypatch) -> None:
    """A worker that cannot open its own connection (a warehouse at its connection
    limit) aborts its window, which runs again later: no error run, no error alert."""
    small_world(world)
    opened = runner_module.connect

    def refused_off_the_main_thread(config, read_only=False):  # the real one on the main
        if threading.current_thread() is not threading.main_thread():
            raise WarehouseError('too many connections for role "monitor"')
        return opened(config, read_only)

    monkeypatch.setattr(runner_module, "connect", refused_off_the_main_thread)
    nulls = {"name": "nulls", "check": "null_rate", "params": {"columns": ["x"]}}
    results = world.run([DRIFT, nulls], warehouse={"path": str(world.db), "connections": 2})
    assert [r.status for r in results] == ["aborted", "aborted"]
    assert all("no connection of its own to run on: too many" in (r.error or "") for r in results)
    assert read_db(world.db, "SELECT count(*) FROM monitor.runs") == [(0,)]


def test_a_timeout_on_one_connection_leaves_the_others_running(world, tmp_path) -> None:
    """Each connection's query has its own query_timeout: a stuck check is cancelled and
    recorded as an error while the one beside it finishes."""
    small_world(world)
    extra = tmp_path / "extra"
    (extra / "custom").mkdir(parents=True)
    (extra / "custom" / "spin.sql").write_text(SPIN)
    world.sql_dirs.append(str(extra))
    stuck = {"name": "stuck", "check": "spin", "params": {"n": int(spin_rate() * 60)},
             "query_timeout": "1s"}  # fmt: skip
    started = time.monotonic()
    results = {
        r.monitor: r
        for r in world.run([stuck, DRIFT], warehouse={"path": str(world.db), "connections": 2})
    }
    assert time.monotonic() - started < 30
    assert results["stuck"].status == "error"
    assert "query cancelled after 1s" in results["stuck"].error
    assert results["drift"].status == "ok"


def test_missing_table_is_an_error_run(world) -> None:
    small_world(world)
    path = world.config([DRIFT])
    config = load_config(path)
    config = config.model_copy(
        update={"models": {"m": config.models["m"].model_copy(update={"predictions": "gone"})}}
    )
    (result,) = Runner(config).run(at=datetime(2026, 9, 9, tzinfo=UTC)).runs
    assert result.status == "error" and "Table with name gone does not exist" in result.error


@contextlib.contextmanager
def held(db: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the DuckDB file open for writing for `seconds`."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('ready', flush=True); time.sleep({seconds})",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def test_locked_file_names_the_file_and_the_holder(world) -> None:
    small_world(world)
    with held(world.db, 60) as holder:
        config = load_config(world.config([DRIFT]))
        warehouse = config.warehouse.model_copy(update={"lock_timeout": timedelta(seconds=1)})
        t0 = time.monotonic()
        with pytest.raises(WarehouseLockedError) as info:
            connect(warehouse)
        assert time.monotonic() - t0 >= 1  # it waited for the holder, then gave up
        message = str(info.value)
        assert str(world.db) in message and f"PID {holder.pid}" in message
        assert "close it" in message and "(waited 1s)" in message


def test_a_run_waits_for_a_short_lock(world) -> None:
    """Another process holding the file for a moment delays the run, it does not fail it."""
    small_world(world)
    with held(world.db, 1.5):
        (result,) = world.run([DRIFT])  # lock_timeout: 10s by default
        assert result.status == "ok"


def test_the_file_is_free_between_runs(world) -> None:
    small_world(world)
    world.run([DRIFT])
    # Another process can open the file for writing as soon as the run returns.
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import duckdb; duckdb.connect({str(world.db)!r}).execute('CREATE TABLE analyst (x INT)')",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_runs_record_window_trigger_and_timing(world) -> None:
    small_world(world)
    before = time.time()
    world.run([DRIFT])
    ((start, end, trigger, started, finished, rows),) = read_db(
        world.db,
        "SELECT window_start, window_end, trigger, started_at, finished_at, row_count FROM monitor.runs",
    )
    assert (start, end, trigger, rows) == (datetime(2026, 9, 8), datetime(2026, 9, 9), "manual", 8)
    assert (
        before - 1
        <= started.replace(tzinfo=UTC).timestamp()
        <= finished.replace(tzinfo=UTC).timestamp()
    )


@pytest.mark.slow
def test_a_dbt_failure_becomes_an_error_run_with_dbts_message(world) -> None:
    small_world(world)
    dbt_section = {
        "project_dir": str(Path(__file__).resolve().parents[1] / "dbt_project"),
        "vars": {"predictions_table": "missing_raw_table", "feedback_table": "missing_raw_fb"},
    }
    results = world.run([DRIFT, {**DRIFT, "name": "drift-2"}], dbt=dbt_section)
    assert [r.status for r in results] == ["error", "error"]
    assert all("raw table missing_raw_table not found" in (r.error or "") for r in results)
    errors = read_db(
        world.db, "SELECT DISTINCT status, error LIKE '%missing_raw_table%' FROM monitor.runs"
    )
    assert errors == [("error", True)]


def test_a_baseline_whose_every_range_alerted_is_no_data(world) -> None:
    """seasonal weeks: 1, and last week alerted: nothing is left to compare with."""
    world.load({"x": [float(i) for i in range(100)]}, {"x": [float(i) + 50 for i in range(100)]})
    seasonal = {**DRIFT, "baseline": {"kind": "seasonal", "weeks": 1}}
    config = load_config(world.config([seasonal]))
    runner = Runner(config)
    # 09-08 against 09-01: alerts (KS 0.5).
    (first,) = runner.run(at=datetime(2026, 9, 9, tzinfo=UTC)).runs
    assert any(r.status == "alert" for r in first.rows)
    # 09-15 against 09-08 only, which alerted: an empty baseline, not an SQL error.
    con = duckdb.connect(str(world.db))
    con.execute(
        "INSERT INTO preds SELECT x, TIMESTAMP '2026-09-15 12:00', model_name, role FROM preds"
    )
    con.close()
    (second,) = runner.run(at=datetime(2026, 9, 16, tzinfo=UTC)).runs
    assert second.status == "no_data", second.error
    assert {r.baseline_size for r in second.rows} == {0}


def _days(values_by_day: dict[str, list[float]]) -> dict[str, list[Any]]:
    """Rows of model 'm' at noon of each day, with the given values of x."""
    cols: dict[str, list[Any]] = {"x": [], "ts": []}
    for day, values in values_by_day.items():
        cols["x"] += values
        cols["ts"] += [datetime.fromisoformat(f"{day}T12:00:00")] * len(values)
    return {**cols, "model_name": ["m"] * len(cols["x"]), "role": ["production"] * len(cols["x"])}


def test_a_backfill_sees_what_its_own_earlier_windows_recorded(world) -> None:
    """A store reads a monitor's alerting windows and frozen bins once per backfill and
    keeps them in step with what it records: a window that alerts earlier in the same
    backfill is left out of a later rolling baseline, a window re-run without its
    alert is put back, and bins fitted by the first window are used by the next."""
    usual = [float(i) for i in range(100)]
    shifted = [float(i) + 50 for i in range(100)]
    days = ["2026-09-01", "2026-09-02", "2026-09-03", "2026-09-04"]
    write_table(
        world.db, "preds", _days(dict(zip(days, [usual, usual, shifted, usual], strict=True)))
    )
    rolling = {**DRIFT, "baseline": {"kind": "rolling", "days": 2}}
    runner = Runner(load_config(world.config([rolling])))

    def baseline_sizes(report) -> dict[str, int]:
        return {
            r.window.start.date().isoformat(): next(
                row.baseline_size for row in r.rows if row.metric == "row_count"
            )
            for r in report.runs
        }

    first = runner.backfill(date(2026, 9, 2), date(2026, 9, 4), build=False)
    assert [r.status for r in first.runs] == ["ok"] * 3, [r.error for r in first.runs]
    # 09-03 alerts (KS 0.5); 09-04's two days before are 09-02 and the skipped 09-03.
    assert baseline_sizes(first) == {"2026-09-02": 100, "2026-09-03": 200, "2026-09-04": 100}
    # 09-02 fitted and froze the bins; the later windows of the same backfill bin by them.
    assert [histogram(r, "x")["frozen"] for r in first.runs] == [False, True, True]

    # 09-03 is corrected: run again in one backfill, it no longer alerts, so 09-04's
    # baseline has both days although the store began this backfill knowing it alerted.
    write_table(world.db, "preds", _days(dict.fromkeys(days, usual)))
    again = runner.backfill(date(2026, 9, 3), date(2026, 9, 4), build=False)
    assert [r.status for r in again.runs] == ["ok", "ok"]
    assert not any(row.status == "alert" for row in again.runs[0].rows)
    assert baseline_sizes(again) == {"2026-09-03": 200, "2026-09-04": 200}


def test_breaches_rank_alerts_first_then_the_largest_change() -> None:
    """On-call reads the worst slice first: alerts before warnings, then by how far the
    value moved from its baseline (or from 0 without one)."""

    def row(segment: str, status: str, value: float, base: float | None) -> MetricRow:
        return MetricRow(segment=segment, feature="", metric="positive_rate",
                         status=status, value=value, baseline_value=base)  # fmt: skip

    window = Window(datetime(2026, 9, 8, tzinfo=UTC), datetime(2026, 9, 9, tzinfo=UTC))
    result = RunResult(
        "m",
        window,
        "ok",
        rows=[
            row("country=FR", "warn", 0.9, 0.1),
            row("country=DE", "alert", 0.3, 0.1),
            row("all", "ok", 0.9, 0.0),
            row("country=PT", "alert", 0.97, 0.03),
            row("country=ES", "warn", 0.2, None),
        ],
    )
    assert [b.segment for b in result.breaches] == [
        "country=PT",
        "country=DE",
        "country=FR",
        "country=ES",
    ]


def scored_days(world, days: Any) -> None:
    """40 scored, labelled predictions of model m at noon of each September day."""
    rows: dict[str, list[Any]] = {"score": [], "label": [], "ts": []}
    for day in days:
        for i in range(40):
            rows["score"].append(0.1 + 0.02 * i)
            rows["label"].append(float(i % 3 == 0 or i > 30))
            rows["ts"].append(datetime(2026, 9, day, 12))
    n = len(rows["ts"])
    write_table(world.db, "preds", {**rows, "model_name": ["m"] * n, "role": ["production"] * n})


def test_a_matured_window_is_run_again_and_its_realized_values_fill_in(world) -> None:
    """estimated_performance is `rerun_when_mature`: with label_maturity 2d, the pass at
    T = 09-07 06:00 runs its own window (09-06) and again 09-04 (run at 09-05, matured
    since): that window's realized values fill in beside its estimates, no alert is
    evaluated for it, and a window that never ran (09-05: nothing ran at 09-06) is not
    run this way."""
    scored_days(world, range(1, 7))  # 09-01 .. 09-06: a baseline day, then windows
    monitor = {"name": "cbpe", "check": "estimated_performance", "params": {"metrics": ["auc"]},
               "baseline": {"kind": "fixed", "start": "2026-09-01", "end": "2026-09-02"}}  # fmt: skip
    models = {"m": {"predictions": "preds", "label_maturity": "2d"}}
    runner = Runner(load_config(world.config([monitor], models=models)))

    def realized(window_start: str) -> list[Any]:
        return read_db(world.db,
            "SELECT value FROM monitor.metrics WHERE metric = 'realized_auc' "
            f"AND window_start = TIMESTAMP '{window_start}'")  # fmt: skip

    first = runner.run(at=datetime(2026, 9, 5, 6, tzinfo=UTC), build=False)
    assert [(r.window.start.day, r.rerun) for r in first.runs] == [(4, False)]
    assert realized("2026-09-04") == [(None,)]
    later = runner.run(at=datetime(2026, 9, 7, 6, tzinfo=UTC), build=False)
    assert [(r.window.start.day, r.rerun, r.status) for r in later.runs] == [
        (6, False, "ok"), (4, True, "ok")
    ]  # fmt: skip
    assert later.statuses == {"ok": 1, "rerun": 1}
    ((auc,),) = realized("2026-09-04")
    assert auc is not None and 0.5 < auc <= 1
    estimates = read_db(world.db,
        "SELECT count(*) FROM monitor.metrics WHERE metric = 'estimated_auc' "
        "AND window_start = TIMESTAMP '2026-09-04' AND value IS NOT NULL")  # fmt: skip
    assert estimates == [(1,)]  # replaced, not doubled
    assert realized("2026-09-05") == []


def test_monitor_alerts_shows_the_realized_value_beside_an_estimates_alert(world) -> None:
    """An alert on estimated_auc: `monitor alerts` says its window has not matured,
    then, once the pass that runs the matured window again has run, shows the realized
    AUC beside the estimate (table and --json)."""
    scored_days(world, range(1, 5))  # 09-01 the baseline, 09-04 the window that alerts
    monitor = {"name": "cbpe", "check": "estimated_performance", "params": {"metrics": ["auc"]},
               "baseline": {"kind": "fixed", "start": "2026-09-01", "end": "2026-09-02"},
               "rules": [{"metric": "estimated_auc", "direction": "below", "alert": 0.99}]}  # fmt: skip
    config = world.config([monitor], models={"m": {"predictions": "preds", "label_maturity": "2d"}})
    runner = Runner(load_config(config))
    cli = CliRunner()

    runner.run(at=datetime(2026, 9, 5, 6, tzinfo=UTC), build=False, notify=False)
    (before,) = json.loads(cli.invoke(app, ["alerts", "--config", str(config), "--json"]).output)
    assert before["metric"] == "estimated_auc" and before["realized"]["value"] is None
    assert "matured" in before["realized"]["reason"]
    # 09-06 has no rows (no_data, the alert stays); 09-04 is run again, its labels mature.
    runner.run(at=datetime(2026, 9, 7, 6, tzinfo=UTC), build=False, notify=False)
    docs = json.loads(cli.invoke(app, ["alerts", "--config", str(config), "--json"]).output)
    (after,) = [d for d in docs if d["metric"] == "estimated_auc"]  # (and a no_data alert)
    ((auc,),) = read_db(world.db,
        "SELECT value FROM monitor.metrics WHERE metric = 'realized_auc' "
        "AND window_start = TIMESTAMP '2026-09-04'")  # fmt: skip
    assert after["realized"] == {"value": auc, "sample_size": 20, "reason": None}
    table = cli.invoke(app, ["alerts", "--config", str(config)], env={"COLUMNS": "200"}).output
    assert "realized" in table and f"{auc:.4g}"[:4] in table


def test_a_monitor_that_waits_for_its_labels_is_not_run_again(world) -> None:
    """With lag = label_maturity a window has matured when it first runs: its realized
    values are there at once, and nothing is run twice."""
    scored_days(world, range(1, 7))
    monitor = {"name": "cbpe", "check": "estimated_performance", "params": {"metrics": ["auc"]},
               "lag": "2d", "baseline": {"kind": "fixed", "start": "2026-09-01", "end": "2026-09-02"}}  # fmt: skip
    models = {"m": {"predictions": "preds", "label_maturity": "2d"}}
    runner = Runner(load_config(world.config([monitor], models=models)))
    for at in (datetime(2026, 9, 6, 6, tzinfo=UTC), datetime(2026, 9, 8, 6, tzinfo=UTC)):
        (result,) = runner.run(at=at, build=False).runs
        assert not result.rerun
        realized = {r.metric: r.value for r in result.rows}["realized_auc"]
        assert realized is not None


def test_every_matured_window_is_run_again_whatever_the_schedule(world) -> None:
    """Weekdays only (label_maturity 2d): the passes of Tuesday 09-08 to Friday 09-11
    and of Monday 09-14 run the windows 09-07 .. 09-10 and 09-13. Each weekday window
    is run again at the first pass after it matured, the two that matured over the
    weekend both on Monday: every one gets its realized values, none twice."""
    scored_days(world, range(1, 14))
    monitor = {"name": "cbpe", "check": "estimated_performance", "params": {"metrics": ["auc"]},
               "baseline": {"kind": "fixed", "start": "2026-09-01", "end": "2026-09-02"}}  # fmt: skip
    models = {"m": {"predictions": "preds", "label_maturity": "2d"}}
    runner = Runner(load_config(world.config([monitor], models=models)))
    reruns = {}
    for day in (8, 9, 10, 11, 14):
        report = runner.run(at=datetime(2026, 9, day, 6, tzinfo=UTC), build=False)
        reruns[day] = [r.window.start.day for r in report.runs if r.rerun]
    assert reruns == {8: [], 9: [], 10: [7], 11: [8], 14: [9, 10]}
    filled = read_db(world.db,
        "SELECT day(window_start) FROM monitor.metrics WHERE metric = 'realized_auc' "
        "AND value IS NOT NULL ORDER BY 1")  # fmt: skip
    assert filled == [(7,), (8,), (9,), (10,)]


def test_a_monitor_with_an_unknown_check_fails_alone(world) -> None:
    """Choosing the matured windows to run again looks every monitor's check up: one
    that does not exist is the error run it always was, and the pass goes on."""
    scored_days(world, range(1, 9))
    monitors = [{"name": "count", "check": "row_count"}, {"name": "typo", "check": "no_such_check"}]
    config = load_config(world.config(monitors))
    report = Runner(config).backfill(date(2026, 9, 7), date(2026, 9, 8), build=False)
    assert sorted((r.monitor, r.window.start.day, r.status) for r in report.runs) == [
        ("count", 7, "ok"), ("count", 8, "ok"), ("typo", 7, "error"), ("typo", 8, "error")
    ]  # fmt: skip


@pytest.mark.parametrize(
    "table", ["alerts", "runs", "bin_specs", "run_ledger", "outbox", "silences", "alert_watermarks"]
)
def test_a_dropped_state_table_is_an_error_not_a_silent_restart(world, table) -> None:
    """Dropping monitor.alerts used to be recovered silently (an empty table again):
    firing alerts never resolved and the same episode was announced again. Now the
    next run stops and names the table and how to restore it, whichever state table
    it was; an empty store is still created on its own."""
    scored_days(world, range(1, 5))
    monitors = [{"name": "count", "check": "row_count"}]
    world.run(monitors)  # creates the store
    con = duckdb.connect(str(world.db))
    con.execute(f"DROP TABLE monitor.{table}")
    con.close()
    with pytest.raises(
        WarehouseError,
        match=rf"the state store lost monitor\.{table} \(it has .*\): it was dropped.*"
        r"Restore it from a backup",
    ):
        world.run(monitors)
    (found,) = read_db(
        world.db, f"SELECT count(*) FROM information_schema.tables WHERE table_name = '{table}'"
    )
    assert found == (0,)  # not recreated behind the user's back


def test_a_state_table_from_before_the_list_is_still_judged_by_its_group(world) -> None:
    """A store made before monitor.state_tables existed has no list: a table missing
    beside the rest of its group (alerts beside alert_events) is still an error, and a
    table a newer version adds (the list itself, here) is created."""
    scored_days(world, range(1, 5))
    monitors = [{"name": "count", "check": "row_count"}]
    world.run(monitors)
    con = duckdb.connect(str(world.db))
    con.execute("DROP TABLE monitor.state_tables")
    con.execute("DROP TABLE monitor.alerts")
    con.close()
    with pytest.raises(WarehouseError, match=r"lost monitor\.alerts"):
        world.run(monitors)
    con = duckdb.connect(str(world.db))
    con.execute("DROP TABLE monitor.state_tables")
    con.execute("DROP TABLE monitor.alert_events")  # the whole alerts group: a fresh start
    con.close()
    world.run(monitors)
    assert read_db(world.db, "SELECT count(*) FROM monitor.state_tables")[0][0] >= 9


def test_a_state_table_missing_a_column_is_an_error_that_names_it(world) -> None:
    scored_days(world, range(1, 5))
    monitors = [{"name": "count", "check": "row_count"}]
    world.run(monitors)
    con = duckdb.connect(str(world.db))
    con.execute("ALTER TABLE monitor.alerts DROP COLUMN peak_value")
    con.close()
    with pytest.raises(
        WarehouseError, match=r"the state table monitor\.alerts lacks column\(s\) peak_value"
    ):
        world.run(monitors)
