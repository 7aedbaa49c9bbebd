"""Build the dbt project in-process (dbtRunner) before the checks run.

A failed build raises DbtError carrying dbt's own message for each failing node; it is
never swallowed. Vars come from alerts.yaml: `dbt.vars`, plus each model's label
maturity and slice columns, so the dbt project needs no copy of the config.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock, Timeout

from monitor import bundled
from monitor.config import Config, DuckDBWarehouse, PostgresWarehouse
from monitor.errors import DbtError

# The outputs of dbt_project/profiles.yml.
BUNDLED_TARGETS = ("duckdb", "postgres")
BUILD_LOCK_WAIT = 1800  # seconds another process's dbt build may hold the work folder
# The vars that say where the logs are and which delivery of a prediction wins. An
# incremental build cannot see that they changed (the stored rows were chosen by the
# old rule), so when they differ from the last build's the marts are rebuilt.
REBUILD_VARS = (
    "predictions_table",
    "feedback_table",
    "loaded_at_column",
    "feedback_loaded_at_column",
)

log = logging.getLogger(__name__)


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


def build(config: Config, select: list[str] | None = None, full_refresh: bool = False) -> None:
    """`dbt build` (models + tests) against the configured warehouse.

    `full_refresh` rebuilds the incremental marts from the raw logs (after a change
    their incremental build cannot see, such as rows deleted from a raw log)."""
    if config.dbt is None:
        return
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
    project = config.dbt_project
    if not (project / "dbt_project.yml").exists():
        raise DbtError(f"{project}: no dbt_project.yml (see dbt.project_dir in alerts.yaml)")
    profiles, target = profile_and_target(config)
    os.environ.update(profile_env(config))
    from dbt.cli.main import dbtRunner

    work = work_dir(config)
    build_vars = dbt_vars(config)
    rules = {name: build_vars.get(name) for name in REBUILD_VARS}
    rules_file = work / "marts-rules.json"
    if not full_refresh and select is None and _last_rules(rules_file) != rules:
        log.info("the logs' vars differ from the last build's (%s): rebuilding the marts", rules)
        full_refresh = True
    args = [
        "build",
        "--project-dir", str(project),
        "--profiles-dir", str(profiles),
        "--target-path", str(work / "target"),
        "--log-path", str(work / "logs"),
        "--vars", json.dumps(build_vars),
        "--quiet",
    ]  # fmt: skip
    if target:
        args += ["--target", target]
    if select:
        args += ["--select", *select]
    if full_refresh:
        args.append("--full-refresh")
    # One build at a time per work folder (a daemon and a backfill on one host share it).
    try:
        with FileLock(work / "build.lock", timeout=BUILD_LOCK_WAIT):
            try:
                result = dbtRunner().invoke(args)
            finally:
                _release_duckdb()
    except Timeout:
        raise DbtError(
            f"another dbt build has held {work / 'build.lock'} for {BUILD_LOCK_WAIT}s; "
            "try again when it has finished"
        ) from None
    if result.success:
        if select is None:
            rules_file.write_text(json.dumps(rules), encoding="utf-8")
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
    log_file = work / "logs" / "dbt.log"
    raise DbtError("dbt build failed: " + ("; ".join(failures) or f"see {log_file}"))


def _last_rules(path: Path) -> dict[str, Any] | None:
    """The REBUILD_VARS of the last successful build from this work folder; None when
    unknown (a new or cleared folder: the marts are rebuilt once, to be sure)."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def profile_and_target(config: Config) -> tuple[Path, str | None]:
    """Which profiles.yml and output dbt builds with.

    Profiles: `dbt.profiles_dir`, else $DBT_PROFILES_DIR when its profiles.yml has the
    project's profile (a dbt user's global ~/.dbt seldom has the bundled one), else the
    project's own folder. Output: `dbt.target`, else $DBT_TARGET, else the profile's
    choice (the bundled profile picks warehouse.type). The bundled profile builds only
    where the checks read: its duckdb or postgres output, matching warehouse.type.
    """
    assert config.dbt is not None
    project = config.dbt_project
    env_dir = os.environ.get("DBT_PROFILES_DIR")
    if config.dbt.profiles_dir is not None:
        profiles = config.dbt.profiles_dir
    elif env_dir and _profile_name(project) in _profiles(Path(env_dir)):
        profiles = Path(env_dir)
    else:
        profiles = project
    target = config.dbt.target or os.environ.get("DBT_TARGET") or None
    if profiles.resolve() != bundled.dbt_project_dir().resolve():
        return profiles, target
    wanted = target or config.warehouse.type
    given = "dbt.target" if config.dbt.target else "$DBT_TARGET" if target else "warehouse.type"
    if wanted not in BUNDLED_TARGETS:
        raise DbtError(
            f"the bundled dbt profile has outputs for {' and '.join(BUNDLED_TARGETS)}, not "
            f"{wanted} ({given}): set dbt.profiles_dir (or DBT_PROFILES_DIR) to a profile of "
            "your own, or build elsewhere and set dbt.build_before_checks: false "
            "(docs/engines.md)"
        )
    if wanted != config.warehouse.type:
        raise DbtError(
            f"{given} is {wanted}, but the warehouse is {config.warehouse.type}: the bundled "
            "profile builds where the checks read; unset it, or use a profile of your own"
        )
    return profiles, target


