"""Shared fixtures: a real DuckDB file per test, configs written to tmp folders."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest
import yaml
from typer.testing import CliRunner

from monitor.cli import app
from monitor.config import load_config
from monitor.execute import RunResult
from monitor.runner import Runner
from tests.slack_server import FakeSlack

REPO = Path(__file__).resolve().parents[1]
os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write alerts.yaml into tmp_path; `{repo}` in the text is the repository root."""

    def write(text: str, name: str = "alerts.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).replace("{repo}", str(REPO)), encoding="utf-8")
        return path

    return write


# A check that reads a column that does not exist: every run of it is an error.
BROKEN_CHECK = """\
/* ---
name: broken
description: Reads a column that does not exist.
returns: [segment, feature, metric, value, sample_size]
--- */
SELECT 'all' AS segment, '' AS feature, 'm' AS metric, no_such_column AS value, 1 AS sample_size
FROM {{ model.predictions | table }}
"""

BASE_DAY = "2026-09-01"  # baseline rows' day
CUR_DAY = "2026-09-08"  # current rows' day (a run at 2026-09-09 looks at it)
RUN_AT = "2026-09-09T06:00:00"


def write_table(db: Path, table: str, cols: dict[str, list[Any]]) -> None:
    """Replace `table` in the DuckDB file with these columns (NULL stays NULL, NaN NaN)."""
    arrow = pa.table({k: pa.array(v, from_pandas=False) for k, v in cols.items()})
    con = duckdb.connect(str(db))
    try:
        con.register("incoming", arrow)
        con.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT * FROM incoming')
    finally:
        con.close()


class World:
    """A real DuckDB file with one prediction table, and a config that watches it."""

    def __init__(self, root: Path):
        self.root = root
        self.db = root / "wh.duckdb"
        self.sql_dirs = [str(REPO / "sql")]

    def load(
        self, baseline: dict[str, list[Any]], current: dict[str, list[Any]], table: str = "preds"
    ) -> None:
        """Rows of the model 'm' (production): baseline on BASE_DAY, current on CUR_DAY."""
        cols: dict[str, list[Any]] = {}
        for day, part in ((BASE_DAY, baseline), (CUR_DAY, current)):
            n = len(next(iter(part.values()))) if part else 0
            for k, v in part.items():
                cols.setdefault(k, []).extend(v)
            cols.setdefault("ts", []).extend([datetime.fromisoformat(f"{day}T12:00:00")] * n)
        n_all = len(cols["ts"])
        cols.setdefault("model_name", ["m"] * n_all)
        cols.setdefault("role", ["production"] * n_all)
        write_table(self.db, table, cols)

    def config(self, monitors: list[dict[str, Any]], **top: Any) -> Path:
        doc = {
            "warehouse": {"type": "duckdb", "path": str(self.db)},
            "sql_dirs": self.sql_dirs,
            "models": {"m": {"predictions": "preds"}},
            "monitors": [
                {
                    "model": "m",
                    "baseline": {"kind": "fixed", "start": BASE_DAY, "end": "2026-09-02"},
                    "min_samples": 1,
                    **m,
                }
                for m in monitors
            ],
            **top,
        }
        path = self.root / "alerts.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return path

    def run(self, monitors: list[dict[str, Any]], **top: Any) -> list[RunResult]:
        config = load_config(self.config(monitors, **top))
        return Runner(config).run(at=datetime.fromisoformat(RUN_AT).replace(tzinfo=UTC)).runs


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def read_db(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Run one query on a DuckDB file through a read-only connection, closed after."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def metric_map(result: RunResult) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(segment, feature, metric) -> row as a dict (to compare column by column with
    expected values), asserting the run succeeded."""
    assert result.status != "error", result.error
    return {(r.segment, r.feature, r.metric): r.as_dict() for r in result.rows}


def load_pairs(world: World, *parts: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """A shadow_pairs table `pairs` from column dicts, concatenated (plus an unused
    one-row predictions table, so the World's model has one)."""
    cols: dict[str, list[Any]] = {}
    for part in parts:
        for k, v in part.items():
            cols.setdefault(k, []).extend(v)
    world.load({"x": [1.0]}, {"x": [1.0]})
    write_table(world.db, "pairs", cols)
    return cols


def pair_columns(
    request_ids: list[str],
    ts: list[datetime],
    prod: np.ndarray,
    shadow: np.ndarray,
    has_production: np.ndarray,
    has_shadow: np.ndarray,
    country: np.ndarray,
    label: list[float | None] | None = None,
) -> dict[str, list[Any]]:
    """The columns of a shadow_pairs table for model 'm': a side the request lacks has no
    score (NULL), as dbt's full outer join leaves it."""
    n = len(request_ids)
    return {
        "model_name": ["m"] * n,
        "request_id": list(request_ids),
        "ts": list(ts),
        "has_production": [bool(k) for k in has_production],
        "has_shadow": [bool(k) for k in has_shadow],
        "prod_score": [float(v) if k else None for v, k in zip(prod, has_production, strict=True)],
        "shadow_score": [float(v) if k else None for v, k in zip(shadow, has_shadow, strict=True)],
        "label": list(label) if label is not None else [None] * n,
        "country": [str(c) for c in country],
    }


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server for the test session (tests/engines.py)."""
    from tests.engines import PostgresServer

    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def spark_connect():
    """A Spark Connect server's URL (tests/engines.py); its clients run in subprocesses."""
    from tests.engines import SparkConnectServer

    server = SparkConnectServer().start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def spark():
    """A local Spark session for the test session (one JVM start)."""
    from tests.engines import spark_session

    session = spark_session()
    yield session
    session.stop()


DEMO_DAYS = 22


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """`monitor demo` on a small world, once per session (test_demo, test_report)."""
    root = tmp_path_factory.mktemp("demo")
    doc = yaml.safe_load((REPO / "alerts.yaml").read_text())
    doc["warehouse"]["path"] = str(root / "warehouse.duckdb")
    doc["sql_dirs"] = [str(REPO / "sql")]
    doc["dbt"]["project_dir"] = str(REPO / "dbt_project")
    config = root / "alerts.yaml"
    config.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(
        app, ["demo", "--config", str(config), "--days", str(DEMO_DAYS), "--rows-per-day", "2500"]
    )
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    rows = con.execute(
        "SELECT monitor, segment, feature, metric, window_start, status FROM monitor.metrics "
        "WHERE status IN ('warn', 'alert')"
    ).fetchall()
    counts = con.execute("SELECT count(*) FROM monitor.metrics").fetchone()
    con.close()
    return result, rows, counts, config


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    """A Slack-API-compatible server on 127.0.0.1; the token is in $TEST_SLACK_TOKEN."""
    server = FakeSlack()
    monkeypatch.setenv("TEST_SLACK_TOKEN", "xoxb-test")
    yield server
    server.stop()
