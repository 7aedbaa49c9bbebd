"""Stored day counts (monitor/day_counts.py): a rolling or seasonal baseline's whole
days are counted once and read back while their rows are unchanged, with results
equal to reading the rows every run, on a real DuckDB file.

The comparison tolerance is rel 1e-12: the counts are integers either way, and the
statistics built from them (PSI, JS, χ²) differ only in the order DuckDB's parallel
aggregates add the per-bin terms (a few ulps; measured up to 4e-16 relative).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest
import yaml

from monitor import day_counts
from monitor.config import load_config
from monitor.execute import compile_parts
from monitor.runner import Runner
from monitor.store import StateStore
from monitor.validate import validate
from monitor.warehouse import connect
from monitor.windows import Window
from tests.conftest import REPO, read_db


@pytest.fixture(autouse=True)
def small_baselines_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    """These baselines hold a few thousand rows, far under the size from which counts
    are stored by default (test_a_small_baseline_is_read_from_rows keeps it)."""
    monkeypatch.setattr(day_counts, "MIN_BASELINE_ROWS", 1)


FIRST_DAY = datetime(2026, 9, 1)
DAYS = 18
ROWS = 400  # per day
COLUMNS = ("window_start", "segment", "feature", "metric", "value", "sample_size",
           "baseline_value", "baseline_size", "reason", "histogram")  # fmt: skip


def make_logs(db: Path, seed: int = 1) -> None:
    """DAYS days of ROWS predictions with two categorical columns (NULLs included)
    and the marts' `built_at` (the day after each row's day)."""
    rng = np.random.default_rng(seed)
    ts: list[datetime] = []
    k: list[str | None] = []
    device: list[str | None] = []
    built: list[datetime] = []
    for d in range(DAYS):
        day = FIRST_DAY + timedelta(days=d)
        ts += [day + timedelta(seconds=int(s)) for s in rng.integers(0, 86400, ROWS)]
        # The category mix drifts over the days, so the windows differ.
        p = np.array([0.5 - 0.02 * d, 0.3, 0.15 + 0.02 * d, 0.05])
        k += [None if c == "-" else str(c) for c in rng.choice(["a", "b", "c", "-"], ROWS, p=p)]
        device += [None if c == "-" else str(c) for c in rng.choice(["ios", "web", "-"], ROWS)]
        built += [day + timedelta(days=1)] * ROWS
    n = len(ts)
    table = pa.table({
        "ts": ts, "k": k, "device": device, "built_at": built,
        "model_name": ["m"] * n, "role": ["production"] * n,
    })  # fmt: skip
    con = duckdb.connect(str(db))
    try:
        con.register("incoming", table)
        con.execute("CREATE OR REPLACE TABLE preds AS SELECT * FROM incoming")
    finally:
        con.close()


def write_config(
    root: Path,
    db: Path,
    schema: str,
    changed_at: str | None,
    baseline: dict[str, Any],
    window: str = "1d",
) -> Path:
    doc = {
        "warehouse": {"type": "duckdb", "path": str(db)},
        "state": {"schema": schema},
        "models": {"m": {"predictions": "preds", "changed_at": changed_at}},
        "monitors": [
            {
                "name": "c",
                "model": "m",
                "check": "categorical_drift",
                "schedule": "0 6 * * *",
                "window": window,
                "params": {"columns": ["k", "device"], "by": [["device"]]},
                "baseline": baseline,
                "min_samples": 1,
            }
        ],
    }
    path = root / f"{schema}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def metrics(db: Path, schema: str) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    rows = read_db(db, f"SELECT {', '.join(COLUMNS)} FROM {schema}.metrics")
    return {r[:4]: r[4:] for r in rows}


def assert_same(
    got: dict[tuple[Any, ...], tuple[Any, ...]], want: dict[tuple[Any, ...], tuple[Any, ...]]
) -> None:
    assert got.keys() == want.keys()
    for key, row in want.items():
        other = got[key]
        assert other[1:] == row[1:], key  # sizes, baseline value, reason, histogram: exact
        if row[0] is None:
            assert other[0] is None, key
        else:
            assert other[0] == pytest.approx(row[0], rel=1e-12, abs=1e-15), key


def stored_days(db: Path, schema: str) -> list[datetime]:
    sql = f"SELECT day FROM {schema}.day_count_days WHERE dropped_at IS NULL ORDER BY day"
    return [r[0] for r in read_db(db, sql)]


def write_db(db: Path, *statements: str) -> None:
    con = duckdb.connect(str(db))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


def two_configs(tmp_path: Path, baseline: dict[str, Any]) -> tuple[Path, Path, Path]:
    """The logs, and two configs of one monitor on them: with stored day counts
    (schema `stored`) and reading every row (schema `from_rows`)."""
    db = tmp_path / "wh.duckdb"
    make_logs(db)
    stored = write_config(tmp_path, db, "stored", "built_at", baseline)
    return db, stored, write_config(tmp_path, db, "from_rows", None, baseline)


def backfill(config: Path, first: date, last: date) -> None:
    report = Runner(load_config(config)).backfill(first, last, build=False)
    assert report.runs and all(r.status == "ok" for r in report.runs), [
        r.error for r in report.runs
    ]


@pytest.mark.parametrize(
    "baseline",
    [
        {"kind": "rolling", "days": 5},
        {"kind": "seasonal", "weeks": 2},
        {"kind": "fixed", "start": "2026-09-01", "end": "2026-09-04"},
    ],
    ids=["rolling", "seasonal", "fixed"],
)
def test_stored_days_give_the_results_of_the_rows(tmp_path: Path, baseline: dict[str, Any]) -> None:
    db, stored, rows = two_configs(tmp_path, baseline)
    backfill(stored, date(2026, 9, 15), date(2026, 9, 16))
    backfill(rows, date(2026, 9, 15), date(2026, 9, 16))
    assert_same(metrics(db, "stored"), metrics(db, "from_rows"))
    # Compiled again, the last window reads every baseline day from the store (its
    # run stored those it did not find, and nothing changed since), and no rows.
    config = load_config(stored)
    with connect(config.warehouse) as wh:
        (part,) = compile_parts(
            config, Runner(config).checks, config.monitors[0],
            Window(datetime(2026, 9, 16, tzinfo=UTC), datetime(2026, 9, 17, tzinfo=UTC)),
            datetime(2026, 9, 17, 6, tzinfo=UTC), "duckdb",
            store=StateStore(wh, "stored"), wh=wh,
        )  # fmt: skip
    days = {"rolling": [11, 12, 13, 14, 15], "seasonal": [2, 9], "fixed": [1, 2, 3]}
    stored_list = part.sql.split('FROM "stored"."day_counts"')[1].split("GROUP BY")[0]
    assert re.findall(r"'2026-09-(\d\d) 00:00:00", stored_list) == [
        f"{d:02d}" for d in days[baseline["kind"]]
    ]


ROLLING = {"kind": "rolling", "days": 5}
LATER = "TIMESTAMP '2026-11-01 00:00:00'"  # a rebuild after the counts were stored


@pytest.mark.parametrize(
    "change",
    [
        # A late row lands in a stored day.
        "INSERT INTO preds SELECT ts + INTERVAL 1 SECOND, 'c', device, {later}, model_name, role "
        "FROM preds WHERE ts >= '2026-09-13' AND ts < '2026-09-14' LIMIT 1",
        # A row is rebuilt in place (its category corrected): same count, new built_at.
        "UPDATE preds SET k = 'zz', built_at = {later} "
        "WHERE ts = (SELECT min(ts) FROM preds WHERE ts >= '2026-09-12' AND ts < '2026-09-13')",
        # A row is deleted.
        "DELETE FROM preds "
        "WHERE ts = (SELECT min(ts) FROM preds WHERE ts >= '2026-09-14' AND ts < '2026-09-15')",
    ],
    ids=["late_row", "rebuilt_row", "deleted_row"],
)
def test_a_changed_day_is_read_from_its_rows_again(tmp_path: Path, change: str) -> None:
    db, stored, rows = two_configs(tmp_path, ROLLING)
    # Both alike up to the change (the first window freezes the top-k lists).
    for config in (stored, rows):
        backfill(config, date(2026, 9, 15), date(2026, 9, 16))
    before = metrics(db, "stored")
    write_db(db, change.format(later=LATER))
    for config in (stored, rows):
        backfill(config, date(2026, 9, 16), date(2026, 9, 16))
    after = metrics(db, "stored")
    assert_same(after, metrics(db, "from_rows"))
    # The change moved the last window's baseline counts, so reading the stale counts
    # would have kept the old numbers.
    changed = [k for k in after if k[0] == datetime(2026, 9, 16) and after[k] != before[k]]
    assert changed
    # And the day was stored again with its new guard.
    assert stored_days(db, "stored") == [datetime(2026, 9, d) for d in range(11, 16)]
    guards = dict(read_db(db, "SELECT day, row_count FROM stored.day_count_days"))
    actual = dict(read_db(db, "SELECT date_trunc('day', ts), count(*) FROM preds GROUP BY 1"))
    assert all(guards[d] == actual[d] for d in guards)


def test_without_a_change_column_the_baseline_is_read_from_rows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A predictions table without the `changed_at` column: the guard cannot be read,
    so the runs read their rows (one warning per monitor), and store nothing."""
    db = tmp_path / "wh.duckdb"
    make_logs(db)
    write_db(db, "ALTER TABLE preds DROP COLUMN built_at")
    stored = write_config(tmp_path, db, "stored", "no_such_column", ROLLING)
    rows = write_config(tmp_path, db, "from_rows", None, ROLLING)
    monkeypatch.setattr(day_counts, "_unguarded", set())  # other tests' monitor "c" warned
    with caplog.at_level(logging.WARNING, logger="monitor.day_counts"):
        backfill(stored, date(2026, 9, 15), date(2026, 9, 16))
    backfill(rows, date(2026, 9, 15), date(2026, 9, 16))
    assert_same(metrics(db, "stored"), metrics(db, "from_rows"))
    assert stored_days(db, "stored") == []
    (warning,) = [r for r in caplog.records if "day counts cannot be checked" in r.getMessage()]
    assert "no_such_column" in warning.getMessage()


