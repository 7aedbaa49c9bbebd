"""Golden transpiled SQL of every built-in check for the engines not run here.

Snowflake, BigQuery, Trino and Databricks are optional extras with no local server;
what this suite can hold fixed is the exact SQL each receives. A change to a check, a
macro, a dialect rewrite or sqlglot shows up as a diff here, to be read and accepted:
regenerate with `UPDATE_GOLDEN=1 pytest tests/test_golden_dialects.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from monitor.checks import discover_checks
from monitor.config import Config
from monitor.execute import compile_monitor
from monitor.warehouse import connect
from monitor.windows import window_for
from tests.conftest import REPO
from tests.test_parity import RUN_AT, parity_config

GOLDEN = REPO / "tests" / "golden" / "dialects"
DIALECTS = ("snowflake", "bigquery", "trino", "databricks")


def golden_config(folder: Path) -> Config:
    """The parity monitors, over a DuckDB file whose predictions table has a few of
    the demo's columns: the schema check renders the columns it finds there. Four rows
    in a seasonal baseline day of RUN_AT give multivariate_drift a basis to write out,
    one whose numbers are exact on any machine (uncorrelated columns of equal spread:
    the identity, scales √½; the demo's fraud-feature-relations finds no finite
    account_age_days there, so it renders without one). Four labelled rows give the
    estimated_performance monitors a calibration map each.)"""
    config = parity_config(folder)
    con = duckdb.connect(str(config.warehouse.path))
    con.execute(
        "CREATE TABLE prediction_outcomes (prediction_id VARCHAR, ts TIMESTAMP, "
        "model_name VARCHAR, role VARCHAR, score DOUBLE, amount DOUBLE, country VARCHAR, "
        "account_age_days DOUBLE, tx_count_24h DOUBLE, tx_count_7d DOUBLE, distance_km DOUBLE, "
        "label DOUBLE, device VARCHAR)"
    )
    con.execute(
        "INSERT INTO prediction_outcomes (prediction_id, ts, model_name, role, score, amount, "
        "country) SELECT 'p' || i, TIMESTAMP '2026-10-14 12:00', 'fraud', 'production', score, "
        "amount, 'FR' "
        "FROM (VALUES (1, 0.0, 1.0), (2, 0.0, -1.0), (3, 1.0, 0.0), (4, -1.0, 0.0)) "
        "AS t(i, score, amount)"
    )
    # A negative at 0.25 and a positive at 0.75, labelled, in the demo's fixed baseline
    # and in p-estimated's rolling one: the calibration maps to write out are exact.
    con.execute(
        "INSERT INTO prediction_outcomes (prediction_id, ts, model_name, role, score, label, "
        "country, device) SELECT 'q' || i, ts, 'fraud', 'production', score, label, 'FR', 'ios' "
        "FROM (VALUES (1, TIMESTAMP '2026-09-02 12:00', 0.25, 0.0), "
        "(2, TIMESTAMP '2026-09-02 12:00', 0.75, 1.0), (3, TIMESTAMP '2026-09-20 12:00', 0.25, 0.0), "
        "(4, TIMESTAMP '2026-09-20 12:00', 0.75, 1.0)) AS t(i, ts, score, label)"
    )
    # The raw log the fraud_raw monitors read (empty): their slices' segment budget
    # is asked of it.
    con.execute("CREATE TABLE raw_predictions AS SELECT * FROM prediction_outcomes WHERE false")
    con.close()
    return config


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Config:
    return golden_config(tmp_path_factory.mktemp("golden"))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_transpiled_sql_matches_the_golden_files(config, dialect) -> None:
    checks = discover_checks(config.check_dirs)
    folder = GOLDEN / dialect
    written = set()
    with connect(config.warehouse, read_only=True) as wh:
        compiled = {
            m.name: compile_monitor(
                config, checks, m, window_for(RUN_AT, m), RUN_AT, dialect, wh=wh
            ).sql
            for m in config.monitors
        }
    for monitor in config.monitors:
        sql = compiled[monitor.name]
        path = folder / f"{monitor.name}.sql"
        written.add(path.name)
        if os.environ.get("UPDATE_GOLDEN"):
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(sql + "\n")
        assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1"
        assert path.read_text() == sql + "\n", f"{path} differs: review, then UPDATE_GOLDEN=1"
    assert {p.name for p in folder.glob("*.sql")} == written
