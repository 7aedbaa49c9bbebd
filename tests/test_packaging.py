"""The product as a team installs it: a wheel, a fresh virtualenv outside the checkout,
and a config with neither `sql_dirs` nor `dbt.project_dir`."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

pytestmark = pytest.mark.slow
SKIP = shutil.ignore_patterns(
    ".git", ".venv*", "demo", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
    ".hypothesis", "target", "logs", "dbt_packages", "tests", "bench",
)  # fmt: skip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the checkout (a build leaves build/ behind)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=SKIP)
    # What a local dbt build or test run leaves in a checkout: none of it may ship.
    for leftover in ("dbt_project/target/manifest.json", "dbt_project/logs/dbt.log",
                     "dbt_project/dbt_packages/x/dbt_project.yml", "sql/scratch.duckdb"):  # fmt: skip
        (source / leftover).parent.mkdir(parents=True, exist_ok=True)
        (source / leftover).write_text("{}")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(root),
            str(source),
        ],
        check=True,
    )
    (built,) = root.glob("sql_drift_monitor-*.whl")
    return built


def tracked(folder: str) -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", folder], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    return {name for name in listed if (REPO / name).exists()}


def test_the_wheel_carries_every_check_and_the_dbt_project(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("sql", "dbt_project"):
        files = tracked(folder)
        assert files, folder
        missing = {f for f in files if f"monitor/{f}" not in names}
        assert not missing, f"not in the wheel: {sorted(missing)}"
    # Every module of the package (a new subpackage must be listed in pyproject.toml).
    modules = {f for f in tracked("monitor") if f.endswith(".py")}
    assert modules and not sorted(modules - names), "add the subpackage to pyproject.toml"
    assert "monitor/py.typed" in names
    licences = {n.split("/licenses/", 1)[1] for n in names if "/licenses/" in n}
    assert licences == {"LICENSE", "monitor/report/vendor/LICENSE", "monitor/report/vendor/NOTICE"}
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: MIT" in text
    assert "Requires-Dist: sqlglot[c]<31,>=30" in text
    # Nothing from a local dbt build or a test run (the fixture left some in the source).
    leftovers = ("/target/", "/logs/", "/dbt_packages/", ".duckdb")
    assert not [n for n in names if any(part in n for part in leftovers)]


def test_installed_wheel_starts_from_its_own_tables(wheel: Path, tmp_path: Path) -> None:
    """pip install of the wheel, then README's init, validate, backfill and alerts: from
    a folder outside the checkout, with the built-in checks and the bundled dbt project
    (no sql_dirs, no dbt.project_dir), writing nothing inside the installed package."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    # The pinned versions (constraints.txt) come from pip's cache when make installed them.
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-c", str(REPO / "constraints.txt"), str(wheel)],
        check=True,
    )  # fmt: skip
    work = tmp_path / "team"
    work.mkdir()
    outside = ("PYTHONPATH", "MONITOR_CONFIG", "SLACK_BOT_TOKEN", "PAGERDUTY_ROUTING_KEY")
    env = {k: v for k, v in os.environ.items() if k not in outside}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")

    def run(*args: str) -> str:
        done = subprocess.run(
            [str(venv / "bin" / "monitor"), *args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, f"monitor {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    where = subprocess.run(
        [str(python), "-c", "from monitor import bundled; print(bundled.checks_dir()); "
         "print(bundled.dbt_project_dir())"],
        cwd=work, env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert all(Path(p).is_relative_to(venv) for p in where), where
    package = Path(where[0]).parent
    before = sorted(p for p in package.rglob("*") if "__pycache__" not in p.parts)

    assert run("--version").startswith("sql-drift-monitor ")
    # The team's own tables: generated logs with incidents in them (monitor.demo).
    subprocess.run(
        [str(python), "-c", "from pathlib import Path; from monitor.demo import write_world; "
         "write_world(Path('warehouse.duckdb'), days=35, rows_per_day=1000, seed=3)"],
        cwd=work, env=env, check=True, capture_output=True,
    )  # fmt: skip
    # README's "On your own data", command by command (its pip install is ours above).
    commands = readme_commands()
    assert commands[0][:2] == ["pip", "install"] and len(commands) == 5
    outputs = [run(*command[1:]) for command in commands[1:]]
    config = yaml.safe_load((work / "alerts.yaml").read_text())
    assert "sql_dirs" not in config and "project_dir" not in config["dbt"]
    assert "ok: alerts.yaml" in outputs[1]
    assert "firing" in outputs[3]  # the first alerts, from the planted incidents

    import duckdb

    con = duckdb.connect(str(work / "warehouse.duckdb"), read_only=True)
    rows = con.execute("SELECT count(*), count(DISTINCT monitor) FROM monitor.metrics").fetchone()
    con.close()
    assert rows is not None and rows[0] > 0 and rows[1] == len(config["monitors"])
    after = sorted(p for p in package.rglob("*") if "__pycache__" not in p.parts)
    assert after == before  # dbt's target/ and logs/ went to the cache folder
    assert (tmp_path / "cache" / "sql-drift-monitor" / "dbt").is_dir()
    assert sorted(p.name for p in work.iterdir()) == ["alerts.yaml", "warehouse.duckdb"]


def readme_commands() -> list[list[str]]:
    """The commands of README's "On your own data" block, comments dropped."""
    text = (REPO / "README.md").read_text()
    block = text.split("### 2. On your own data", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]
