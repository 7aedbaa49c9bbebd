"""Compile once (monitor/compile_cache.py): a backfill's later windows reuse the first
window's SQL with only the time literals replaced, and the SQL is exactly what a fresh
compile gives, for every built-in check on every dialect; a template that uses a time
any other way (its weekday, its month) is never reused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from monitor.checks import discover_checks
from monitor.compile_cache import CompileCache
from monitor.config import load_config
from monitor.execute import compile_parts
from monitor.warehouse import connect
from monitor.windows import window_for
from tests.test_parity import parity_config

DIALECTS = ("duckdb", "postgres", "spark", "snowflake", "bigquery", "trino", "databricks")
# Five daily fire times whose windows cross a month boundary (September into October).
FIRES = [datetime(2026, 9, 28, 6, tzinfo=UTC) + timedelta(days=i) for i in range(5)]


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    config = parity_config(tmp_path_factory.mktemp("cache"))
    con = duckdb.connect(str(config.warehouse.path))
    con.execute(
        "CREATE TABLE prediction_outcomes (prediction_id VARCHAR, ts TIMESTAMP, "
        "model_name VARCHAR, role VARCHAR, score DOUBLE, amount DOUBLE, country VARCHAR)"
    )
    con.close()
    return config


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_builtin_check_compiles_the_same_through_the_cache(config, dialect) -> None:
    checks = discover_checks(config.check_dirs)
    cache = CompileCache()
    fresh = 0
    with connect(config.warehouse, read_only=True) as wh:
        for monitor in config.monitors:
            for at in FIRES:
                window = window_for(at, monitor)
                args = (config, checks, monitor, window, at, dialect)
                want = compile_parts(*args, wh=wh)
                got = compile_parts(*args, wh=wh, cache=cache)
                assert got == want, f"{monitor.name} at {at:%Y-%m-%d}"
                fresh += len(want)
    # Reuse happened: each monitor's parts compiled 3 times (first, second, the probe),
    # not once per window.
    assert cache.compiled <= 3 * fresh / len(FIRES), (cache.compiled, fresh)


def world_with(tmp_path: Path, template: str) -> tuple[object, object]:
    sql = tmp_path / "sql"
    sql.mkdir()
    (sql / "by_time.sql").write_text(
        "/* ---\nname: by_time\nfamily: quality\ndescription: uses a time\n"
        "returns: [segment, feature, metric, value, sample_size]\n--- */\n" + template,
        encoding="utf-8",
    )
    doc = {
        "warehouse": {"type": "duckdb", "path": str(tmp_path / "w.duckdb")},
        "sql_dirs": [str(sql)],
        "models": {"m": {"predictions": "preds"}},
        "monitors": [{"name": "t", "model": "m", "check": "by_time", "schedule": "0 6 * * *"}],
    }
    path = tmp_path / "alerts.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    config = load_config(path)
    return config, discover_checks(config.check_dirs)


@pytest.mark.parametrize(
    "expression",
    [
        "{{ window.start.day }}",  # the same in no two windows of a month
        "{{ window.start.month }}",  # changes only at the month boundary
        "{{ window.start.weekday() }}",
        "{{ (window.start | string)[:10] | literal }}",  # a date, not a TIMESTAMP literal
        "{{ 1 if window.start.year >= 2026 else 0 }}",  # the same in every window here
    ],
)
def test_a_template_using_a_time_otherwise_is_compiled_for_each_window(
    tmp_path, expression
) -> None:
    config, checks = world_with(
        tmp_path,
        "SELECT 'all' AS segment, '' AS feature, 'x' AS metric, "
        f"{expression} AS value, {{{{ window.end | literal }}}} IS NOT NULL AS sample_size",
    )
    (monitor,) = config.monitors
    cache = CompileCache()
    for at in FIRES:
        window = window_for(at, monitor)
        args = (config, checks, monitor, window, at, "duckdb")
        assert compile_parts(*args, cache=cache) == compile_parts(*args)
    assert cache.compiled == len(FIRES) + 1  # every window, and one probe that said no


def test_a_template_using_times_only_as_literals_is_compiled_three_times(tmp_path) -> None:
    """Durations (the same in every window) and literals retime; nothing else differs."""
    config, checks = world_with(
        tmp_path,
        "SELECT 'all' AS segment, '' AS feature, 'x' AS metric, "
        "{{ (window.end - window.start).total_seconds() }} AS value, "
        "count(*) AS sample_size FROM preds WHERE ts >= {{ window.start | literal }} "
        "AND ts < {{ window.end | literal }} AND ts <= {{ run_at | literal }}",
    )
    (monitor,) = config.monitors
    cache = CompileCache()
    for at in FIRES:
        window = window_for(at, monitor)
        args = (config, checks, monitor, window, at, "postgres")
        assert compile_parts(*args, cache=cache) == compile_parts(*args)
    assert cache.compiled == 3
