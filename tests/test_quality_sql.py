"""The data quality checks (sql/quality/) on a real DuckDB file, against hand counts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from monitor.config import load_config
from monitor.runner import Runner
from tests.conftest import RUN_AT, metric_map


def test_row_count_against_the_baseline_both_ways(world) -> None:
    world.load(
        {"device": ["ios"] * 100 + ["web"] * 100},
        {"device": ["ios"] * 40 + ["web"] * 250},
    )
    (result,) = world.run(
        [
            {
                "name": "rows",
                "check": "row_count",
                "params": {"by": [["device"]]},
                "rules": [
                    {"metric": "row_count_ratio", "direction": "below", "alert": 0.5},
                    {"metric": "row_count_ratio", "direction": "above", "alert": 2.0},
                ],
            }
        ]
    )
    got = metric_map(result)
    assert got[("all", "", "row_count")]["value"] == 290
    assert got[("all", "", "row_count")]["baseline_value"] == 200  # one-day baseline, 1d window
    assert got[("all", "", "row_count_ratio")]["value"] == pytest.approx(1.45)
    assert got[("all", "", "row_count_ratio")]["status"] == "ok"
    ios, web = (
        got[("device=ios", "", "row_count_ratio")],
        got[("device=web", "", "row_count_ratio")],
    )
    assert ios["value"] == pytest.approx(0.4) and ios["status"] == "alert"
    assert web["value"] == pytest.approx(2.5) and web["status"] == "alert"


def test_row_count_scales_a_longer_baseline_to_the_window(world) -> None:
    world.load({"x": [1.0] * 300}, {"x": [1.0] * 100})
    # A two-day fixed baseline (only the first day has rows): expected = 300 / 2 per day.
    baseline = {"kind": "fixed", "start": "2026-09-01", "end": "2026-09-03"}
    (result,) = world.run([{"name": "rows", "check": "row_count", "baseline": baseline}])
    got = metric_map(result)
    assert got[("all", "", "row_count")]["baseline_value"] == pytest.approx(150)
    assert got[("all", "", "row_count_ratio")]["value"] == pytest.approx(100 / 150)


def test_row_count_leaves_out_seasonal_ranges_without_rows(world) -> None:
    """Of 4 seasonal ranges only one has rows (the log began a week ago): the expected
    count is that week's, not a quarter of it."""
    world.load({"x": [1.0] * 200}, {"x": [1.0] * 210})
    baseline = {"kind": "seasonal", "weeks": 4, "skip_alerting": False}
    (result,) = world.run([{"name": "rows", "check": "row_count", "baseline": baseline}])
    got = metric_map(result)
    assert got[("all", "", "row_count")]["baseline_value"] == pytest.approx(200)
    assert got[("all", "", "row_count_ratio")]["value"] == pytest.approx(1.05)


def test_row_count_of_empty_windows_says_why(world) -> None:
    world.load({"x": [1.0] * 10}, {"x": []})
    (result,) = world.run([{"name": "rows", "check": "row_count"}])
    got = metric_map(result)
    assert got[("all", "", "row_count")]["value"] == 0
    assert got[("all", "", "row_count_ratio")]["value"] == 0.0
    world.load({"x": []}, {"x": []})
    (result,) = world.run([{"name": "rows2", "check": "row_count"}])
    ratio = metric_map(result)[("all", "", "row_count_ratio")]
    assert ratio["value"] is None and ratio["status"] == "no_data"
    assert ratio["reason"] == "the baseline has no rows for this segment"


