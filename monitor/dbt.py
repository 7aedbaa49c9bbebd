"""Build the dbt project in-process (dbtRunner) before the checks run.

A failed build raises DbtError carrying dbt's own message for each failing node; it is
never swallowed. Vars come from alerts.yaml: `dbt.vars`, plus each model's label
maturity and slice columns, so the dbt project needs no copy of the config.
"""

from __future__ import annotations

import json
import os
from typing import Any

from monitor.config import Config
from monitor.errors import DbtError


def dbt_vars(config: Config) -> dict[str, Any]:
    maturity = {
        config.model_rows_name(key): model.label_maturity.total_seconds() / 3600
        for key, model in config.models.items()
    }
    slices = sorted({c for model in config.models.values() for c in model.slices})
    return {
        "label_maturity_hours": maturity,
        "slice_columns": slices,
        **(config.dbt.vars if config.dbt else {}),
    }


def build(config: Config, select: list[str] | None = None) -> None:
    """`dbt build` (models + tests) against the configured warehouse."""
    if config.dbt is None:
        return
    if config.warehouse.type != "duckdb":
        raise DbtError(
            f"the bundled dbt project builds on duckdb only so far, not {config.warehouse.type}: "
            "build it with your own dbt profile and set dbt.build_before_checks: false"
        )
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
    os.environ["MONITOR_DUCKDB_PATH"] = str(config.warehouse.path)
    from dbt.cli.main import dbtRunner

    project = config.dbt.project_dir
    if not (project / "dbt_project.yml").exists():
        raise DbtError(f"{project}: no dbt_project.yml (see dbt.project_dir in alerts.yaml)")
    args = [
        "build",
        "--project-dir", str(project),
        "--profiles-dir", str(config.dbt.profiles_dir or project),
        "--vars", json.dumps(dbt_vars(config)),
        "--quiet",
    ]  # fmt: skip
    if select:
        args += ["--select", *select]
    try:
        result = dbtRunner().invoke(args)
    finally:
        _release_duckdb()
    if result.success:
        return
    if result.exception is not None:
        raise DbtError(f"dbt build failed: {result.exception}")
    failures = []
    for node in getattr(result.result, "results", None) or []:
        status = str(getattr(node, "status", "")).lower()
        if status in ("error", "fail"):
            name = getattr(getattr(node, "node", None), "name", "?")
            message = " ".join((getattr(node, "message", "") or status).split())
            failures.append(f"{name}: {message}")
    raise DbtError("dbt build failed: " + ("; ".join(failures) or "see dbt_project/logs/dbt.log"))


def _release_duckdb() -> None:
    """Close the DuckDB connection dbt-duckdb keeps in a class attribute.

    dbt-duckdb closes its database only when every cursor handle is returned, which
    does not happen after an in-process build; left open, it keeps the file locked
    against analysts and conflicts with our own connection's settings.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        if env is not None:
            env.close()
            DuckDBConnectionManager._ENV = None
