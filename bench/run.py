"""Benchmark: numeric_drift in DuckDB vs the scan floor vs pulling rows into Python.

    python -m bench.run [--rows-per-day 50000] [--out bench/RESULTS.md]

Three timings on the same data (one day of production rows vs a 7-day rolling
baseline, the four numeric demo features), each the best of `--repeat` runs:

- floor:   one query reading the four columns of both windows (the least any method
           must do);
- check:   the rendered numeric_drift check (PSI, JS, exact KS and W1, means, nulls);
- python:  the usual alternative: fetch the same rows to Python (Arrow → numpy) and
           compute KS and W1 with scipy and PSI with numpy.

Ratios measured in one run are what to compare; absolute seconds depend on the machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import yaml
from scipy import stats

from monitor import demo
from monitor.config import load_config
from monitor.runner import Runner
from monitor.warehouse import connect
from monitor.windows import window_for

COLUMNS = ["amount", "account_age_days", "tx_count_24h", "distance_km"]


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def python_drift(base: dict[str, np.ndarray], cur: dict[str, np.ndarray]) -> None:
    for col in COLUMNS:
        b, c = base[col], cur[col]
        b, c = b[np.isfinite(b)], c[np.isfinite(c)]
        stats.ks_2samp(c, b)
        stats.wasserstein_distance(c, b)
        edges = np.unique(np.quantile(b, np.linspace(0.1, 0.9, 9)))
        p = np.bincount(np.searchsorted(edges, c), minlength=len(edges) + 1) / len(c)
        q = np.bincount(np.searchsorted(edges, b), minlength=len(edges) + 1) / len(b)
        p, q = np.maximum(p, 1e-4), np.maximum(q, 1e-4)
        float(np.sum((p - q) * np.log(p / q)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows-per-day", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "RESULTS.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        counts = demo.write_world(root / "wh.duckdb", days=22, rows_per_day=args.rows_per_day)
        doc = {
            "warehouse": {"type": "duckdb", "path": str(root / "wh.duckdb")},
            "sql_dirs": [str(Path(__file__).resolve().parents[1] / "sql")],
            "models": {"fraud": {"predictions": "raw_predictions"}},
            "monitors": [
                {
                    "name": "bench",
                    "model": "fraud",
                    "check": "numeric_drift",
                    "params": {"columns": COLUMNS},
                    "baseline": {"kind": "rolling", "days": 7, "skip_alerting": False},
                }
            ],
        }
        (root / "alerts.yaml").write_text(yaml.safe_dump(doc))
        config = load_config(root / "alerts.yaml")
        monitor = config.monitors[0]
        at = datetime(2026, 9, 22, 6, tzinfo=UTC)
        window = window_for(at, monitor)
        compiled = Runner(config).compile(monitor, window, at, "duckdb")
        cols = ", ".join(COLUMNS)
        where_cur = f"model_name = 'fraud' AND role = 'production' AND ts >= '{window.start:%Y-%m-%d}' AND ts < '{window.end:%Y-%m-%d}'"
        base_start = window.start - timedelta(days=7)
        where_base = f"model_name = 'fraud' AND role = 'production' AND ts >= '{base_start:%Y-%m-%d}' AND ts < '{window.start:%Y-%m-%d}'"
        floor_sql = (
            f"SELECT {', '.join(f'sum({c}), count({c})' for c in COLUMNS)} FROM raw_predictions "
            f"WHERE ({where_cur}) OR ({where_base})"
        )
        with connect(config.warehouse) as wh:
            n_rows = wh.execute(
                f"SELECT count(*) AS n FROM raw_predictions WHERE ({where_cur}) OR ({where_base})"
            )[0]["n"]
            floor = best_of(args.repeat, lambda: wh.execute(floor_sql))
            check = best_of(args.repeat, lambda: wh.execute(compiled.sql))

            def pull() -> None:
                def fetch(where: str) -> dict[str, np.ndarray]:
                    t = wh.arrow(f"SELECT {cols} FROM raw_predictions WHERE {where}")
                    return {
                        c: t.column(c).to_numpy(zero_copy_only=False).astype(float) for c in COLUMNS
                    }

                python_drift(fetch(where_base), fetch(where_cur))

            python = best_of(args.repeat, pull)

    command = f"python -m bench.run --rows-per-day {args.rows_per_day} --repeat {args.repeat}"
    report = f"""# Benchmark results

Command: `{command}` (via `make bench`), {datetime.now(UTC):%Y-%m-%d}, 2-core machine.
Data: demo world, {counts["raw_predictions"]:,} prediction rows in the table; one day
vs a 7-day rolling baseline = {n_rows:,} rows read; {len(COLUMNS)} numeric columns.
Best of {args.repeat}.

| path | seconds | ratio to floor |
|---|---|---|
| floor: read the columns once (sum/count) | {floor:.3f} | 1.0 |
| numeric_drift check in DuckDB (PSI, JS, exact KS + W1, means, nulls) | {check:.3f} | {check / floor:.1f} |
| pull rows to Python, scipy KS + W1, numpy PSI | {python:.3f} | {python / floor:.1f} |

The check computes more than the Python path (JS, per-bin shares, null bins, means) and
is {python / check:.1f}× {"faster" if python > check else "slower"} than pulling the rows out.
"""
    args.out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