def test_freshness_live_and_backfill(world) -> None:
    world.load({"x": [1.0]}, {"x": [1.0]})  # the newest row: 2026-09-08 12:00
    monitor = [{"name": "fresh", "check": "freshness", "min_samples": 300,
                "rules": [{"metric": "freshness", "alert": 7200}]}]  # fmt: skip
    (live,) = world.run(monitor)
    row = metric_map(live)[("all", "", "freshness")]
    # RUN_AT is 2026-09-09 06:00: 18 hours; no sample size, so min_samples does not apply.
    assert row["value"] == 18 * 3600 and row["sample_size"] is None
    assert row["status"] == "alert"
    assert json.loads(row["detail"])["newest"].startswith("2026-09-08 12:00:00")
    config = load_config(world.config(monitor))
    (backfilled,) = Runner(config).backfill(date(2026, 9, 8), date(2026, 9, 8)).runs
    # A backfill measures at the window end, 2026-09-09 00:00: 12 hours.
    assert metric_map(backfilled)[("all", "", "freshness")]["value"] == 12 * 3600


def test_future_rows_are_judged_against_the_clock_not_a_caught_up_t(world) -> None:
    """A catch-up runs a past T now: a row logged between T and now is not from the
    future (judging it against T paged on every catch-up). A row dated after the real
    clock is."""
    world.load({"x": [1.0]}, {"x": [1.0]})  # the current row: 2026-09-08 12:00
    monitor = [{"name": "fresh", "check": "freshness",
                "rules": [{"metric": "future_rows", "warn": 0}]}]  # fmt: skip
    config = load_config(world.config(monitor))
    caught_up = datetime(2026, 9, 8, 6, tzinfo=UTC)  # before the row, run long after
    (result,) = Runner(config).run(at=caught_up).runs
    row = metric_map(result)[("all", "", "future_rows")]
    assert row["value"] == 0 and row["status"] == "ok"

    tomorrow = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1)
    con = duckdb.connect(str(world.db))
    con.execute("INSERT INTO preds (x, ts, model_name, role) VALUES (1, ?, 'm', 'production')",
                [tomorrow])  # fmt: skip
    con.close()
    (result,) = Runner(config).run(at=caught_up).runs
    row = metric_map(result)[("all", "", "future_rows")]
    assert row["value"] == 1 and row["status"] == "warn"
    assert json.loads(row["detail"])["latest"].startswith(tomorrow.strftime("%Y-%m-%d %H:%M"))


def test_freshness_without_any_prediction(world) -> None:
    world.load({"x": []}, {"x": []})
    (result,) = world.run([{"name": "fresh", "check": "freshness"}])
    row = metric_map(result)[("all", "", "freshness")]
    assert row["value"] is None and row["status"] == "no_data"
    assert row["reason"].startswith("no prediction of this model before 2026-09-09T06:00")


def test_null_rate_per_column_and_slice(world) -> None:
    world.load(
        {
            "a": [1.0, None, None, 4.0],
            "b": ["x", "y", None, "z"],
            "d": ["ios", "ios", "web", "web"],
        },
        {
            "a": [None, None, None, 4.0],
            "b": ["x", "y", "z", "z"],
            "d": ["ios", "ios", "web", "web"],
        },
    )
    (result,) = world.run(
        [{"name": "nulls", "check": "null_rate", "params": {"columns": ["a", "b"], "by": [["d"]]}}]
    )
    got = metric_map(result)
    assert got[("all", "a", "null_rate")]["value"] == 0.75
    assert got[("all", "a", "null_rate")]["baseline_value"] == 0.5
    assert got[("all", "b", "null_rate")]["value"] == 0.0
    assert got[("all", "b", "null_rate")]["baseline_value"] == 0.25
    assert got[("d=web", "a", "null_rate")]["value"] == 0.5
    assert got[("d=ios", "a", "null_rate")]["value"] == 1.0


def test_null_rate_without_a_baseline(world) -> None:
    world.load({"a": [1.0]}, {"a": [None, 2.0]})
    (result,) = world.run(
        [{"name": "nulls", "check": "null_rate", "params": {"columns": ["a"]}, "baseline": None}]
    )
    row = metric_map(result)[("all", "a", "null_rate")]
    assert row["value"] == 0.5 and row["baseline_value"] is None


def test_test_traffic_share(world) -> None:
    world.load(
        {"is_test": [False] * 99 + [True]},
        {"is_test": [False] * 70 + [True] * 25 + [None] * 5},
    )
    (result,) = world.run([{"name": "tt", "check": "test_traffic_share"}])
    row = metric_map(result)[("all", "is_test", "test_traffic_share")]
    assert row["value"] == 0.25 and row["baseline_value"] == 0.01


