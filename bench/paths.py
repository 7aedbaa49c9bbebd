"""One benchmark path per process, so its peak memory is its own (bench/run.py reads it).

    python -m bench.paths suite DIR [--memory-limit 3GB]
    python -m bench.paths multivariate DIR [--memory-limit 3GB]
    python -m bench.paths estimated DIR [--memory-limit 3GB]
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
from monitor.execute import RunResult
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


BASELINE = {"kind": "fixed", "start": REFERENCE_DAY, "end": CURRENT_DAY}


def _run(
    root: Path,
    memory_limit: str | None,
    monitors: list[dict[str, object]],
    model: dict[str, object] | None = None,
) -> tuple[list[RunResult], float]:
    """The monitors through the product path (`Runner.run`: render, execute, p-values,
    rules, state writes) at the current day's end, with DuckDB's memory_limit set; their
    results, and the seconds the run took."""
    warehouse: dict[str, object] = {"type": "duckdb", "path": str(root / "bench.duckdb")}
    if memory_limit:
        warehouse |= {"memory_limit": memory_limit, "temp_directory": str(root / "spill")}
    doc = {
        "warehouse": warehouse,
        "sql_dirs": [str(Path(__file__).resolve().parents[1] / "sql")],
        "models": {"bench": {"predictions": "predictions", **(model or {})}},
        "monitors": [{"model": "bench", "baseline": BASELINE, **m} for m in monitors],
    }
    (root / "alerts.yaml").write_text(yaml.safe_dump(doc))
    config = load_config(root / "alerts.yaml")
    at = datetime.fromisoformat(CURRENT_DAY).replace(tzinfo=UTC) + timedelta(days=1)
    started = time.perf_counter()
    results = Runner(config).run(at=at).runs
    seconds = time.perf_counter() - started
    errors = [r.error for r in results if r.status == "error"]
    if errors:
        raise SystemExit(f"the run failed: {errors}")
    return results, seconds


def multivariate(root: Path, memory_limit: str | None) -> dict[str, object]:
    """multivariate_drift over the 20 numeric columns: the fit query, numpy's
    eigenvectors and the per-row reconstruction error of both windows (a first run,
    so the basis is fitted too)."""
    monitor = {
        "name": "multivariate",
        "check": "multivariate_drift",
        "params": {"columns": NUMERIC},
    }
    results, seconds = _run(root, memory_limit, [monitor])
    (row,) = [r for r in results[0].rows if r.metric == "reconstruction_error"]
    return {"seconds": seconds, "value": row.value, "baseline_value": row.baseline_value}


def estimated(root: Path, memory_limit: str | None) -> dict[str, object]:
    """estimated_performance (CBPE), all five metrics: the calibration fit on the
    reference day's labelled scores and the estimates over the current day, whose
    labels have not matured (label_maturity 1d), as NannyML's CBPE is given none."""
    monitor = {"name": "estimated", "check": "estimated_performance"}
    results, seconds = _run(root, memory_limit, [monitor], {"label_maturity": "1d"})
    values = {r.metric: r.value for r in results[0].rows if r.metric.startswith("estimated_")}
    return {"seconds": seconds, "estimates": values}


def suite(root: Path, memory_limit: str | None) -> dict[str, object]:
    """The drift suite: numeric_drift on the 20 numeric columns, categorical_drift on
    the 5 categorical ones, with the peers' default verdict thresholds."""
    results, seconds = _run(root, memory_limit, [
        {"name": "numeric", "check": "numeric_drift", "params": {"columns": NUMERIC},
         "rules": [{"metric": "wasserstein_norm", "alert": 0.1}]},
        {"name": "categorical", "check": "categorical_drift", "params": {"columns": CATEGORICAL},
         "rules": [{"metric": "js_distance", "alert": round(JS_CUT, 4)}]},
    ])  # fmt: skip
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
    parser.add_argument("path", choices=["suite", "multivariate", "estimated", "floor", "sort"])
    parser.add_argument("root", type=Path)
    parser.add_argument("--memory-limit")
    args = parser.parse_args()
    if args.path == "suite":
        out = suite(args.root, args.memory_limit)
    elif args.path == "multivariate":
        out = multivariate(args.root, args.memory_limit)
    elif args.path == "estimated":
        out = estimated(args.root, args.memory_limit)
    else:
        out = floor(args.root) if args.path == "floor" else sort_floor(args.root)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
