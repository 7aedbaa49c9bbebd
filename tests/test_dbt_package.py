"""The bundled dbt project as dbt users run it: the raw logs are sources (lineage,
`dbt source freshness`), a team's own dbt project installs it as a package and builds
the marts into its own schema, and DBT_PROFILES_DIR / DBT_TARGET pick the profile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from monitor import bundled
from monitor.cli import app
from monitor.demo import write_world
from tests.conftest import read_db

pytestmark = pytest.mark.slow
DBT = Path(sys.executable).parent / "dbt"


def dbt(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DBT), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", **(env or {})},
        timeout=300,
    )


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("logs") / "logs.duckdb"
    write_world(db, days=30, rows_per_day=300, seed=9)
    return db


def test_a_teams_dbt_project_builds_the_marts_into_its_own_schema(
    logs: Path, tmp_path: Path
) -> None:
    db = tmp_path / "warehouse.duckdb"
    db.write_bytes(logs.read_bytes())
    outer = tmp_path / "analytics"
    outer.mkdir()
    project = {
        "name": "analytics", "version": "1.0.0", "config-version": 2, "profile": "analytics",
        # The package's vars, scoped to it, as the runner would pass them.
        "vars": {"sql_drift_monitor": {
            "predictions_table": "raw_predictions", "feedback_table": "raw_feedback",
            "label_maturity_hours": {"fraud": 336}, "slice_columns": ["country", "device"],
        }},
        "models": {"sql_drift_monitor": {"+schema": "ml_monitoring"}},
    }  # fmt: skip
    (outer / "dbt_project.yml").write_text(yaml.safe_dump(project))
    (outer / "packages.yml").write_text(
        yaml.safe_dump({"packages": [{"local": str(bundled.dbt_project_dir())}]})
    )
    (outer / "profiles.yml").write_text(
        yaml.safe_dump(
            {
                "analytics": {
                    "target": "dev",
                    "outputs": {"dev": {"type": "duckdb", "path": str(db)}},
                }
            }
        )
    )
    done = dbt("deps", "--profiles-dir", ".", cwd=outer)
    assert done.returncode == 0, done.stdout
    done = dbt("build", "--profiles-dir", ".", cwd=outer)
    assert done.returncode == 0, done.stdout
    # dbt's default schema naming: <target schema>_<custom schema>.
    tables = {r[0] for r in read_db(db, "SELECT table_name FROM information_schema.tables "
                                        "WHERE table_schema = 'main_ml_monitoring'")}  # fmt: skip
    assert {"prediction_outcomes", "shadow_pairs", "stg_predictions", "stg_feedback"} <= tables

    # The monitor reads the marts there, and builds nothing itself (no dbt: section).
    doc = yaml.safe_load((Path(__file__).parents[1] / "alerts.yaml").read_text())
    doc.pop("dbt")
    doc["warehouse"]["path"] = str(db)
    doc["models"]["fraud"]["predictions"] = "main_ml_monitoring.prediction_outcomes"
    doc["models"]["fraud"]["shadow_pairs"] = "main_ml_monitoring.shadow_pairs"
    config = tmp_path / "alerts.yaml"
    config.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(
        app, ["backfill", "--config", str(config), "--from", "2026-09-29", "--to", "2026-09-30"]
    )
    assert result.exit_code == 0, result.output
    monitors = read_db(db, "SELECT count(DISTINCT monitor) FROM monitor.metrics")[0][0]
    assert monitors == len(doc["monitors"])


def write_raw(db: Path, newest: datetime) -> None:
    """One prediction and one label, the newest at `newest`."""
    con = duckdb.connect(str(db))
    con.execute(
        "CREATE OR REPLACE TABLE raw_predictions AS SELECT 'p1' AS prediction_id, "
        "'r1' AS request_id, ?::TIMESTAMP AS ts, 'fraud' AS model_name, 'v1' AS model_version, "
        "'production' AS role, 0.5 AS score, false AS is_test",
        [newest],
    )
    con.execute(
        "CREATE OR REPLACE TABLE raw_feedback AS SELECT 'p1' AS prediction_id, "
        "'r1' AS request_id, 1.0 AS label, ?::TIMESTAMP AS label_ts",
        [newest],
    )
    con.close()


def freshness(project: Path, work: Path, db: Path, feedback: str | None) -> dict[str, str]:
    """`dbt source freshness` of the bundled project: status per source table."""
    vars_ = json.dumps({"predictions_table": "raw_predictions", "feedback_table": feedback})
    done = dbt(
        "source", "freshness", "--project-dir", str(project), "--profiles-dir", str(project),
        "--target", "duckdb",  # not what an earlier in-process build left in the environment
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"), "--vars", vars_,
        cwd=work, env={"MONITOR_DUCKDB_PATH": str(db)},
    )  # fmt: skip
    sources = json.loads((work / "target" / "sources.json").read_text())
    assert sources["results"], done.stdout
    return {r["unique_id"].split(".", 2)[2]: r["status"] for r in sources["results"]}


def files_of(folder: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in folder.rglob("*") if p.is_file()}


def test_the_raw_logs_are_sources_with_freshness(tmp_path: Path) -> None:
    project = bundled.dbt_project_dir()
    before = files_of(project)
    db = tmp_path / "wh.duckdb"
    now = datetime.utcnow()
    write_raw(db, now - timedelta(hours=1))
    fresh = freshness(project, tmp_path, db, "raw_feedback")
    assert fresh == {"monitor_predictions.predictions": "pass", "monitor_feedback.feedback": "pass"}
    write_raw(db, now - timedelta(days=3))
    stale = freshness(project, tmp_path, db, "raw_feedback")
    # Predictions older than a day are an error; labels may lag two days (a warning).
    assert stale == {
        "monitor_predictions.predictions": "error",
        "monitor_feedback.feedback": "warn",
    }
    # Without a feedback log its source is disabled, not reported missing.
    assert freshness(project, tmp_path, db, None) == {"monitor_predictions.predictions": "error"}
    # Lineage: the staging models depend on the sources.
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    stg = manifest["nodes"]["model.sql_drift_monitor.stg_predictions"]
    assert stg["depends_on"]["nodes"] == [
        "source.sql_drift_monitor.monitor_predictions.predictions"
    ]
    # Nothing was written inside the bundled project.
    assert files_of(project) == before


def test_dbt_profiles_dir_and_target_from_the_environment(
    logs: Path, tmp_path: Path, monkeypatch
) -> None:
    """A team's own profile, picked by DBT_PROFILES_DIR and DBT_TARGET: its `ci` output
    builds the marts into the schema ci_marts, where the config reads them."""
    db = tmp_path / "warehouse.duckdb"
    db.write_bytes(logs.read_bytes())
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    outputs = {
        "dev": {"type": "duckdb", "path": str(tmp_path / "elsewhere.duckdb")},
        "ci": {"type": "duckdb", "path": str(db), "schema": "ci_marts"},
    }
    (profiles / "profiles.yml").write_text(
        yaml.safe_dump({"sql_drift_monitor": {"target": "dev", "outputs": outputs}})
    )
    doc = yaml.safe_load((Path(__file__).parents[1] / "alerts.yaml").read_text())
    doc["warehouse"]["path"] = str(db)
    doc["dbt"]["vars"] = {"predictions_table": "main.raw_predictions",
                          "feedback_table": "main.raw_feedback"}  # fmt: skip
    doc["models"]["fraud"]["predictions"] = "ci_marts.prediction_outcomes"
    doc["models"]["fraud"]["shadow_pairs"] = "ci_marts.shadow_pairs"
    doc["monitors"] = [m for m in doc["monitors"] if m["check"] == "row_count"]
    config = tmp_path / "alerts.yaml"
    config.write_text(yaml.safe_dump(doc))
    monkeypatch.setenv("DBT_PROFILES_DIR", str(profiles))
    monkeypatch.setenv("DBT_TARGET", "ci")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    result = CliRunner().invoke(app, ["run", "--config", str(config), "--at", "2026-09-30T06:00"])
    assert result.exit_code == 0, result.output
    assert read_db(db, "SELECT count(*) FROM ci_marts.prediction_outcomes")[0][0] > 0
    assert not (tmp_path / "elsewhere.duckdb").exists()  # not the profile's default target
    assert read_db(db, "SELECT count(*) FROM monitor.metrics")[0][0] > 0
    # dbt's target/ and logs/ went to the work folder under the cache, not the project.
    assert list((tmp_path / "cache" / "sql-drift-monitor" / "dbt").glob("*/target/manifest.json"))


def config_with(tmp_path: Path, warehouse: dict, dbt_section: dict):
    from monitor.config import load_config

    doc = {"warehouse": warehouse, "dbt": dbt_section, "models": {}}
    if warehouse["type"] not in ("duckdb", "postgres"):
        doc["state"] = {"database": {"type": "duckdb", "path": str(tmp_path / "s.duckdb")}}
    path = tmp_path / "alerts.yaml"
    path.write_text(yaml.safe_dump(doc))
    return load_config(path)


def test_which_profile_and_output_dbt_builds_with(tmp_path: Path, monkeypatch) -> None:
    from monitor.dbt import profile_and_target
    from monitor.errors import DbtError

    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    monkeypatch.delenv("DBT_TARGET", raising=False)
    duck = {"type": "duckdb", "path": str(tmp_path / "w.duckdb")}
    bundled_dir = bundled.dbt_project_dir()
    # The bundled project: its own profile, the output named by warehouse.type.
    assert profile_and_target(config_with(tmp_path, duck, {})) == (bundled_dir, None)
    # A team's own project with profiles.yml inside it, on an engine the bundled profile
    # lacks: its own profile, no complaint.
    own = tmp_path / "own"
    own.mkdir()
    (own / "dbt_project.yml").write_text("name: own\nprofile: own\nconfig-version: 2\n")
    (own / "profiles.yml").write_text("own: {target: prod, outputs: {prod: {type: spark}}}\n")
    spark = config_with(
        tmp_path, {"type": "spark"}, {"project_dir": str(own), "profiles_dir": str(own)}
    )
    assert profile_and_target(spark) == (own, None)
    # A global DBT_PROFILES_DIR without the bundled project's profile is not used for it...
    home = tmp_path / "dot-dbt"
    home.mkdir()
    (home / "profiles.yml").write_text("warehouse: {target: dev, outputs: {dev: {type: duckdb}}}\n")
    monkeypatch.setenv("DBT_PROFILES_DIR", str(home))
    assert profile_and_target(config_with(tmp_path, duck, {}))[0] == bundled_dir
    # ... and is when it has it; DBT_TARGET picks its output.
    (home / "profiles.yml").write_text(
        "sql_drift_monitor: {target: dev, outputs: {dev: {type: duckdb}}}\n"
    )
    monkeypatch.setenv("DBT_TARGET", "ci")
    assert profile_and_target(config_with(tmp_path, duck, {})) == (home, "ci")
    # With the bundled profile, a target it lacks, or one that is not the warehouse, is
    # refused with where it came from.
    monkeypatch.delenv("DBT_PROFILES_DIR")
    with pytest.raises(DbtError, match=r"outputs for duckdb and postgres, not ci \(\$DBT_TARGET\)"):
        profile_and_target(config_with(tmp_path, duck, {}))
    monkeypatch.setenv("DBT_TARGET", "postgres")
    with pytest.raises(DbtError, match=r"\$DBT_TARGET is postgres, but the warehouse is duckdb"):
        profile_and_target(config_with(tmp_path, duck, {}))
    monkeypatch.delenv("DBT_TARGET")
    with pytest.raises(DbtError, match=r"not spark \(warehouse.type\)"):
        profile_and_target(config_with(tmp_path, {"type": "spark"}, {}))