def test_schema_changes_since_the_last_run(world) -> None:
    world.load({"amount": [1.0], "device": ["ios"]}, {"amount": [2.0], "device": ["web"]})
    monitor = [{"name": "schema", "check": "schema", "baseline": None,
                "rules": [{"metric": "schema", "alert": 0.5}]}]  # fmt: skip
    config = load_config(world.config(monitor))
    at = datetime.fromisoformat(RUN_AT).replace(tzinfo=UTC)
    (first,) = Runner(config).run(at=at).runs
    assert {k[1]: r["value"] for k, r in metric_map(first).items()} == {
        "amount": 0.0, "device": 0.0, "model_name": 0.0, "role": 0.0, "ts": 0.0,
    }  # fmt: skip

    con = duckdb.connect(str(world.db))
    con.execute("ALTER TABLE preds ADD COLUMN country VARCHAR")
    con.execute("ALTER TABLE preds DROP COLUMN device")
    con.execute("ALTER TABLE preds ALTER amount TYPE VARCHAR")
    con.close()
    (second,) = Runner(config).run(at=at.replace(day=10)).runs
    got = metric_map(second)
    changed = {k[1] for k, r in got.items() if r["value"] == 1.0}
    assert changed == {"amount", "country", "device"}
    assert all(got[("all", c, "schema")]["status"] == "alert" for c in changed)
    assert json.loads(got[("all", "amount", "schema")]["detail"]) == {
        "type": "VARCHAR", "previous": "DOUBLE",
    }  # fmt: skip
    assert json.loads(got[("all", "device", "schema")]["detail"])["type"] is None

    # The third run compares with the second: nothing changed since.
    (third,) = Runner(config).run(at=at.replace(day=11)).runs
    assert {r.value for r in third.rows} == {0.0}
    assert ("all", "device", "schema") not in metric_map(third)

    (backfill,) = Runner(config).backfill(date(2026, 9, 5), date(2026, 9, 5)).runs
    assert all(r.value is None and "no history" in (r.reason or "") for r in backfill.rows)


def test_a_vanished_segment_alerts_despite_min_samples(world) -> None:
    """Volume is not a sample statistic: min_samples must not turn a feed that dried up
    into no_data."""
    world.load({"c": ["a"] * 200 + ["b"] * 200}, {"c": ["a"] * 200})
    monitor = {"name": "rows", "check": "row_count", "params": {"by": [["c"]]}, "min_samples": 100,
               "rules": [{"metric": "row_count_ratio", "direction": "below", "alert": 0.5}]}  # fmt: skip
    (result,) = world.run([monitor])
    gone = metric_map(result)[("c=b", "", "row_count_ratio")]
    assert gone["value"] == 0.0 and gone["status"] == "alert"


def test_row_count_with_every_baseline_range_skipped(world) -> None:
    """Every seasonal range alerted and was skipped: the check still renders and runs."""
    from monitor.checks import compile_check, discover_checks, find_check, resolve_params
    from monitor.execute import check_context
    from monitor.windows import BaselineSpec, window_for

    world.load({"x": [1.0]}, {"x": [1.0, 2.0]})
    config = load_config(world.config([{"name": "rows", "check": "row_count"}]))
    monitor = config.monitors[0]
    at = datetime.fromisoformat(RUN_AT).replace(tzinfo=UTC)
    check = find_check(discover_checks(config.check_dirs), "row_count")
    context = check_context(
        config, monitor, resolve_params(check, {}), window_for(at, monitor),
        BaselineSpec("seasonal", ()), at,
    )  # fmt: skip
    sql = compile_check(check, context, config.sql_dirs, "duckdb").sql
    con = duckdb.connect(str(world.db), read_only=True)
    rows = {r[2]: r for r in con.execute(sql).fetchall()}
    con.close()
    assert rows["row_count"][3] == 2 and rows["row_count_ratio"][3] is None
