"""Benchmark: the drift suite vs the raw-scan floor vs Evidently, on the same data.

    python -m bench.run [--rows 1000000] [--big-rows 10000000] [--no-peers]

For each size, N rows per window (a reference day and a current day) × 20 numeric +
5 categorical features with drift injected into f0, f1, f2 and c0 (bench/data.py):

- floor:     one DuckDB query reading every value of those columns in both windows
             once (the least any method must do);
- sort:      one query per numeric column sorting its values of both windows (the
             least an exact KS or Wasserstein distance must do on top of the scan);
- suite:     our full drift suite through the product path (`Runner.run`: render,
             execute, p-values, rules, state writes): numeric_drift on 20 columns and
             categorical_drift on 5, with DuckDB's memory_limit set (`--memory-limit`);
- evidently: Evidently's DataDriftPreset on pandas frames read from Parquet, in the
             bench-only environment (`make bench` builds .venv-bench from
             bench/requirements-peers.txt); only at `--rows` (at 10M rows it would need
             about ten times its 1M peak, more than this machine has);
- multivariate: multivariate_drift on the 20 numeric columns through the product path
             (its first run: the basis is fitted too);
- nannyml:   NannyML's DataReconstructionDriftCalculator on the same 20 columns, from
             Parquet, in the bench-only environment; only at `--rows`;
- estimated: estimated_performance (CBPE: calibration fit and five estimates) on the
             score column through the product path;
- nannyml-cbpe: NannyML's CBPE on the same scores and labels, from Parquet, in the
             bench-only environment; only at `--rows`.

Each path runs in its own process; wall time is measured around the work (after
imports) and peak memory is the process's max RSS. Ratios from one run are what to
compare: absolute seconds depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.data import DRIFTED

ROOT = Path(__file__).resolve().parents[1]
NOTES_MARKER = "<!-- notes: kept by bench.run -->"


def measure(command: list[str]) -> dict[str, Any]:
    """Run one path; its JSON output plus its peak RSS in MiB."""
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit code {proc.returncode}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["peak_mib"] = usage.ru_maxrss / 1024  # Linux reports KiB
    return result


def run_size(rows: int, peers: bool, peer_python: Path, memory_limit: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-", dir=os.environ.get("BENCH_TMP")) as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bench.data", str(root), str(rows)]
            + (["--parquet"] if peers else []),
            cwd=ROOT,
            check=True,
        )
        print(f"  {rows:,} rows per window generated in {time.perf_counter() - started:.0f} s")
        here = [sys.executable, "-m", "bench.paths"]
        result = {"rows": rows, "memory_limit": memory_limit}
        result["floor"] = measure([*here, "floor", str(root)])
        print(f"  floor {result['floor']['seconds']:.2f} s")
        result["sort"] = measure([*here, "sort", str(root)])
        print(f"  sort {result['sort']['seconds']:.2f} s")
        result["suite"] = measure([*here, "suite", str(root), "--memory-limit", memory_limit])
        print(f"  suite {result['suite']['seconds']:.2f} s, {result['suite']['peak_mib']:.0f} MiB")
        result["multivariate"] = measure(
            [*here, "multivariate", str(root), "--memory-limit", memory_limit]
        )
        print(f"  multivariate {result['multivariate']['seconds']:.2f} s")
        result["estimated"] = measure(
            [*here, "estimated", str(root), "--memory-limit", memory_limit]
        )
        print(f"  estimated {result['estimated']['seconds']:.2f} s")
        if peers:
            peer = [str(peer_python), str(ROOT / "bench" / "peers.py")]
            result["evidently"] = measure([*peer, "evidently", str(root)])
            print(f"  evidently {result['evidently']['seconds']:.2f} s")
            result["nannyml"] = measure([*peer, "nannyml-reconstruction", str(root)])
            print(f"  nannyml {result['nannyml']['seconds']:.2f} s")
            result["nannyml-cbpe"] = measure([*peer, "nannyml-cbpe", str(root)])
            print(f"  nannyml-cbpe {result['nannyml-cbpe']['seconds']:.2f} s")
        return result


def report(results: list[dict[str, Any]], command: str) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Command: `{command}` (`make bench`), {datetime.now(UTC):%Y-%m-%d}, on this 2-core,",
        "24 GiB machine. Data: N rows per window (reference day, current day) × 20 numeric",
        "+ 5 categorical features, drift injected into "
        + ", ".join(sorted(DRIFTED))
        + " (bench/data.py).",
        "The suite runs with DuckDB's `memory_limit` (a warehouse setting) as listed, and a",
        "spill directory. Peak memory is each path's own process (max RSS).",
        "",
        "| rows per window | path | seconds | × floor | × sort | peak memory (MiB) | drifted columns |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        floor, sort = r["floor"]["seconds"], r["sort"]["seconds"]
        paths = ("floor", "sort", "suite", "evidently", "multivariate", "nannyml", "estimated",
                 "nannyml-cbpe")  # fmt: skip
        for name in paths:
            if name not in r:
                continue
            p = r[name]
            drifted = ", ".join(p.get("drifted", [])) or "—"
            label = {
                "suite": f"suite (memory_limit {r['memory_limit']})",
                "multivariate": f"multivariate_drift, 20 columns (memory_limit {r['memory_limit']})",
                "nannyml": "NannyML data reconstruction, 20 columns",
                "estimated": f"estimated_performance, 5 metrics (memory_limit {r['memory_limit']})",
                "nannyml-cbpe": "NannyML CBPE, 5 metrics",
            }.get(name, name)
            lines.append(
                f"| {r['rows']:,} | {label} | {p['seconds']:.2f} | {p['seconds'] / floor:.1f} "
                f"| {p['seconds'] / sort:.1f} | {p['peak_mib']:.0f} | {drifted} |"
            )
    lines.append("")
    for r in results:
        if "evidently" in r:
            s, e = r["suite"], r["evidently"]
            same = set(s["drifted"]) == set(e["drifted"]) == DRIFTED
            lines.append(
                f"At {r['rows']:,} rows per window the suite is {e['seconds'] / s['seconds']:.1f}× "
                f"faster than Evidently (which spent {e['load_seconds']:.1f} s of its time "
                f"loading Parquet into pandas) with {s['peak_mib'] / e['peak_mib']:.2f}× its "
                f"peak memory; verdicts {'agree' if same else 'DIFFER'} "
                f"(expected {', '.join(sorted(DRIFTED))})."
            )
        if "nannyml" in r:
            mv, nm = r["multivariate"], r["nannyml"]
            lines.append(
                f"At {r['rows']:,} rows per window multivariate_drift (a first run: it fits "
                f"the basis too) is {nm['seconds'] / mv['seconds']:.1f}× faster than NannyML's "
                f"data reconstruction (which spent {nm['load_seconds']:.1f} s loading Parquet), "
                f"{mv['seconds'] / r['floor']['seconds']:.1f}× the scan floor."
            )
        if "nannyml-cbpe" in r:
            ours, theirs = r["estimated"], r["nannyml-cbpe"]
            gaps = [abs(ours["estimates"][f"estimated_{m}"] - theirs["estimates"][n])
                    for m, n in (("auc", "roc_auc"), ("accuracy", "accuracy"),
                                 ("precision", "precision"), ("recall", "recall"), ("f1", "f1"))]  # fmt: skip
            lines.append(
                f"At {r['rows']:,} rows per window estimated_performance (a first run: it fits "
                f"the calibration too) is {theirs['seconds'] / ours['seconds']:.1f}× faster than "
                f"NannyML's CBPE (which spent {theirs['load_seconds']:.1f} s loading Parquet), "
                f"{ours['seconds'] / r['floor']['seconds']:.1f}× the scan floor; the five "
                f"estimates differ from NannyML's by at most {max(gaps):.4f}."
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big-rows", type=int, default=10_000_000, help="0 to skip")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--peer-python", type=Path, default=ROOT / ".venv-bench/bin/python")
    parser.add_argument("--memory-limit", default="600MB", help="DuckDB's, at --rows")
    parser.add_argument("--big-memory-limit", default="3GB", help="DuckDB's, at --big-rows")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()

    results = []
    sizes = (
        (args.rows, not args.no_peers, args.memory_limit),
        (args.big_rows, False, args.big_memory_limit),
    )
    for rows, peers, memory_limit in sizes:
        if rows:
            print(f"{rows:,} rows per window")
            results.append(run_size(rows, peers, args.peer_python, memory_limit))
    command = "python -m bench.run " + " ".join(sys.argv[1:])
    text = report(results, command.strip())
    # Notes written by hand below the marker (analysis, other measurements) are kept.
    if args.out.exists() and NOTES_MARKER in args.out.read_text():
        text += "\n" + NOTES_MARKER + args.out.read_text().split(NOTES_MARKER, 1)[1]
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
