"""Benchmark: a slice over a column with many values (the probe of issue 27).

    python -m bench.wide_slices [--values 10000] [--baseline REV]

Writes a DuckDB file whose predictions have `--values` distinct countries, three rows
of each on a baseline day and on the current day, then in a process of its own times
one live run of a `row_count` monitor by country with a rule that fires on ~40% of
the segments (recorded rows, the alert stage, the outbox), then `monitor report`'s
build. Prints the run's seconds, its metric rows, the largest outbox row, the report's
seconds and size: for this checkout with its default segment budget, and with
`max_segments` above the values (every segment its own: what bounds the run's
messages and report then is their own limits). With `--baseline REV` the same runs on
a checkout of REV (a temporary worktree) on a copy of the same file, in the same
session: compare them.
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

import duckdb
import yaml

ROOT = Path(__file__).resolve().parents[1]

# Runs in the measured process: PYTHONPATH points at the checkout being measured.
MEASURE = r"""
import json, sys, time
from datetime import UTC, datetime
from monitor.config import load_config
from monitor.runner import Runner
from monitor.report import html, page
import duckdb

config = load_config(sys.argv[1])
at = datetime(2026, 9, 9, 6, tzinfo=UTC)
started = time.perf_counter()
(result,) = Runner(config).run(at=at).runs
run_seconds = time.perf_counter() - started
started = time.perf_counter()
text = html.render(page.build(config, now=at))
report_seconds = time.perf_counter() - started
con = duckdb.connect(str(config.warehouse.path), read_only=True)
(outbox,) = con.execute("SELECT coalesce(max(length(payload)), 0) FROM monitor.outbox").fetchone()
print(json.dumps({
    "status": result.status, "run_s": round(run_seconds, 2), "rows": len(result.rows),
    "outbox_max_bytes": outbox, "report_s": round(report_seconds, 2),
    "report_mb": round(len(text.encode()) / 1e6, 2),
}))
"""


def write_world(root: Path, values: int) -> Path:
    """The predictions file and a config watching it; returns the config's path."""
    db = root / "wh.duckdb"
    con = duckdb.connect(str(db))
    # Three rows per country on the baseline day; on the current day three again, or
    # one for the 40% of countries whose volume drops (a fixed pseudo-random pick).
    con.execute(
        f"""
        CREATE TABLE preds AS
        SELECT 'm' AS model_name, 'production' AS role, printf('c%06d', c) AS country,
               TIMESTAMP '2026-09-01 12:00' + INTERVAL (d * 7) DAY AS ts
        FROM range({values}) AS countries(c), range(2) AS days(d), range(3) AS copies(k)
        WHERE d = 0 OR k = 0 OR hash(c) % 10 >= 4
        """
    )
    con.close()
    config = {
        "warehouse": {"type": "duckdb", "path": str(db)},
        "models": {"m": {"predictions": "preds"}},
        "monitors": [{
            "name": "wide", "model": "m", "check": "row_count", "min_samples": 1,
            "params": {"by": [["country"]]},
            "baseline": {"kind": "fixed", "start": "2026-09-01", "end": "2026-09-02"},
            "rules": [{"metric": "row_count_ratio", "direction": "below", "alert": 0.5}],
        }],
    }  # fmt: skip
    path = root / "alerts.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def measure(checkout: Path, config: Path) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(config)],
        capture_output=True, text=True, env=env, cwd=checkout, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def copy_world(root: Path, config: Path, name: str, **settings: object) -> Path:
    """A copy of the untouched file and its config in `root/name`, with monitor
    settings changed: each measurement starts from no state at all."""
    (root / name).mkdir()
    shutil.copy(config.parent / "wh.duckdb", root / name / "wh.duckdb")
    spec = yaml.safe_load(config.read_text().replace(str(config.parent), str(root / name)))
    spec["monitors"][0].update(settings)
    path = root / name / "alerts.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=10_000)
    parser.add_argument("--baseline", help="a git revision to measure beside this checkout")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "world").mkdir()
        world = write_world(root / "world", args.values)
        this = copy_world(root, world, "this")
        wide = copy_world(root, world, "wide", max_segments=args.values + 1)
        if args.baseline:
            base = copy_world(root, world, "base")
            tree = root / "tree"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(tree), args.baseline],
                cwd=ROOT, check=True, capture_output=True,
            )  # fmt: skip
            try:
                print(json.dumps({"checkout": args.baseline, **measure(tree, base)}))
            finally:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)
        print(json.dumps({"checkout": "this", **measure(ROOT, this)}))
        print(json.dumps({"checkout": "this, no budget", **measure(ROOT, wide)}))


if __name__ == "__main__":
    main()
