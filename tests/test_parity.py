"""One SQL, many engines, proven equal: every built-in check on DuckDB, PostgreSQL and
Spark over the same data gives the same rows.

The data is a small demo world (raw logs → dbt on DuckDB), its tables copied into a
real PostgreSQL server and a local Spark session. Every check runs through the
product's own path (render → parse → rewrite → transpile → execute). Tolerances:
numbers agree to 1e-9 relative (each engine sums doubles in its own order and
PostgreSQL averages in exact numeric, so the last bits may differ; 1e-9 is a million
times looser than that and far tighter than any threshold), or 1e-12 absolute for
values that cancel to zero; counts and text agree exactly; JSON columns (histograms,
details) are compared value by value with the same rules.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from monitor import day_counts
from monitor.checks import discover_checks
from monitor.config import Config, PostgresWarehouse, SparkWarehouse, load_config
from monitor.dbt import build
from monitor.demo import write_world
from monitor.execute import compile_parts
from monitor.runner import Runner
from monitor.warehouse import Warehouse, connect
from monitor.windows import window_for
from tests.conftest import REPO
from tests.engines import copy_to_postgres, copy_to_spark

pytestmark = pytest.mark.slow

RUN_AT = datetime(2026, 10, 22, 6, tzinfo=UTC)  # day 52: performance has its baseline
MARTS = ("prediction_outcomes", "shadow_pairs")
RAW = ("raw_predictions", "raw_feedback")
COUNTS = {"sample_size", "baseline_size", "dof"}
TEXT = {"segment", "feature", "metric", "test", "reason"}
JSON_COLUMNS = {"histogram", "detail"}
REL, ABS = 1e-9, 1e-12

# Monitors beyond the demo's, so every built-in check and its main options run.
EXTRA_MONITORS = [
    {"name": "p-schema", "model": "fraud", "check": "schema"},
    # max_segments 4 of 7 countries: the segment budget's query and pooled labels too.
    {"name": "p-regression", "model": "fraud", "check": "regression", "window": "7d",
     "lag": "14d", "params": {"by": [["country"]]}, "max_segments": 4},
    {"name": "p-test-share", "model": "fraud_raw", "check": "test_traffic_share",
     "params": {"by": [["device"]]}},
    {"name": "p-nulls-by", "model": "fraud", "check": "null_rate", "max_segments": 4,
     "params": {"columns": ["amount", "merchant_category"], "by": [["country"]]}},
    {"name": "p-classification-by", "model": "fraud", "check": "classification",
     "window": "7d", "lag": "14d", "params": {"by": [["device"]]}},
    {"name": "p-cat-by", "model": "fraud", "check": "categorical_drift",
     "params": {"columns": ["merchant_category"], "by": [["device"]]}},
    # Rolling: the second day reads six days the first one stored (monitor/day_counts.py).
    {"name": "p-cat-rolling", "model": "fraud", "check": "categorical_drift",
     "baseline": {"kind": "rolling", "days": 7},
     "params": {"columns": ["merchant_category", "country"], "by": [["device"]]}},
    {"name": "p-drift-rolling", "model": "fraud", "check": "numeric_drift",
     "baseline": {"kind": "rolling", "days": 7},
     "params": {"columns": ["amount", "distance_km"]}},
    {"name": "p-multivariate", "model": "fraud", "check": "multivariate_drift",
     "params": {"columns": ["amount", "score"], "by": [["country"]]}},
    {"name": "p-estimated", "model": "fraud", "check": "estimated_performance",
     "baseline": {"kind": "rolling", "days": 28},
     "params": {"slices": [["country"]], "bins": 10, "metrics": ["auc", "f1"]}},
    {"name": "p-guardrails-all", "model": "fraud", "check": "slice_metrics",
     "window": "7d", "lag": "14d",
     "params": {"slices": [["country"]], "metrics": ["positive_rate", "precision", "recall",
                                                      "auc"]}},
]  # fmt: skip


def parity_config(root: Path) -> Config:
    """The demo's monitors plus EXTRA_MONITORS: every built-in check, its main options."""
    doc = yaml.safe_load((REPO / "alerts.yaml").read_text())
    doc["warehouse"]["path"] = str(root / "warehouse.duckdb")
    doc["sql_dirs"] = [str(REPO / "sql")]
    doc["dbt"]["project_dir"] = str(REPO / "dbt_project")
    doc["models"]["fraud_raw"] = {**doc["models"]["fraud"], "predictions": "raw_predictions",
                                  "model_name": "fraud"}  # fmt: skip
    doc["models"]["fraud_raw"].pop("compare", None)
    doc["models"]["fraud"]["changed_at"] = "built_at"  # stored day counts (test_runs_record...)
    doc["monitors"] += EXTRA_MONITORS
    path = root / "alerts.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_config(path)


