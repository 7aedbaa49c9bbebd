"""Benchmark: a rolling baseline read from stored day counts vs from its rows.

    python -m bench.day_counts [--rows 1000000] [--days 28] [--runs 3]

Writes a DuckDB file of `--days` + `--runs` days of `--rows` predictions a day (four
categorical columns of 3 to 1,000 categories, NULLs included, slices by device), then
runs a `categorical_drift` monitor with a `--days` rolling baseline on consecutive
days, twice over: with the model's `changed_at` (the first run counts and stores
every baseline day, then reads them from the store; each later run counts the one new
day) and with `changed_at: null` (every run reads all its rows). Prints each run's seconds for both, and checks that the two recorded the
same rows (rel 1e-12).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import yaml

from monitor.config import load_config
from monitor.runner import Runner

FIRST_DAY = datetime(2026, 9, 1, tzinfo=UTC)


def write_world(db: Path, rows: int, days: int) -> None:
    """`days` days of `rows` predictions each, with the marts' `built_at`."""
    con = duckdb.connect(str(db))
    con.execute(f"""
        CREATE TABLE preds AS
        SELECT TIMESTAMP '2026-09-01' + to_microseconds(CAST(i * (86400000000 / {rows}) AS BIGINT)) AS ts,
               'm' AS model_name, 'production' AS role,
               TIMESTAMP '2026-09-02' + to_days(CAST(i // {rows} AS INTEGER)) AS built_at,
               ['ios', 'android', 'web'][1 + (hash(i) % 3)::INTEGER] AS device,
               CASE WHEN hash(i * 7) % 50 = 0 THEN NULL
                    ELSE 'c' || (hash(i * 3) % 20)::VARCHAR END AS country,
               'm' || (hash(i * 5) % 1000)::VARCHAR AS merchant,
               CASE WHEN hash(i * 11) % 20 = 0 THEN NULL
                    ELSE 'k' || (hash(i * 13) % 5)::VARCHAR END AS channel,
               'p' || (hash(i * 17) % 40)::VARCHAR AS product
        FROM range({rows * days}) AS t(i)
        ORDER BY ts
    """)
    con.close()


def write_config(root: Path, db: Path, schema: str, changed_at: str | None, days: int) -> Path:
    doc = {
        "warehouse": {"type": "duckdb", "path": str(db)},
        "state": {"schema": schema},
        "models": {"m": {"predictions": "preds", "changed_at": changed_at}},
        "monitors": [
            {
                "name": "categories",
                "model": "m",
                "check": "categorical_drift",
                "schedule": "0 6 * * *",
                "window": "1d",
                "params": {
                    "columns": ["country", "merchant", "channel", "product"],
                    "by": [["device"]],
                },
                "baseline": {"kind": "rolling", "days": days},
                "min_samples": 1,
            }
        ],
    }
    path = root / f"{schema}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def timed_runs(config: Path, days: int, runs: int) -> list[float]:
    runner = Runner(load_config(config))
    seconds = []
    for k in range(runs):
        at = FIRST_DAY + timedelta(days=days + k + 1, hours=6)
        started = time.perf_counter()
        (result,) = runner.run(at=at, build=False, notify=False).runs
        seconds.append(time.perf_counter() - started)
        assert result.status == "ok", result.error
    return seconds


def recorded(db: Path, schema: str) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        "SELECT window_start, segment, feature, metric, value, sample_size, baseline_size, "
        f"histogram FROM {schema}.metrics"
    ).fetchall()
    con.close()
    return {r[:4]: r[4:] for r in rows}


def same(
    a: dict[tuple[Any, ...], tuple[Any, ...]], b: dict[tuple[Any, ...], tuple[Any, ...]]
) -> bool:
    if a.keys() != b.keys():
        return False
    for key, (value, *rest) in a.items():
        other, *other_rest = b[key]
        if rest != other_rest:
            return False
        if (value is None) != (other is None):
            return False
        if value is not None and not math.isclose(value, other, rel_tol=1e-12, abs_tol=1e-15):
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="predictions a day")
    parser.add_argument("--days", type=int, default=28, help="the rolling baseline's days")
    parser.add_argument("--runs", type=int, default=3, help="consecutive daily runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-day-counts-") as tmp:
        root = Path(tmp)
        db = root / "wh.duckdb"
        started = time.perf_counter()
        write_world(db, args.rows, args.days + args.runs)
        print(f"data: {args.days + args.runs} days x {args.rows:,} rows "
              f"({time.perf_counter() - started:.1f} s)")  # fmt: skip
        stored = timed_runs(
            write_config(root, db, "stored", "built_at", args.days), args.days, args.runs
        )
        rows = timed_runs(
            write_config(root, db, "from_rows", None, args.days), args.days, args.runs
        )
        equal = same(recorded(db, "stored"), recorded(db, "from_rows"))
    print(f"categorical_drift, 4 columns by device, rolling {args.days}-day baseline, "
          f"{args.rows:,} rows a day; same rows recorded: {equal}")  # fmt: skip
    print("| run | from rows (s) | stored day counts (s) | rows / stored |")
    print("|---|---|---|---|")
    for k, (r, s) in enumerate(zip(rows, stored, strict=True)):
        what = "first (stores the baseline's days)" if k == 0 else f"day {k + 1} (one new day)"
        print(f"| {what} | {r:.2f} | {s:.2f} | {r / s:.1f} |")
    if not equal:
        raise SystemExit("the stored and the row-read runs recorded different rows")


if __name__ == "__main__":
    main()
