"""The peers on the benchmark data, run by the bench-only Python (.venv-bench).

    .venv-bench/bin/python bench/peers.py evidently DIR

Never imported by the product: Evidently and NannyML are not runtime dependencies. Reads
DIR/reference.parquet and DIR/current.parquet into pandas (part of the cost: these
tools work on in-memory frames) and prints JSON: load and compute seconds, and the
columns flagged as drifted by the tool's default method and threshold.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pandas as pd

NUMERIC = [f"f{i}" for i in range(20)]
CATEGORICAL = [f"c{i}" for i in range(5)]


def evidently(root: Path) -> dict[str, object]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    started = time.perf_counter()
    ref = pd.read_parquet(root / "reference.parquet")
    cur = pd.read_parquet(root / "current.parquet")
    loaded = time.perf_counter()
    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    snapshot = Report([DataDriftPreset()]).run(
        current_data=Dataset.from_pandas(cur, data_definition=definition),
        reference_data=Dataset.from_pandas(ref, data_definition=definition),
    )
    drifted = sorted(
        m["config"]["column"]
        for m in snapshot.dict()["metrics"]
        if m["config"].get("type", "").endswith("ValueDrift")
        and m["value"] >= m["config"]["threshold"]
    )
    done = time.perf_counter()
    return {"load_seconds": loaded - started, "seconds": done - started, "drifted": drifted}


def main() -> None:
    tool, root = sys.argv[1], Path(sys.argv[2])
    if tool != "evidently":
        raise SystemExit(f"unknown peer {tool!r}")
    print(json.dumps(evidently(root)))


if __name__ == "__main__":
    main()
