"""One benchmark path per process, so its peak memory is its own (bench/run.py reads it).

    python -m bench.paths suite DIR [--memory-limit 3GB]
    python -m bench.paths floor DIR
    python -m bench.paths sort DIR

Prints one JSON object: seconds (the work, after imports) and, for the suite, the
columns its rules flag as drifted.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import yaml

from bench.data import CATEGORICAL, CURRENT_DAY, NUMERIC, REFERENCE_DAY
from monitor.config import load_config
from monitor.runner import Runner

# The peers' default verdicts (Evidently, > 1000 rows): Wasserstein distance normed by
# the reference std ≥ 0.1 for numeric columns, Jensen–Shannon distance ≥ 0.1 for
# categorical ones. Ours is base 2, Evidently's (scipy's default) base e:
# d₂ = d_e / sqrt(ln 2), so the same cut is 0.1 / sqrt(ln 2) ≈ 0.1201.
JS_CUT = 0.1 / math.sqrt(math.log(2))


# The rows of both windows, as the checks select them.
BOTH_WINDOWS = (
    f"model_name = 'bench' AND role = 'production' AND ts >= DATE '{REFERENCE_DAY}' "
    f"AND ts < DATE '{CURRENT_DAY}' + INTERVAL 1 DAY"
)


def suite(root: Path, memory_limit: str | None) -> dict[str, object]:
    warehouse: dict[str, object] = {"type": "duckdb", "path": str(root / "bench.duckdb")}
    if memory_limit:
        warehouse |= {"memory_limit": memory_limit, "temp_directory": str(root / "spill")}
    baseline = {"kind": "fixed", "start": REFERENCE_DAY, "end": CURRENT_DAY}
    doc = {
        "warehouse": warehouse,
        "sql_dirs": [str(Path(__file__).resolve().parents[1] / "sql")],
        "models": {"bench": {"predictions": "predictions"}},
        "monitors": [
            {
                "name": "numeric",
                "model": "bench",
                "check": "numeric_drift",
                "params": {"columns": NUMERIC},
                "baseline": baseline,
                "rules": [{"metric": "wasserstein_norm", "alert": 0.1}],
            },
            {
                "name": "categorical",
                "model": "bench",
                "check": "categorical_drift",
                "params": {"columns": CATEGORICAL},
                "baseline": baseline,
                "rules": [{"metric": "js_distance", "alert": round(JS_CUT, 4)}],
            },
        ],
    }
    (root / "alerts.yaml").write_text(yaml.safe_dump(doc))
    config = load_config(root / "alerts.yaml")
    at = datetime.fromisoformat(CURRENT_DAY).replace(tzinfo=UTC) + timedelta(days=1)
    started = time.perf_counter()
    results = Runner(config).run(at=at).runs
    seconds = time.perf_counter() - started
    errors = [r.error for r in results if r.status == "error"]
    if errors:
        raise SystemExit(f"suite failed: {errors}")
    drifted = sorted({row.feature for r in results for row in r.breaches})
    return {"seconds": seconds, "drifted": drifted}


def floor(root: Path) -> dict[str, object]:
    """Read every value of the same columns of both windows once (sum / total length)."""
    reads = [f"sum({c})" for c in NUMERIC] + [f"sum(length({c}))" for c in CATEGORICAL]
    con = duckdb.connect(str(root / "bench.duckdb"), read_only=True)
    try:
        started = time.perf_counter()
        con.execute(f"SELECT {', '.join(reads)} FROM predictions WHERE {BOTH_WINDOWS}").fetchall()
        return {"seconds": time.perf_counter() - started}
    finally:
        con.close()


def sort_floor(root: Path) -> dict[str, object]:
    """Sort each numeric column's values of both windows once, one query per column:
    the least an exact KS or W1 must do on top of the scan."""
    con = duckdb.connect(str(root / "bench.duckdb"), read_only=True)
    try:
        started = time.perf_counter()
        for c in NUMERIC:
            con.execute(
                f"SELECT max(r) FROM (SELECT row_number() OVER (ORDER BY {c}) AS r "
                f"FROM predictions WHERE {BOTH_WINDOWS})"
            ).fetchall()
        return {"seconds": time.perf_counter() - started}
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", choices=["suite", "floor", "sort"])
    parser.add_argument("root", type=Path)
    parser.add_argument("--memory-limit")
    args = parser.parse_args()
    if args.path == "suite":
        out = suite(args.root, args.memory_limit)
    else:
        out = floor(args.root) if args.path == "floor" else sort_floor(args.root)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
