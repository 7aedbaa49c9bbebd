"""Benchmark: what a run costs on small data, where the cost is overhead, not statistics.

    python -m bench.overhead [--days 35] [--rows-per-day 4000] [--baseline REV] [--profile]

Writes the demo world (`--days` of logs at `--rows-per-day`) into a temporary DuckDB
file, builds the dbt marts once, then times `backfill` of every demo monitor over all
those days (monitors × days runs; no dbt build, no notifications) in a process of
its own, after imports, with the demo's settings (its `warehouse.connections`: 2). A
run's overhead is its time minus its check's own queries
(the queries not addressed to the state schema): rendering, compiling, state reads
and writes, the alert stage. With `--baseline REV`, the same backfill runs on a checkout of
git revision REV too (a temporary worktree), on a copy of the same file, so the two
are measured in one session on one machine: the ratio is the figure to compare. Both
run only the monitors whose check REV has too (`left_out` names the others).

`--profile` adds where the time went (cProfile, cumulative seconds of the calls that
matter: Jinja rendering, sqlglot parsing and transpiling, state writes, warehouse
queries).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]

# Runs in the measured process: PYTHONPATH points at the checkout being measured.
BACKFILL = r"""
import cProfile, json, pstats, sys, time
from monitor.config import load_config
from monitor.runner import Runner
from monitor import demo

from monitor.warehouse.duckdb import DuckDBWarehouse

config_path, days, profile = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
# The checks' own queries (everything not addressed to the state schema): what is left
# of a run's time without them is its overhead.
check_seconds = [0.0]
execute = DuckDBWarehouse.execute
def timed(self, sql, params=None):
    started = time.perf_counter()
    try:
        return execute(self, sql, params)
    finally:
        if '"monitor".' not in sql and "information_schema" not in sql:
            check_seconds[0] += time.perf_counter() - started
DuckDBWarehouse.execute = timed
config = load_config(config_path)
first, last = demo.period(days)
runner = Runner(config, notifiers=[])
profiler = cProfile.Profile() if profile else None
started = time.perf_counter()
if profiler:
    profiler.enable()
report = runner.backfill(first, last, build=False, notify=False)
if profiler:
    profiler.disable()
seconds = time.perf_counter() - started
runs = getattr(report, "runs", report)  # older checkouts return the list itself
out = {"seconds": seconds, "runs": len(runs), "check_query_seconds": check_seconds[0],
       "errors": [r.error for r in runs if r.status == "error"][:3]}
if profiler:
    stats = pstats.Stats(profiler)
    def cumulative(*names):
        total = 0.0
        for (path, _, func), (_, _, _, ct, _) in stats.stats.items():
            if any(func == f and path.endswith(p) for p, f in names):
                total += ct
        return total
    out["profile"] = {
        "jinja render": cumulative(("jinja2/environment.py", "render")),
        "sqlglot parse": cumulative(("sqlglot/__init__.py", "parse_one")),
        "sqlglot transpile": cumulative(("sqlglot/expressions.py", "sql")),
        "compile (all)": cumulative(("monitor/checks.py", "compile_check")),
        "insert_rows": cumulative(("monitor/warehouse/duckdb.py", "insert_rows")),
        "warehouse execute": cumulative(("monitor/warehouse/duckdb.py", "execute")),
        "alert stage": cumulative(("monitor/alerting.py", "process_pass"),
                                  ("monitor/alerts/stage.py", "process_pass")),
    }
