"""`monitor init`: a starter config from one's own tables, that validates and runs as
written (a real DuckDB file of generated logs, a real dbt build, a real PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from monitor.cli import app
from monitor.demo import write_world
from tests.conftest import read_db
from tests.engines import copy_to_postgres


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return 1, str(result.exception)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> Path:
    """Generated prediction and feedback logs (the demo's world, 30 days)."""
    db = tmp_path_factory.mktemp("logs") / "logs.duckdb"
    write_world(db, days=30, rows_per_day=300, seed=5)
    return db


def copy_of(logs: Path, folder: Path) -> Path:
    target = folder / "warehouse.duckdb"
    target.write_bytes(logs.read_bytes())
    return target


def test_init_writes_a_config_that_validates_and_runs(logs: Path, tmp_path: Path) -> None:
    db = copy_of(logs, tmp_path)
    out = tmp_path / "alerts.yaml"
    code, text = cli(
        "init", "--warehouse", str(db), "--predictions", "raw_predictions",
        "--feedback", "raw_feedback", "--out", str(out),
    )  # fmt: skip
    assert code == 0, text
    doc = yaml.safe_load(out.read_text())
    # Relative to the file, so the folder can move; no sql_dirs, no dbt.project_dir.
    assert doc["warehouse"] == {"type": "duckdb", "path": "warehouse.duckdb"}
    assert "sql_dirs" not in doc and "project_dir" not in doc["dbt"]
    assert doc["dbt"]["vars"] == {  # the demo's logs carry their load times: found
        "predictions_table": "raw_predictions",
        "feedback_table": "raw_feedback",
        "loaded_at_column": "loaded_at",
        "feedback_loaded_at_column": "loaded_at",
    }
    model = doc["models"]["fraud"]
    assert model["features"] == {
        "numeric": ["amount", "account_age_days", "tx_count_24h", "tx_count_7d", "distance_km"],
        "categorical": ["merchant_category", "country", "device"],
    }
    assert model["slices"] == ["device", "country"]  # 3 and 7 values: the fewest first
    # What stored day counts are guarded by: the log's load time, which the marts carry.
    assert model["changed_at"] == "loaded_at"
    # The demo's labels arrive 1-30 days late: the 90th percentile, in whole days.
    assert 20 <= int(model["label_maturity"].removesuffix("d")) <= 30
    checks = {m["check"] for m in doc["monitors"]}
    assert checks == {
        "numeric_drift", "multivariate_drift", "categorical_drift", "row_count", "null_rate",
        "freshness", "classification", "estimated_performance", "slice_metrics",
        "shadow_disagreement", "score_comovement", "paired_outcomes",
    }  # fmt: skip
    assert "# " in out.read_text()  # commented for the person who edits it next

    code, text = cli("validate", "--config", str(out), "--json")
    assert code == 0, text
    assert json.loads(text)["ok"] is True

    # Runs as written: the bundled dbt project builds, every monitor records rows.
    code, text = cli("backfill", "--config", str(out), "--from", "2026-09-29", "--to", "2026-09-30")
    assert code == 0, text
    recorded = read_db(db, "SELECT monitor, count(*) FROM monitor.metrics GROUP BY monitor")
    assert {m for m, n in recorded if n > 0} == {m["name"] for m in doc["monitors"]}
    statuses = read_db(db, "SELECT DISTINCT status FROM monitor.runs")
    assert statuses and {s for (s,) in statuses} <= {"ok", "no_data"}
    # dbt wrote nothing beside the config (its target/ and logs/ go to a work folder).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alerts.yaml", "warehouse.duckdb"]


def test_without_feedback_there_are_no_outcome_monitors_and_dbt_still_builds(
    logs: Path, tmp_path: Path
) -> None:
    db = copy_of(logs, tmp_path)
    out = tmp_path / "alerts.yaml"
    code, text = cli(
        "init", "--warehouse", str(db), "--predictions", "raw_predictions", "--out", str(out)
    )
    assert code == 0, text
    doc = yaml.safe_load(out.read_text())
    assert doc["dbt"]["vars"]["feedback_table"] is None
    assert "label_maturity" not in doc["models"]["fraud"]
    checks = {m["check"] for m in doc["monitors"]}
    assert not checks & {"classification", "regression", "slice_metrics", "paired_outcomes",
                         "estimated_performance"}  # fmt: skip
    assert {"shadow_disagreement", "numeric_drift", "freshness"} <= checks
    code, text = cli("backfill", "--config", str(out), "--from", "2026-09-30", "--to", "2026-09-30")
    assert code == 0, text
    # The feedback model is built empty: no outcome is known yet.
    assert read_db(db, "SELECT count(*), count(label) FROM prediction_outcomes")[0][1] == 0


def test_init_refuses_to_overwrite_without_force(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "alerts.yaml"
    out.write_text("# mine\n")
    args = ("init", "--warehouse", str(logs), "--predictions", "raw_predictions", "--out", str(out))
    code, text = cli(*args)
    assert code == 1 and "exists: pass --force" in text
    assert out.read_text() == "# mine\n"
    code, text = cli(*args, "--force")
    assert code == 0, text
    assert "monitors:" in out.read_text()


def test_missing_tables_and_columns_are_named(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        "CREATE TABLE preds AS SELECT 'p1' AS prediction_id, TIMESTAMP '2026-01-01' AS ts, "
        "'m' AS model_name, 0.3 AS score"
    )
    con.execute("CREATE TABLE fb AS SELECT 'p1' AS prediction_id, 1 AS label")
    con.close()
    out = tmp_path / "alerts.yaml"
    code, text = cli("init", "--warehouse", str(db), "--predictions", "nope", "--out", str(out))
    assert code == 1 and "--predictions nope: not found in the warehouse" in text
    code, text = cli(
        "init", "--warehouse", str(db), "--predictions", "preds", "--feedback", "fb", "--out", str(out)
    )  # fmt: skip
    assert code == 1
    assert "preds lacks the column(s) request_id, model_version, role, is_test" in text
    assert "fb lacks the column(s) request_id, label_ts" in text
    assert not out.exists()
    code, text = cli(
        "init", "--warehouse", str(tmp_path / "none.duckdb"), "--predictions", "p", "--out", str(out)
    )  # fmt: skip
    assert code == 1 and "no DuckDB file there" in text


def test_columns_are_typed_and_ids_are_not_features(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        """
        CREATE TABLE preds AS
        SELECT 'p' || i AS prediction_id, 'r' || i AS request_id,
               TIMESTAMP '2026-01-01' + INTERVAL (i) MINUTE AS ts,
               'Credit Risk v2' AS model_name, 'v1' AS model_version, 'production' AS role,
               0.5 AS score, false AS is_test,
               i AS n_int, CAST(i AS DECIMAL(10, 2)) AS n_dec, i % 2 = 0 AS flag,
               ['a', 'b', 'c'][1 + i % 3] AS tier, 'user-' || i AS user_id,
               TIMESTAMP '2026-01-01' AS signup_ts, TIMESTAMP '2026-01-02' AS loaded_at,
               ['x', 'y'] AS tags, CAST(NULL AS VARCHAR) AS empty_text,
               i * 0.5 AS "Mixed Case"
        FROM range(2000) AS t(i)
        """
    )
    con.close()
    out = tmp_path / "alerts.yaml"
    code, text = cli("init", "--warehouse", str(db), "--predictions", "preds", "--out", str(out))
    assert code == 0, text
    doc = yaml.safe_load(out.read_text())
    ((key, model),) = doc["models"].items()
    assert key == "credit_risk_v2" and model["model_name"] == "Credit Risk v2"
    # user_id has 2,000 values: an id, not a feature.
    # Names as the warehouse spells them, quoted where YAML needs it.
    assert model["features"] == {
        "numeric": ["n_int", "n_dec", "Mixed Case"], "categorical": ["flag", "tier"],
    }  # fmt: skip
    assert model["slices"] == ["tier"]  # a string with few values; booleans are no slice
    assert model["shadow_pairs"] is None  # no shadow role in the log
    assert doc["dbt"]["vars"]["loaded_at_column"] == "loaded_at"
    assert "# not a feature: signup_ts (type timestamp" in out.read_text()
    assert "# not a feature: user_id (2,000+ distinct values" in out.read_text()
    assert "# not a feature: tags (type varchar[]" in out.read_text()  # a list, not a scalar
    assert "# not a feature: empty_text (no values in the sample" in out.read_text()
    code, text = cli("validate", "--config", str(out))
    assert code == 0, text


def test_init_from_postgresql_keeps_the_password_out_of_the_file(
    logs: Path, tmp_path: Path, postgres_server, monkeypatch
) -> None:
    url = postgres_server.create_database("init_pg")
    con = duckdb.connect(str(logs), read_only=True)
    for name in ("raw_predictions", "raw_feedback"):
        copy_to_postgres(url, name, con.table(name).to_arrow_table())
    con.close()
    with_password = url.replace("@", ":s3cret@", 1)
    out = tmp_path / "alerts.yaml"
    code, text = cli(
        "init", "--warehouse", with_password, "--predictions", "raw_predictions",
        "--feedback", "raw_feedback", "--out", str(out),
    )  # fmt: skip
    assert code == 0, text
    written = out.read_text()
    assert "s3cret" not in written
    doc = yaml.safe_load(written)
    assert doc["warehouse"]["type"] == "postgres"
    assert doc["warehouse"]["password_env"] == "MONITOR_PG_PASSWORD"
    assert doc["models"]["fraud"]["features"]["numeric"] == [
        "amount", "account_age_days", "tx_count_24h", "tx_count_7d", "distance_km",
    ]  # fmt: skip
    monkeypatch.setenv("MONITOR_PG_PASSWORD", "s3cret")
    code, text = cli("validate", "--config", str(out))
    assert code == 0, text
