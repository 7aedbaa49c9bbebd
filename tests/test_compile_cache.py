"""Compile once (monitor/compile_cache.py): a backfill's later windows reuse an earlier
window's parsed and transpiled SQL when their rendering differs only in the times, and
the SQL is exactly what a fresh compile gives: for every built-in check on every
dialect, and for templates that branch on a time, fail on one, or write it as a date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from monitor.bundled import checks_dir
from monitor.checks import discover_checks
from monitor.compile_cache import CompileCache
from monitor.config import load_config
from monitor.execute import compile_parts
from monitor.warehouse import connect
from monitor.windows import window_for
from tests.test_golden_dialects import golden_config

DIALECTS = ("duckdb", "postgres", "spark", "snowflake", "bigquery", "trino", "databricks")
# Five daily fire times whose windows cross a month boundary (September into October).
FIRES = [datetime(2026, 9, 28, 6, tzinfo=UTC) + timedelta(days=i) for i in range(5)]


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return golden_config(tmp_path_factory.mktemp("cache"))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_builtin_check_compiles_the_same_through_the_cache(config, dialect) -> None:
    checks = discover_checks(config.check_dirs)
    cache = CompileCache()
    fresh = fitted = 0
    with connect(config.warehouse, read_only=True) as wh:
        for monitor in config.monitors:
            for at in FIRES:
                window = window_for(at, monitor)
                args = (config, checks, monitor, window, at, dialect)
                want = compile_parts(*args, wh=wh)
                got = compile_parts(*args, wh=wh, cache=cache)
                assert got == want, f"{monitor.name} at {at:%Y-%m-%d}"
                if checks[monitor.check].fit:
                    fitted += len(want)
                else:
                    fresh += len(want)
    # Reuse happened: each monitor's parts transpiled 3 times (first, second, the
    # probe), not once per window. A check with `fit:` may render other numbers each
    # window (a map fitted on a moving baseline, not frozen without a store): at most
    # one transpile a window.
    assert cache.transpiled <= 3 * fresh / len(FIRES) + fitted, (cache.transpiled, fresh)


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


# Fifteen daily windows: a month boundary, two weekends, a cutover date.
DAYS = [datetime(2026, 9, 20, 6, tzinfo=UTC) + timedelta(days=i) for i in range(15)]


@pytest.mark.parametrize(
    "expression",
    [
        "{{ window.start.day }}",
        "{{ window.start.month }}",
        "{{ window.start.weekday() }}",
        "{{ 1 if window.start.day == 1 else 0 }}",  # the first of the month only
        "{{ 1 if window.start.weekday() >= 5 else 0 }}",  # weekends
        "{{ 1 if window.start.isoformat() >= '2026-09-25' else 0 }}",  # a cutover
        "{{ (window.start | string)[:10] | literal }}",  # a date, not a TIMESTAMP literal
        "{{ fail('no data before 2000') if window.start.year < 2000 else 0 }}",
    ],
)
def test_a_template_using_a_time_otherwise_compiles_as_fresh(tmp_path, expression) -> None:
    """Every window's rendering is its own (the template's branches, its fail(), a date
    it writes), so the SQL equals a fresh compile whatever the template does."""
    config, checks = world_with(
        tmp_path,
        "SELECT 'all' AS segment, '' AS feature, 'x' AS metric, "
        f"{expression} AS value, {{{{ window.end | literal }}}} IS NOT NULL AS sample_size",
    )
    (monitor,) = config.monitors
    cache = CompileCache()
    for at in DAYS:
        window = window_for(at, monitor)
        args = (config, checks, monitor, window, at, "duckdb")
        assert compile_parts(*args, cache=cache) == compile_parts(*args), at


def test_a_template_using_times_only_as_literals_is_transpiled_three_times(tmp_path) -> None:
    """Durations (the same in every window) and literals retime; nothing else differs."""
    config, checks = world_with(
        tmp_path,
        "SELECT 'all' AS segment, '' AS feature, 'x' AS metric, "
        "{{ (window.end - window.start).total_seconds() }} AS value, "
        "count(*) AS sample_size FROM preds WHERE ts >= {{ window.start | literal }} "
        "AND ts < {{ window.end | literal }} AND ts <= {{ run_at | literal }} "
        "AND {{ run_at.isoformat() | literal }} IS NOT NULL",
    )
    (monitor,) = config.monitors
    cache = CompileCache()
    for at in DAYS:
        window = window_for(at, monitor)
        args = (config, checks, monitor, window, at, "postgres")
        assert compile_parts(*args, cache=cache) == compile_parts(*args)
    assert cache.transpiled == 3


def test_a_transpile_that_reads_a_time_is_not_reused() -> None:
    """The cache's own check: a transpile whose output depends on the text of a time
    (here, on its year: the same in every real window, caught by the far probe; or on
    its day, caught at the second window) is run for every window."""
    from monitor.checks import CompiledCheck
    from monitor.compile_cache import PROBE_SHIFT

    check = next(iter(discover_checks([checks_dir()]).values()))
    windows = [datetime(2026, 9, 20, tzinfo=UTC) + timedelta(days=i) for i in range(5)]

    def render(context: dict) -> str:
        return f"SELECT TIMESTAMP '{context['t']:%Y-%m-%d %H:%M:%S.%f}'"

    def by_year(sql: str) -> CompiledCheck:
        return CompiledCheck(check, {}, sql, sql + (" -- old" if "'1" in sql else ""))

    def by_day(sql: str) -> CompiledCheck:
        return CompiledCheck(check, {}, sql, sql + (" -- 21st" if "-21 " in sql else ""))

    for transpile in (by_year, by_day):
        cache = CompileCache()
        for t in windows:
            got = cache.get(("k",), {"t": t}, render, transpile)
            assert got == transpile(render({"t": t}))
        assert cache.transpiled == len(windows) + (1 if transpile is by_year else 0)
    assert (windows[0] - PROBE_SHIFT).year < 2000  # the probe's year starts with 1