print(json.dumps(out))
"""


def demo_config(root: Path, db: Path, copies: int = 1) -> Path:
    """The demo's alerts.yaml on `db`, without notifications, its monitors `copies`
    times over (copies under new names)."""
    doc = yaml.safe_load((ROOT / "alerts.yaml").read_text(encoding="utf-8"))
    doc["warehouse"]["path"] = str(db)
    doc.pop("notify", None)
    doc["dbt"]["work_dir"] = str(root / "dbt-work")
    doc["monitors"] = [
        {**m, "name": m["name"] + (f"-{n}" if n else "")}
        for n in range(copies)
        for m in doc["monitors"]
    ]
    path = root / f"alerts-{copies}.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def prepare(root: Path, days: int, rows_per_day: int) -> Path:
    """The demo world with its marts built, and a config pointing at it."""
    sys.path.insert(0, str(ROOT))
    from monitor import dbt, demo
    from monitor.config import load_config

    db = root / "warehouse.duckdb"
    demo.write_world(db, days, rows_per_day)
    config_path = demo_config(root, db)
    dbt.build(load_config(config_path))
    return config_path


def same_monitors(config_path: Path, checkout: Path) -> tuple[Path, list[str]]:
    """The config with only the monitors whose check the other checkout has too, so both
    run the same work (a check added since is left out of the comparison); and the
    names of those left out."""
    known = {p.stem for p in (checkout / "sql").rglob("*.sql") if p.parent.name != "macros"}
    doc = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    left_out = [m["name"] for m in doc["monitors"] if m["check"] not in known]
    doc["monitors"] = [m for m in doc["monitors"] if m["check"] in known]
    path = config_path.with_name("alerts-common.yaml")
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path, left_out


def measure(
    checkout: Path,
    config_path: Path,
    days: int,
    profile: bool,
    copy_to: Path,
    connections: int | None = None,
) -> dict[str, Any]:
    """One backfill in its own process, on a fresh copy of the prepared file (with
    `connections`, that many instead of the demo's)."""
    doc = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    copy_to.mkdir(parents=True, exist_ok=True)
    db = copy_to / "warehouse.duckdb"
    shutil.copy(doc["warehouse"]["path"], db)
    doc["warehouse"]["path"] = str(db)
    doc["dbt"]["build_before_checks"] = False
    if connections is not None:
        doc["warehouse"]["connections"] = connections
    if checkout != ROOT:  # an older checkout: the settings it knows (its own defaults)
        doc["warehouse"].pop("connections", None)
    own = copy_to / "alerts.yaml"
    own.write_text(yaml.safe_dump(doc), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run(
        [sys.executable, "-c", BACKFILL, str(own), str(days), "1" if profile else "0"],
        env=env, cwd=copy_to, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"backfill on {checkout} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["errors"]:
        raise SystemExit(f"runs failed on {checkout}: {result['errors']}")
    result["ms_per_run"] = 1000 * result["seconds"] / result["runs"]
    if doc["warehouse"].get("connections", 1) == 1:  # else the queries overlap
        overhead = result["seconds"] - result["check_query_seconds"]
        result["overhead_ms_per_run"] = 1000 * overhead / result["runs"]
    else:
        del result["check_query_seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--rows-per-day", type=int, default=4000)
    parser.add_argument("--baseline", help="a git revision to measure in the same session")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        root = Path(tmp)
        config_path = prepare(root / "world", args.days, args.rows_per_day)
        results: dict[str, Any] = {}
        # The demo's settings, and one connection (where a run's overhead shows).
        if not args.baseline:
            results["current"] = measure(ROOT, config_path, args.days, args.profile, root / "a")
            results["one_connection"] = measure(
                ROOT, config_path, args.days, args.profile, root / "one", 1
            )
        else:
            tree = root / "baseline"
            subprocess.run(
                ["git", "worktree", "add", "--detach", "--quiet", str(tree), args.baseline],
                cwd=ROOT, check=True,
            )  # fmt: skip
            try:
                config_path, results["left_out"] = same_monitors(config_path, tree)
                results["current"] = measure(ROOT, config_path, args.days, args.profile, root / "a")
                results["one_connection"] = measure(
                    ROOT, config_path, args.days, args.profile, root / "one", 1
                )
                results["baseline"] = measure(
                    tree, config_path, args.days, args.profile, root / "b"
                )
            finally:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=True
                )
            results["speedup"] = results["baseline"]["seconds"] / results["current"]["seconds"]
    print(json.dumps({"days": args.days, "rows_per_day": args.rows_per_day, **results}, indent=2))


if __name__ == "__main__":
    main()
