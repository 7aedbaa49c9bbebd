"""Benchmark: how the cost of a run and of a marts build grows with history.

    python -m bench.scale [--histories 30,180,365] [--rows-per-day 4000] [--window-days 7]

For each history H (days of logs at the same per-day volume) the demo world is written
into a fresh DuckDB file and its marts built in full; then:

- new day: one more day of logs is appended to the raw tables and the marts built
  again (what a daily `monitor run` pays before its checks);
- backfill: every demo monitor over the last `--window-days` days (13 × that many runs,
  no build, no notifications), as time per run;
- monitors: the same backfill with the monitor list three times over (copies under new
  names), as time per run, at the smallest history only.

The figures to read are the ratios against the smallest history, measured in one run
(this machine is shared; absolute seconds move with its load). Each measurement runs
in its own process after imports, like bench/overhead.py.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from bench.overhead import demo_config

ROOT = Path(__file__).resolve().parents[1]

BACKFILL = r"""
import json, sys, time
from datetime import date
from monitor.config import load_config
from monitor.runner import Runner

config = load_config(sys.argv[1])
first, last = date.fromisoformat(sys.argv[2]), date.fromisoformat(sys.argv[3])
started = time.perf_counter()
report = Runner(config, notifiers=[]).backfill(first, last, build=False, notify=False)
seconds = time.perf_counter() - started
errors = [r.error for r in report.runs if r.status == "error"]
print(json.dumps({"seconds": seconds, "runs": len(report.runs), "errors": errors[:3]}))
"""

BUILD = r"""
import json, sys, time
from monitor import dbt
from monitor.config import load_config

config = load_config(sys.argv[1])
started = time.perf_counter()
dbt.build(config)
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def _run(script: str, *args: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"bench step failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result.get("errors"):
        raise SystemExit(f"runs failed: {result['errors']}")
    return result


def _append_day(db: Path, days: int, rows_per_day: int) -> None:
    """The world's next day of logs (generated with the world one day longer)."""
    sys.path.insert(0, str(ROOT))
    from monitor import demo

    *_, (predictions, feedback) = demo.generate_days(days + 1, rows_per_day)
    con = duckdb.connect(str(db))
    try:
        for table, arrow in (("raw_predictions", predictions), ("raw_feedback", feedback)):
            con.register("incoming", arrow)
            con.execute(f"INSERT INTO {table} SELECT * FROM incoming")
            con.unregister("incoming")
    finally:
        con.close()


def measure_history(
    root: Path, history: int, rows_per_day: int, window_days: int
) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from monitor import demo

    db = root / "warehouse.duckdb"
    started = time.perf_counter()
    demo.write_world(db, history, rows_per_day)
    written = time.perf_counter() - started
    config = demo_config(root, db)
    full = _run(BUILD, str(config))["seconds"]
    _append_day(db, history, rows_per_day)
    new_day = _run(BUILD, str(config))["seconds"]
    _, last = demo.period(history)
    first = last - timedelta(days=window_days - 1)
    backfill = _run(BACKFILL, str(config), first.isoformat(), last.isoformat())
    return {
        "history_days": history,
        "world_seconds": written,
        "full_build_seconds": full,
        "new_day_build_seconds": new_day,
        "backfill_runs": backfill["runs"],
        "ms_per_run": 1000 * backfill["seconds"] / backfill["runs"],
        "_db": db,
        "_window": (first, last),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--histories", default="30,180,365")
    parser.add_argument("--rows-per-day", type=int, default=4000)
    parser.add_argument("--window-days", type=int, default=7)
    args = parser.parse_args()
    histories = sorted(int(h) for h in args.histories.split(","))
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        for history in histories:
            root = Path(tmp) / f"h{history}"
            root.mkdir()
            result = measure_history(root, history, args.rows_per_day, args.window_days)
            if history == histories[0]:  # monitors grow: the same days, three times the list
                first, last = result["_window"]
                many = _run(
                    BACKFILL, str(demo_config(root, result["_db"], copies=3)),
                    first.isoformat(), last.isoformat(),
                )  # fmt: skip
                result["ms_per_run_3x_monitors"] = 1000 * many["seconds"] / many["runs"]
            results.append({k: v for k, v in result.items() if not k.startswith("_")})
    base = results[0]
    for r in results:
        r["ms_per_run_vs_smallest"] = r["ms_per_run"] / base["ms_per_run"]
        r["new_day_build_vs_smallest"] = r["new_day_build_seconds"] / base["new_day_build_seconds"]
    print(json.dumps({"rows_per_day": args.rows_per_day, "measured_at": datetime.now(UTC)
                      .isoformat(timespec="seconds"), "results": results}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