def test_counts_that_cannot_be_stored_lose_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A store that refuses the counts (here a view where the table was): the runs are
    recorded as before, from rows, and the failure is a warning."""
    db, stored, rows = two_configs(tmp_path, ROLLING)
    backfill(stored, date(2026, 9, 14), date(2026, 9, 14))
    write_db(
        db,
        "DROP TABLE stored.day_counts",
        "CREATE VIEW stored.day_counts AS SELECT 'c' AS monitor, '' AS counts_key, "
        "TIMESTAMP '2026-01-01' AS day, '' AS fill_id, '' AS segment, '' AS feature, "
        "'' AS item, 0 AS n",
        "DELETE FROM stored.day_count_days",
    )
    with caplog.at_level(logging.WARNING, logger="monitor.store.day_counts"):
        backfill(stored, date(2026, 9, 15), date(2026, 9, 16))
    backfill(rows, date(2026, 9, 14), date(2026, 9, 16))
    assert_same(metrics(db, "stored"), metrics(db, "from_rows"))
    assert any("day counts of c not stored" in r.getMessage() for r in caplog.records)
    assert stored_days(db, "stored") == []


def test_changed_settings_start_new_counts(tmp_path: Path) -> None:
    """Counts taken for other columns are never read: the settings are in the key. The
    old key's days stay until they leave the baseline (a window whose pooled segments
    differ from the last one's does not undo its stores)."""
    db, stored, rows = two_configs(tmp_path, ROLLING)
    for config in (stored, rows):
        backfill(config, date(2026, 9, 15), date(2026, 9, 15))
        doc = yaml.safe_load(config.read_text())
        doc["monitors"][0]["params"]["columns"] = ["k"]
        config.write_text(yaml.safe_dump(doc), encoding="utf-8")
        backfill(config, date(2026, 9, 16), date(2026, 9, 16))
    assert_same(metrics(db, "stored"), metrics(db, "from_rows"))
    live = read_db(
        db,
        "SELECT counts_key, min(day), count(*) FROM stored.day_count_days "
        "WHERE dropped_at IS NULL GROUP BY 1 ORDER BY 2",
    )
    features = read_db(
        db,
        "SELECT counts_key, list(DISTINCT feature ORDER BY feature) FROM stored.day_counts "
        "GROUP BY 1",
    )
    (old, old_first, old_days), (new, new_first, new_days) = live
    assert (old_first, old_days) == (datetime(2026, 9, 11), 4)  # 09-10 left the baseline
    assert (new_first, new_days) == (datetime(2026, 9, 11), 5)
    assert dict(features) == {old: ["device", "k"], new: ["k"]}


