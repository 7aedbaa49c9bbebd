"""The peers on the benchmark data, run by the bench-only Python (.venv-bench).

    .venv-bench/bin/python bench/peers.py evidently DIR
    .venv-bench/bin/python bench/peers.py nannyml-reconstruction DIR
    .venv-bench/bin/python bench/peers.py nannyml-cbpe DIR

Never imported by the product: Evidently and NannyML are not runtime dependencies. Reads
DIR/reference.parquet and DIR/current.parquet into pandas (part of the cost: these
tools work on in-memory frames) and prints JSON: load and compute seconds, and the
columns flagged as drifted by the tool's default method and threshold.
"""

from __future__ import annotations

import json
import os
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


def nannyml_reconstruction(root: Path) -> dict[str, object]:
    """NannyML's DataReconstructionDriftCalculator on the 20 numeric columns, one chunk
    per window, keeping components for 90% of the variance as multivariate_drift does.
    Its error is the mean Euclidean distance of a row to its reconstruction (ours: the
    mean squared distance), so the numbers differ; the work is the same."""
    os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"  # it would post to a usage service
    import nannyml as nml

    started = time.perf_counter()
    ref = pd.read_parquet(root / "reference.parquet", columns=NUMERIC)
    cur = pd.read_parquet(root / "current.parquet", columns=NUMERIC)
    loaded = time.perf_counter()
    calc = nml.DataReconstructionDriftCalculator(
        column_names=NUMERIC, n_components=0.9, chunk_number=1
    )
    calc.fit(ref)
    result = calc.calculate(cur).filter(period="analysis").to_df()
    error = float(result[("reconstruction_error", "value")].iloc[0])
    done = time.perf_counter()
    return {"load_seconds": loaded - started, "seconds": done - started, "error": error}


def nannyml_cbpe(root: Path) -> dict[str, object]:
    """NannyML's CBPE (its default isotonic calibration) fitted on the reference day's
    labelled scores and estimating AUC, accuracy, precision, recall and f1 over the
    current day, one chunk, as estimated_performance does."""
    os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"
    import nannyml as nml

    started = time.perf_counter()
    ref = pd.read_parquet(root / "reference.parquet", columns=["score", "label"])
    cur = pd.read_parquet(root / "current.parquet", columns=["score"])
    loaded = time.perf_counter()
    ref["pred"] = (ref["score"] >= 0.5).astype(int)
    cur["pred"] = (cur["score"] >= 0.5).astype(int)
    metrics = ["roc_auc", "accuracy", "precision", "recall", "f1"]
    calc = nml.CBPE(y_pred_proba="score", y_pred="pred", y_true="label", metrics=metrics,
                    problem_type="classification_binary", chunk_number=1)  # fmt: skip
    calc.fit(ref)
    result = calc.estimate(cur).filter(period="analysis").to_df()
    estimates = {m: float(result[(m, "value")].iloc[0]) for m in metrics}
    done = time.perf_counter()
    return {"load_seconds": loaded - started, "seconds": done - started, "estimates": estimates}


PEERS = {
    "evidently": evidently,
    "nannyml-reconstruction": nannyml_reconstruction,
    "nannyml-cbpe": nannyml_cbpe,
}


def main() -> None:
    tool, root = sys.argv[1], Path(sys.argv[2])
    if tool not in PEERS:
        raise SystemExit(f"unknown peer {tool!r}; known: {', '.join(PEERS)}")
    print(json.dumps(PEERS[tool](root)))


if __name__ == "__main__":
    main()
