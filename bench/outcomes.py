"""Benchmark: performance and guardrail checks vs a scan floor vs pulling rows into
Python and scoring them with scikit-learn, on the same rows.

    python -m bench.outcomes [--rows 1000000] [--write]

N scored, labelled predictions per window (a baseline day and a current day), 7
countries × 3 devices, scores with ~N distinct values (the worst case for the exact
AUC's ordering). Slices: [country], [device], [country, device] (31 segments with
'all'). Paths, each timed around the work in this one process, in turn:

- floor:           one GROUP BY GROUPING SETS query reading score, label and the slice
                   columns of both windows once (the least any method must do);
- sort:            for each slice set, one window sort of both windows' scores within
                   the set's segments (the least an exact AUC must add: it needs every
                   score in order);
- classification:  performance/classification with those slices, through the product
                   path (`Runner.run`: render, execute, rules, state writes);
- slice_metrics:   guardrails/slice_metrics, compare baseline, all 8 metrics, z-tests;
- slice_metrics, rates only: the same without auc (positive_rate, precision, recall,
                   the demo's kind of guardrail), which needs no score order;
- sklearn:         fetch the current window's rows into numpy, then per segment
                   accuracy, precision, recall, f1, AUC, log loss and Brier with
                   scikit-learn (what a Python monitor does; no baseline, no tests).

`--write` puts the table into bench/RESULTS.md between its outcome markers. Ratios
from one run are what to compare: absolute seconds depend on the machine's load.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- outcomes: kept by bench.outcomes -->", "<!-- /outcomes -->"
SLICES = [["country"], ["device"], ["country", "device"]]
DAYS = (date(2026, 9, 1), date(2026, 9, 8))  # baseline day, current day
RUN_AT = datetime(2026, 9, 9, 6, tzinfo=UTC)


def write_data(db: Path, rows: int, seed: int = 11) -> None:
    rng = np.random.default_rng(seed)
    con = duckdb.connect(str(db))
    try:
        for i, day in enumerate(DAYS):
            label = (rng.uniform(size=rows) < 0.05).astype(np.float64)
            score = np.round(1 / (1 + np.exp(-(rng.normal(-3, 1.5, rows) + 3 * label))), 6)
            seconds = rng.integers(0, 86400, rows).astype("timedelta64[s]")
            table = pa.table(
                {
                    "ts": pa.array(np.datetime64(day.isoformat(), "s") + seconds),
                    "model_name": pa.array(np.full(rows, "m")),
                    "role": pa.array(np.full(rows, "production")),
                    "country": pa.array(
                        rng.choice(["US", "GB", "DE", "FR", "ES", "PT", "BR"], rows)
                    ),
                    "device": pa.array(rng.choice(["ios", "android", "web"], rows)),
                    "score": pa.array(score),
                    "label": pa.array(label),
                }
            )
            con.register("incoming", table)
            verb = "CREATE TABLE preds AS" if i == 0 else "INSERT INTO preds"
            con.execute(f"{verb} SELECT * FROM incoming")
            con.unregister("incoming")
    finally:
        con.close()


def floor(db: Path) -> None:
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute(
            "SELECT ts >= TIMESTAMP '2026-09-08' AS cur, country, device, COUNT(*), "
            "SUM(score), SUM(label) FROM preds GROUP BY GROUPING SETS "
            "((cur), (cur, country), (cur, device), (cur, country, device))"
        ).fetchall()
    finally:
        con.close()


def sort_floor(db: Path) -> None:
    con = duckdb.connect(str(db), read_only=True)
    try:
        for cols in [[], *SLICES]:
            partition = ", ".join(["ts >= TIMESTAMP '2026-09-08'", *cols])
            con.execute(
                f"SELECT max(r) FROM (SELECT row_number() OVER "
                f"(PARTITION BY {partition} ORDER BY score) AS r FROM preds)"
            ).fetchall()
    finally:
        con.close()


def product(root: Path, check: str, params: dict[str, Any]) -> None:
    from monitor.config import load_config
    from monitor.runner import Runner

    doc = {
        "warehouse": {"type": "duckdb", "path": str(root / "wh.duckdb")},
        "sql_dirs": [str(ROOT / "sql")],
        "models": {"m": {"predictions": "preds"}},
        "monitors": [
            {
                "name": check,
                "model": "m",
                "check": check,
                "params": params,
                "baseline": {
                    "kind": "fixed",
                    "start": str(DAYS[0]),
                    "end": str(DAYS[0] + timedelta(days=1)),
                },
            }
        ],
    }
    path = root / f"{check}.yaml"
    path.write_text(yaml.safe_dump(doc))
    (result,) = Runner(load_config(path)).run(at=RUN_AT).runs
    if result.status != "ok":
        raise SystemExit(f"{check} failed: {result.error}")


def sklearn_path(db: Path) -> None:
    from sklearn import metrics

    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = con.execute(
            "SELECT country, device, score, label FROM preds WHERE ts >= TIMESTAMP '2026-09-08'"
        ).fetchnumpy()
    finally:
        con.close()
    country, device = np.asarray(cols["country"]), np.asarray(cols["device"])
    score, label = np.asarray(cols["score"]), np.asarray(cols["label"])
    masks = [np.ones(len(score), dtype=bool)]
    masks += [country == c for c in np.unique(country)] + [device == d for d in np.unique(device)]
    masks += [(country == c) & (device == d) for c in np.unique(country) for d in np.unique(device)]
    for mask in masks:
        y, s = label[mask], score[mask]
        flagged = s >= 0.5
        metrics.accuracy_score(y, flagged)
        metrics.precision_score(y, flagged, zero_division=0)
        metrics.recall_score(y, flagged, zero_division=0)
        metrics.f1_score(y, flagged, zero_division=0)
        metrics.roc_auc_score(y, s)
        metrics.log_loss(y, s, labels=[0, 1])
        metrics.brier_score_loss(y, s)


def timed(work: Any) -> float:
    t0 = time.perf_counter()
    work()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-outcomes-") as tmp:
        root = Path(tmp)
        db = root / "wh.duckdb"
        write_data(db, args.rows)
        seconds = {
            "floor": timed(lambda: floor(db)),
            "sort": timed(lambda: sort_floor(db)),
            "classification": timed(
                lambda: product(root, "classification", {"by": SLICES})
            ),
            "slice_metrics": timed(
                lambda: product(
                    root,
                    "slice_metrics",
                    {
                        "slices": SLICES,
                        "metrics": ["accuracy", "precision", "recall", "fpr", "positive_rate",
                                    "base_rate", "label_coverage", "auc"],
                    },
                )
            ),
            "slice_metrics, rates only": timed(
                lambda: product(
                    root,
                    "slice_metrics",
                    {"slices": SLICES, "metrics": ["positive_rate", "precision", "recall"]},
                )
            ),
            "sklearn (current window only)": timed(lambda: sklearn_path(db)),
        }  # fmt: skip
    lines = [
        START,
        "## Performance and guardrail checks",
        "",
        f"Command: `python -m bench.outcomes --rows {args.rows} --write` (`make bench`), "
        f"{date.today()}. {args.rows:,} labelled predictions per window (baseline day, "
        "current day), slices [country], [device], [country, device] (31 segments).",
        "",
        "| path | seconds | × floor | × sort |",
        "|---|---|---|---|",
        *[
            f"| {k} | {v:.2f} | {v / seconds['floor']:.1f} | {v / seconds['sort']:.1f} |"
            for k, v in seconds.items()
        ],
        "",
        f"slice_metrics (both windows, 8 metrics, z-tests) took "
        f"{seconds['slice_metrics'] / seconds['sklearn (current window only)']:.2f}× the time "
        "scikit-learn needs for 7 metrics of the current window alone.",
        END,
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        current = RESULTS.read_text(encoding="utf-8")
        if START in current and END in current:
            head, rest = current.split(START, 1)
            current = head + text + rest.split(END, 1)[1]
        else:
            current = current.rstrip("\n") + "\n\n" + text + "\n"
        RESULTS.write_text(current, encoding="utf-8")


if __name__ == "__main__":
    main()
