"""Every built-in check ships unit tests (`<check>.tests.yaml` beside it) that pin its
formulas to hand-computed values; they pass on DuckDB and on a real PostgreSQL server,
and between them they name every metric each check declares."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.check_tests import collect_cases, run_check_tests
from monitor.checks import discover_checks
from monitor.config import Config, load_config
from tests.conftest import REPO


def builtin_config(tmp_path: Path, state: str = "") -> Config:
    (tmp_path / "alerts.yaml").write_text(
        f"warehouse: {{type: duckdb, path: {tmp_path / 'wh.duckdb'}}}\n{state}"
        f"sql_dirs: [{REPO / 'sql'}]\nmodels: {{}}\n"
    )
    return load_config(tmp_path / "alerts.yaml")


def failures(config: Config, dialect: str) -> list[str]:
    results = run_check_tests(config, dialect=dialect)
    assert len(results) >= 5 * len(discover_checks(config.sql_dirs))
    return [f for r in results for f in r.failures]


def test_every_builtin_check_has_cases_for_every_metric_it_declares(tmp_path) -> None:
    config = builtin_config(tmp_path)
    cases = collect_cases(config)
    for name, check in discover_checks(config.sql_dirs).items():
        own = [c for c in cases if c.check == name]
        assert own, f"{name} has no tests file"
        pinned = {e.metric for c in own for e in c.expect or () if "value" in e.pins}
        assert set(check.metrics) <= pinned, f"{name}: no case pins {set(check.metrics) - pinned}"
        worked = [c for c in own if c.expect]
        assert all(c.description for c in worked), f"{name}: a case without its hand computation"


def test_the_builtin_cases_pass_on_duckdb(tmp_path) -> None:
    assert failures(builtin_config(tmp_path), "duckdb") == []


@pytest.mark.slow
def test_the_builtin_cases_pass_on_postgres(tmp_path, postgres_server) -> None:
    url = postgres_server.create_database("builtin_cases")
    config = builtin_config(tmp_path, f"state: {{database: {{type: postgres, url: '{url}'}}}}\n")
    assert failures(config, "postgres") == []