def _profile_name(project: Path) -> str | None:
    name = _yaml_mapping(project / "dbt_project.yml").get("profile")
    return name if isinstance(name, str) else None


def _profiles(folder: Path) -> set[str]:
    """The profile names a profiles.yml defines (its values may hold Jinja; the keys
    do not)."""
    return set(_yaml_mapping(folder / "profiles.yml"))


def _yaml_mapping(path: Path) -> dict[str, Any]:
    """A YAML file's top-level mapping; empty when it is missing or not a mapping."""
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return spec if isinstance(spec, dict) else {}


def work_dir(config: Config) -> Path:
    """Where dbt writes target/ and logs/: `dbt.work_dir`, else a cache folder per
    config and project. Never the project itself, which may sit inside an installed
    package or a read-only checkout; kept between builds so dbt parses partially."""
    configured = config.dbt.work_dir if config.dbt else None
    if configured is not None:
        folder = configured
    else:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        key = hashlib.sha256(f"{config.path}\0{config.dbt_project}".encode()).hexdigest()[:12]
        folder = cache / "sql-drift-monitor" / "dbt" / key
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DbtError(
            f"cannot create dbt's work folder {folder}: {exc.strerror} (set dbt.work_dir "
            "in alerts.yaml to a writable folder)"
        ) from None
    return folder


def profile_env(config: Config) -> dict[str, str]:
    """The variables the bundled profiles.yml reads, from alerts.yaml `warehouse`, so
    dbt builds where the checks read: the DuckDB file, or the PostgreSQL database and
    the schema its connection resolves unqualified names in. MONITOR_DBT_TARGET picks
    the profile's output; a profile of your own may read these too."""
    wh = config.warehouse
    target: dict[str, str] = {"MONITOR_DBT_TARGET": wh.type}
    if isinstance(wh, DuckDBWarehouse):
        return {**target, "MONITOR_DUCKDB_PATH": str(wh.path)}
    if isinstance(wh, PostgresWarehouse):
        from psycopg.conninfo import conninfo_to_dict

        from monitor.warehouse import connect

        with connect(wh, read_only=True) as pg:  # a clear error when it is down
            schema = pg.execute("SELECT current_schema() AS s")[0]["s"]
        parts = conninfo_to_dict(wh.url)
        password = os.environ.get(wh.password_env) if wh.password_env else None
        user = str(parts.get("user") or os.environ.get("PGUSER") or getpass.getuser())
        return {
            **target,
            "MONITOR_PG_HOST": str(parts.get("host") or os.environ.get("PGHOST", "localhost")),
            "MONITOR_PG_PORT": str(parts.get("port") or os.environ.get("PGPORT", "5432")),
            "MONITOR_PG_USER": user,
            "MONITOR_PG_PASSWORD": str(
                password or parts.get("password") or os.environ.get("PGPASSWORD", "")
            ),
            "MONITOR_PG_DBNAME": str(parts.get("dbname") or os.environ.get("PGDATABASE", user)),
            "MONITOR_PG_SCHEMA": str(schema),
        }
    return target


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