def spoil(path: Path) -> None:
    """Values each engine treats its own way, on purpose, in about 1% of rows each:
    NaN, +inf, -inf and NULL in a numeric feature, NaN and NULL in the score. (The
    demo's NULL spike already writes NaN into account_age_days.)"""
    con = duckdb.connect(str(path))
    con.execute("""
        UPDATE raw_predictions SET
            amount = CASE hash(prediction_id) % 97
                WHEN 0 THEN 'NaN'::DOUBLE WHEN 1 THEN 'inf'::DOUBLE
                WHEN 2 THEN '-inf'::DOUBLE WHEN 3 THEN NULL ELSE amount END,
            score = CASE hash(prediction_id) % 89
                WHEN 0 THEN 'NaN'::DOUBLE WHEN 1 THEN NULL ELSE score END
    """)
    spoilt = con.execute(
        "SELECT count(*) FILTER (WHERE isinf(amount)), count(*) FILTER (WHERE isnan(score)) "
        "FROM raw_predictions WHERE NOT is_test"
    ).fetchone()
    con.close()
    assert spoilt[0] > 100 and spoilt[1] > 50, spoilt


@pytest.fixture(scope="module")
def engines(tmp_path_factory, postgres_server, spark) -> dict[str, Any]:
    """DuckDB builds the marts with dbt; PostgreSQL builds its own from the same raw
    logs with the same dbt project (and they must agree, test_dbt_marts_agree); Spark
    gets DuckDB's marts copied in, the way a Spark user maps tables (docs/engines.md)."""
    config = parity_config(tmp_path_factory.mktemp("parity"))
    write_world(config.warehouse.path, days=52, rows_per_day=300, seed=11)
    spoil(config.warehouse.path)
    build(config)
    con = duckdb.connect(str(config.warehouse.path), read_only=True)
    # label_delay (an interval) is for people and no check reads it; Arrow intervals
    # have no Spark type, so Spark gets it in seconds.
    marts = {name: con.sql(f"SELECT * REPLACE (epoch(label_delay) AS label_delay) FROM {name}")
             .to_arrow_table()
             if name == "prediction_outcomes" else con.table(name).to_arrow_table()
             for name in (*MARTS, *RAW)}  # fmt: skip
    con.close()
    pg = PostgresWarehouse(type="postgres", url=postgres_server.create_database("parity"))
    for name in RAW:
        copy_to_postgres(pg.url, name, marts[name])
    build(config.model_copy(update={"warehouse": pg}))
    for name in (*MARTS, "raw_predictions"):
        copy_to_spark(spark, name, marts[name])
    return {
        "config": config,
        "duckdb": config.warehouse,
        "postgres": pg,
        "spark": SparkWarehouse(type="spark"),
    }


def test_dbt_marts_agree(engines) -> None:
    """The dbt project on PostgreSQL builds the marts DuckDB builds, row for row (all
    but the build's own times and the row hash, which hashes each engine's row text)."""
    own = {"built_at", "outcomes_built_at", "row_hash"}
    with connect(engines["duckdb"], read_only=True) as ref_wh, connect(engines["postgres"]) as wh:
        for name, key in (("prediction_outcomes", "prediction_id"),
                          ("shadow_pairs", "model_name, request_id")):  # fmt: skip
            sql = f"SELECT * FROM {name} ORDER BY {key}"
            reference, rows = ref_wh.execute(sql), wh.execute(sql)
            assert len(reference) == len(rows) > 1000
            assert list(reference[0]) == list(rows[0]), f"{name}: columns differ"
            problems = [
                f"{name} {ref[key.split(',')[0]]}: {column} {ref[column]!r} != {got[column]!r}"
                for ref, got in zip(reference, rows, strict=True)
                for column in ref
                if column not in own and not _identical(ref[column], got[column])
            ]
            assert not problems, "\n".join(problems[:20])


def _identical(a: Any, b: Any) -> bool:
    """Equal, NaN included (the marts copy values: no tolerance)."""
    nan = isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
    return nan or a == b


def _rows(wh: Warehouse, config: Config, monitor: Any) -> list[dict[str, Any]]:
    window = window_for(RUN_AT, monitor)
    rows: list[dict[str, Any]] = []
    checks = discover_checks(config.check_dirs)
    for part in compile_parts(config, checks, monitor, window, RUN_AT, wh.dialect, wh=wh):
        rows += wh.execute(part.sql)
    return rows