def test_dropped_days_are_deleted_a_grace_later(tmp_path: Path) -> None:
    """A day out of the baseline is marked dropped (a run elsewhere may be reading it)
    and deleted by the first store after GRACE."""
    db = tmp_path / "wh.duckdb"
    make_logs(db)
    stored = write_config(tmp_path, db, "stored", "built_at", ROLLING)
    backfill(stored, date(2026, 9, 15), date(2026, 9, 16))

    def days(dropped: bool) -> list[datetime]:
        return [r[0] for r in read_db(
            db,
            "SELECT DISTINCT g.day FROM stored.day_count_days AS g JOIN stored.day_counts "
            f"USING (fill_id, day) WHERE (dropped_at IS NOT NULL) = {dropped} ORDER BY 1",
        )]  # fmt: skip

    assert days(dropped=True) == [datetime(2026, 9, 10)]
    write_db(
        db,
        "UPDATE stored.day_count_days SET dropped_at = dropped_at - INTERVAL 25 HOUR "
        "WHERE dropped_at IS NOT NULL",
    )
    backfill(stored, date(2026, 9, 17), date(2026, 9, 17))
    assert days(dropped=True) == [datetime(2026, 9, 11)]  # 09-10 deleted, 09-11 dropped now
    assert days(dropped=False) == [datetime(2026, 9, d) for d in range(12, 17)]


