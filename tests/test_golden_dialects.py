"""Golden transpiled SQL of every built-in check for the engines not run here.

Snowflake, BigQuery, Trino and Databricks are optional extras with no local server;
what this suite can hold fixed is the exact SQL each receives. A change to a check, a
macro, a dialect rewrite or sqlglot shows up as a diff here, to be read and accepted:
regenerate with `UPDATE_GOLDEN=1 pytest tests/test_golden_dialects.py`.
"""

from __future__ import annotations

import os

import pytest

from monitor.runner import Runner
from monitor.windows import window_for
from tests.conftest import REPO
from tests.test_parity import RUN_AT, parity_config

GOLDEN = REPO / "tests" / "golden" / "dialects"
DIALECTS = ("snowflake", "trino", "databricks")  # bigquery: see docs/engines.md


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return parity_config(tmp_path_factory.mktemp("golden"))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_transpiled_sql_matches_the_golden_files(config, dialect) -> None:
    runner = Runner(config)
    folder = GOLDEN / dialect
    written = set()
    for monitor in config.monitors:
        sql = runner.compile(monitor, window_for(RUN_AT, monitor), RUN_AT, dialect).sql
        path = folder / f"{monitor.name}.sql"
        written.add(path.name)
        if os.environ.get("UPDATE_GOLDEN"):
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(sql + "\n")
        assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1"
        assert path.read_text() == sql + "\n", f"{path} differs: review, then UPDATE_GOLDEN=1"
    assert {p.name for p in folder.glob("*.sql")} == written