def _same(a: Any, b: Any, column: str, where: str) -> list[str]:
    if column in JSON_COLUMNS and isinstance(a, str) and isinstance(b, str):
        return _same(json.loads(a), json.loads(b), "", f"{where}.{column}")
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{where}: keys {sorted(a)} != {sorted(b)}"]
        return [p for k in a for p in _same(a[k], b[k], "", f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items != {len(b)}"]
        return [p for i, (x, y) in enumerate(zip(a, b, strict=True))
                for p in _same(x, y, column, f"{where}[{i}]")]  # fmt: skip
    if column in COUNTS:
        return [] if a == b else [f"{where}: {a!r} != {b!r}"]
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        if math.isnan(a) and math.isnan(b):
            return []
        if math.isclose(a, b, rel_tol=REL, abs_tol=ABS):
            return []
        return [f"{where}: {a!r} != {b!r}"]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def _compare(reference: list[dict], other: list[dict], engine: str) -> list[str]:
    def key(r: dict) -> tuple:
        return (r["segment"], r["feature"], r["metric"])

    ref, got = {key(r): r for r in reference}, {key(r): r for r in other}
    problems = []
    if set(ref) != set(got):
        missing = sorted(set(ref) - set(got))[:5]
        extra = sorted(set(got) - set(ref))[:5]
        problems.append(f"{engine}: rows differ: missing {missing}, extra {extra}")
    for k in sorted(set(ref) & set(got)):
        for column in ref[k]:
            problems += _same(ref[k][column], got[k].get(column), column,
                              f"{engine} {'/'.join(k)} {column}")  # fmt: skip
    return problems


def test_every_builtin_check_is_covered(tmp_path) -> None:
    """The parity runs and the golden SQL (tests/test_golden_dialects.py) cover them all."""
    config = parity_config(tmp_path)
    used = {m.check for m in config.monitors}
    checks = discover_checks(config.check_dirs)
    builtin = {name for name, c in checks.items() if c.path.is_relative_to(REPO / "sql")}
    assert builtin <= used


@pytest.mark.parametrize("engine", ["postgres", "spark"])
def test_checks_agree_with_duckdb(engines, engine) -> None:
    config = engines["config"]
    problems: list[str] = []
    with connect(engines["duckdb"], read_only=True) as ref_wh, connect(engines[engine]) as wh:
        for monitor in config.monitors:
            reference = _rows(ref_wh, config, monitor)
            assert reference, f"{monitor.name}: no rows on DuckDB"
            if monitor.max_segments < 1000:  # the budget pools 3 of the 7 countries
                assert {r["segment"] for r in reference} >= {"country=<other>"}, monitor.name
            try:
                rows = _rows(wh, config, monitor)
            except Exception as exc:  # report every check's failure at once
                problems.append(f"{monitor.name} ({monitor.check}): {exc}")
                continue
            if monitor.check == "schema":  # type names are each engine's own
                reference, rows = _without_detail(reference), _without_detail(rows)
            problems += [f"{monitor.name}: {p}" for p in _compare(reference, rows, engine)]
    assert not problems, "\n".join(problems[:40])


def _without_detail(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "detail"} for r in rows]


def _recorded(results) -> dict[str, Any]:
    return {r.monitor: (r.status, r.error, [row.as_dict() for row in r.rows]) for r in results}


def test_runs_record_the_same_on_every_engine(engines, tmp_path, monkeypatch) -> None:
    """Whole runs, state included: on PostgreSQL the state store lives in the same
    database (its SQL transpiled from DuckDB's); Spark's lives in a separate DuckDB
    file. Two days in a row, so the second run uses the bins the first one froze and
    the schema check compares with the first run's snapshot, and reads the baseline
    days' counts the first one stored (the demo's small days stored as if large)."""
    monkeypatch.setattr(day_counts, "MIN_BASELINE_ROWS", 1)
    base = engines["config"].model_copy(update={"dbt": None})
    duck = tmp_path / "duck.duckdb"
    shutil.copy(engines["duckdb"].path, duck)
    configs = {
        "duckdb": base.model_copy(update={"warehouse": engines["duckdb"].model_copy(
            update={"path": duck})}),
        "postgres": base.model_copy(update={"warehouse": engines["postgres"]}),
        "spark": base.model_copy(update={
            "warehouse": engines["spark"],
            "state": base.state.model_copy(update={"database": engines["duckdb"].model_copy(
                update={"path": tmp_path / "spark_state.duckdb"})}),
        }),
    }  # fmt: skip
    days = (RUN_AT - timedelta(days=1), RUN_AT)
    recorded = {
        engine: [_recorded(Runner(cfg).run(at=day, build=False, notify=False).runs) for day in days]
        for engine, cfg in configs.items()
    }
    problems = []
    for engine in ("postgres", "spark"):
        for day, (ref, got) in enumerate(zip(recorded["duckdb"], recorded[engine], strict=True)):
            for name, (status, error, rows) in ref.items():
                other = got[name]
                if (status, error) != other[:2]:
                    problems.append(f"{engine} day {day} {name}: {other[:2]} != {(status, error)}")
                    continue
                if name == "p-schema":  # type names are each engine's own
                    rows, other = _without_detail(rows), (*other[:2], _without_detail(other[2]))
                problems += [f"day {day} {name}: {p}" for p in _compare(rows, other[2], engine)]
    assert recorded["duckdb"][1]["p-schema"][0] == "ok"
    assert not problems, "\n".join(problems[:40])
    # Where the state is the warehouse's own, the baseline days' counts were stored
    # (and the second day read six of them); Spark's state is elsewhere: none.
    with connect(engines["postgres"]) as pg:
        stored = pg.execute(
            "SELECT day FROM monitor.day_count_days WHERE monitor = 'p-cat-rolling' "
            "AND dropped_at IS NULL ORDER BY day"
        )
    # The second day's baseline: six days the first stored, and the first day's window.
    last = datetime(2026, 10, 20)  # RUN_AT's window is 10-21; its baseline 10-14 .. 10-20
    assert [r["day"] for r in stored] == [last - timedelta(days=k) for k in range(6, -1, -1)]


def _metrics(state: Path) -> dict[str, list[dict[str, Any]]]:
    """Every recorded metric row of a state file, per monitor (run ids aside)."""
    con = duckdb.connect(str(state), read_only=True)
    rows = con.sql("SELECT * EXCLUDE (run_id) FROM monitor.metrics").fetchall()
    names = [d[0] for d in con.sql("SELECT * EXCLUDE (run_id) FROM monitor.metrics").description]
    con.close()
    by_monitor: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        record = dict(zip(names, row, strict=True))
        by_monitor.setdefault(record["monitor"], []).append(record)
    return by_monitor


def test_a_run_over_spark_connect_records_what_duckdb_records(engines, spark_connect, tmp_path):
    """The adapter's `connect_url` path, for real: the marts as Parquet tables on a Spark
    Connect server, one pass of every monitor through `monitor run` in a subprocess (a
    process holds a classic or a Connect session, never both), state in a DuckDB
    file. It records the rows DuckDB's own run records."""
    con = duckdb.connect(str(engines["duckdb"].path), read_only=True)
    statements = []
    for name in (*MARTS, "raw_predictions"):
        select = (f"SELECT * REPLACE (epoch(label_delay) AS label_delay) FROM {name}"
                  if name == "prediction_outcomes" else f"SELECT * FROM {name}")  # fmt: skip
        con.execute(f"COPY ({select}) TO '{tmp_path / name}.parquet' (FORMAT parquet)")
        statements.append(f"CREATE TABLE {name} USING parquet "
                          f"OPTIONS (path '{tmp_path / name}.parquet')")  # fmt: skip
    con.close()
    load = (
        "import sys\nfrom pyspark.sql import SparkSession\n"
        "spark = SparkSession.builder.remote(sys.argv[1]).getOrCreate()\n"
        "for statement in sys.argv[2:]:\n    spark.sql(statement).collect()\n"
    )
    subprocess.run([sys.executable, "-c", load, spark_connect, *statements],
                   check=True, capture_output=True, timeout=300)  # fmt: skip

    doc = yaml.safe_load(engines["config"].path.read_text())
    doc.update(warehouse={"type": "spark", "connect_url": spark_connect}, dbt=None, notify={},
               state={"database": {"type": "duckdb", "path": str(tmp_path / "state.duckdb")}})  # fmt: skip
    config = tmp_path / "alerts.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "run", "--config", str(config), "--at",
         RUN_AT.isoformat(), "--no-build"],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    duck = tmp_path / "duck.duckdb"
    shutil.copy(engines["duckdb"].path, duck)
    reference = engines["config"].model_copy(update={
        "dbt": None, "warehouse": engines["duckdb"].model_copy(update={"path": duck})})  # fmt: skip
    Runner(reference).run(at=RUN_AT, build=False, notify=False)
    expected, got = _metrics(duck), _metrics(tmp_path / "state.duckdb")
    assert set(got) == set(expected) == {m.name for m in engines["config"].monitors}
    problems = []
    for name, rows in expected.items():
        other = got[name]
        if name == "p-schema":  # type names are each engine's own
            rows, other = _without_detail(rows), _without_detail(other)
        problems += [f"{name}: {p}" for p in _compare(rows, other, "spark connect")]
    assert not problems, "\n".join(problems[:40])