def test_two_fills_of_one_day_count_once(tmp_path: Path) -> None:
    """Two processes storing one day at once leave two live fills of it: the check
    reads one of them, never their sum."""
    db, stored, rows = two_configs(tmp_path, ROLLING)
    for config in (stored, rows):
        backfill(config, date(2026, 9, 16), date(2026, 9, 16))
    write_db(  # the other process's fill of 09-13: the same counts under another fill id
        db,
        "INSERT INTO stored.day_counts SELECT * REPLACE ('other' AS fill_id) "
        "FROM stored.day_counts WHERE day = '2026-09-13'",
        "INSERT INTO stored.day_count_days SELECT * REPLACE ('other' AS fill_id, "
        "stored_at + INTERVAL 1 SECOND AS stored_at) FROM stored.day_count_days "
        "WHERE day = '2026-09-13'",
    )
    for config in (stored, rows):
        backfill(config, date(2026, 9, 16), date(2026, 9, 16))
    assert_same(metrics(db, "stored"), metrics(db, "from_rows"))


def test_a_small_baseline_is_read_from_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under MIN_BASELINE_ROWS the runs read the rows and store nothing: there the
    stored counts would cost as much as they save."""
    monkeypatch.setattr(day_counts, "MIN_BASELINE_ROWS", 5 * ROWS + 1)  # a row over 5 days'
    db = tmp_path / "wh.duckdb"
    make_logs(db)
    stored = write_config(tmp_path, db, "stored", "built_at", ROLLING)
    backfill(stored, date(2026, 9, 15), date(2026, 9, 16))
    assert stored_days(db, "stored") == []
    monkeypatch.setattr(day_counts, "MIN_BASELINE_ROWS", 5 * ROWS)  # exactly 5 days'
    backfill(stored, date(2026, 9, 16), date(2026, 9, 16))
    assert stored_days(db, "stored") == [datetime(2026, 9, d) for d in range(11, 16)]


def test_a_dropped_day_is_counted_again(tmp_path: Path) -> None:
    """A day dropped from the store (out of an earlier baseline, or its settings
    changed) is not read: past GRACE the next store deletes it, maybe between a run
    finding it and reading it. It is counted and stored again instead."""
    db, stored, rows = two_configs(tmp_path, ROLLING)
    for config in (stored, rows):
        backfill(config, date(2026, 9, 16), date(2026, 9, 16))
    write_db(  # 09-12 dropped two days ago; 09-13 lost, so the next run stores
        db,
        "UPDATE stored.day_count_days SET dropped_at = now()::TIMESTAMP - INTERVAL 2 DAY "
        "WHERE day = '2026-09-12'",
        "DELETE FROM stored.day_count_days WHERE day = '2026-09-13'",
    )
    for config in (stored, rows):
        backfill(config, date(2026, 9, 16), date(2026, 9, 16))
    assert_same(metrics(db, "stored"), metrics(db, "from_rows"))
    assert stored_days(db, "stored") == [datetime(2026, 9, d) for d in range(11, 16)]


def test_overlapping_ranges_count_their_rows_once(tmp_path: Path) -> None:
    """A seasonal baseline of a window longer than a week (here 193 hours, on the hour)
    has ranges that overlap by a day and an hour: a row in both is one baseline row,
    whether its day is stored or read."""
    db = tmp_path / "wh.duckdb"
    make_logs(db)
    seasonal = {"kind": "seasonal", "weeks": 2}
    stored = write_config(tmp_path, db, "stored", "built_at", seasonal, window="193h")
    rows = write_config(tmp_path, db, "from_rows", None, seasonal, window="193h")
    for config in (stored, rows):
        report = Runner(load_config(config)).run(
            at=datetime(2026, 9, 18, 7, tzinfo=UTC), build=False, notify=False
        )
        assert [r.status for r in report.runs] == ["ok"], [r.error for r in report.runs]
    assert_same(metrics(db, "stored"), metrics(db, "from_rows"))
    assert stored_days(db, "stored")  # some whole days were stored and read


def test_monitors_on_two_connections_store_at_once(tmp_path: Path) -> None:
    """`warehouse.connections: 2`: two monitors count and store their days at the same
    time, each on its own connection to the one DuckDB file, with the rows' results."""
    db = tmp_path / "wh.duckdb"
    make_logs(db)
    for schema, changed_at in (("stored", "built_at"), ("from_rows", None)):
        config = write_config(tmp_path, db, schema, changed_at, ROLLING)
        doc = yaml.safe_load(config.read_text())
        doc["warehouse"]["connections"] = 2
        first = doc["monitors"][0]
        doc["monitors"] = [
            {**first, "name": "c1"},
            {**first, "name": "c2", "params": {"columns": ["k"], "by": [["device"]]}},
        ]
        config.write_text(yaml.safe_dump(doc), encoding="utf-8")
        backfill(config, date(2026, 9, 14), date(2026, 9, 16))
    assert_same(metrics(db, "stored"), metrics(db, "from_rows"))
    live = read_db(
        db,
        "SELECT monitor, count(*) FROM stored.day_count_days WHERE dropped_at IS NULL "
        "GROUP BY 1 ORDER BY 1",
    )
    assert live == [("c1", 5), ("c2", 5)]


def test_validate_compiles_the_day_count_query(tmp_path: Path) -> None:
    """A check whose day-count macro does not compile is named by `monitor validate`,
    before a run would fall back to its rows with a warning."""
    own = tmp_path / "sql" / "drift"
    own.mkdir(parents=True)
    text = (REPO / "sql" / "drift" / "categorical_drift.sql").read_text()
    broken = text.replace("GROUP BY day, segment, v", "GROUP BY day, segment, v HAVING")
    assert broken != text
    (own / "categorical_drift.sql").write_text(broken)
    db = tmp_path / "wh.duckdb"
    make_logs(db)
    config = write_config(tmp_path, db, "stored", "built_at", ROLLING)
    doc = yaml.safe_load(config.read_text())
    doc["sql_dirs"] = [str(tmp_path / "sql")]
    config.write_text(yaml.safe_dump(doc), encoding="utf-8")
    errors, _ = validate(load_config(config))
    assert any("categorical_drift.sql" in e and "does not parse" in e for e in errors), errors
    (own / "categorical_drift.sql").write_text(text)
    assert validate(load_config(config))[0] == []
