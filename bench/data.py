"""Benchmark data: a reference day and a current day of N rows × 20 numeric + 5
categorical features, with drift injected into a known subset (the expected verdicts),
and a classifier's `score` with its 0/1 `label` (for the performance estimate): each
label drawn from its score (calibrated), the current day's scores shifted up.

Generated inside DuckDB (fast, no Python loop) into a DuckDB table `predictions`
(the warehouse our checks read) and, for the peers, one Parquet file per window.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

NUMERIC = [f"f{i}" for i in range(20)]
CATEGORICAL = [f"c{i}" for i in range(5)]
# Injected drift: f0 mean +0.5σ, f1 std ×1.5, f2 20% far outliers, c0 reweighted.
DRIFTED = {"f0", "f1", "f2", "c0"}
REFERENCE_DAY, CURRENT_DAY = "2026-01-01", "2026-01-02"


def _normal() -> str:
    """A standard normal by Box–Muller from two uniforms (each row draws its own)."""
    return "sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())"


def _numeric(i: int) -> str:
    z = _normal()
    cur = "w = 'cur'"
    if i == 0:
        return f"{z} + CASE WHEN {cur} THEN 0.5 ELSE 0 END"
    if i == 1:
        return f"{z} * CASE WHEN {cur} THEN 1.5 ELSE 1 END"
    if i == 2:
        return f"CASE WHEN {cur} AND random() < 0.2 THEN 8 + {z} ELSE {z} END"
    if i % 3 == 0:  # counts: many ties
        return f"CAST(floor(-ln(1 - random()) * {i + 2}) AS DOUBLE)"
    if i % 3 == 1:  # money-like, 2 decimals, with 1% NULLs
        return f"CASE WHEN random() < 0.01 THEN NULL ELSE round(exp(3 + {z}), 2) END"
    return f"{z} * {i} + {i * 10}"


def _categorical(i: int) -> str:
    k = 10 + 20 * i
    # Zipf-like weights: category floor(k · u²) favours small ids.
    skew = "CASE WHEN w = 'cur' THEN 0.5 ELSE 2.0 END" if i == 0 else "2.0"
    return f"'v' || CAST(floor({k} * pow(random(), {skew})) AS INTEGER)"


# score = σ(−2 + 1.2·z), +0.4 on the logit in the current day; label ~ Bernoulli(score).
SCORE = f"round(1 / (1 + exp(2 - 1.2 * {_normal()} - CASE WHEN w = 'cur' THEN 0.4 ELSE 0 END)), 6)"


def generate(root: Path, rows: int, parquet: bool) -> Path:
    """Write root/bench.duckdb (table predictions) and, if asked, root/{reference,current}.parquet."""
    db = root / "bench.duckdb"
    columns = ",\n".join(
        [f"{_numeric(i)} AS {c}" for i, c in enumerate(NUMERIC)]
        + [f"{_categorical(i)} AS {c}" for i, c in enumerate(CATEGORICAL)]
        + [f"{SCORE} AS score"]
    )
    con = duckdb.connect(str(db))
    try:
        con.execute(
            f"""CREATE OR REPLACE TABLE predictions AS
            SELECT *, CAST(random() < score AS DOUBLE) AS label
            FROM (
                SELECT 'bench' AS model_name, 'production' AS role,
                       CAST(CASE WHEN w = 'ref' THEN DATE '{REFERENCE_DAY}' ELSE DATE '{CURRENT_DAY}' END
                            AS TIMESTAMP) + to_microseconds(CAST(i % 86400000000 AS BIGINT)) AS ts,
                       {columns}
                FROM (SELECT 'ref' AS w UNION ALL SELECT 'cur') AS windows, range({rows}) AS r(i)
            )
            ORDER BY ts"""
        )
        if parquet:
            for name, day in (("reference", REFERENCE_DAY), ("current", CURRENT_DAY)):
                con.execute(
                    f"COPY (SELECT {', '.join(NUMERIC + CATEGORICAL)}, score, label FROM predictions "
                    f"WHERE CAST(ts AS DATE) = DATE '{day}') TO '{root / name}.parquet' (FORMAT parquet)"
                )
    finally:
        con.close()
    return db


def main() -> None:
    """`python -m bench.data DIR ROWS [--parquet]`: run apart from bench.run, so the
    generator's memory is not counted in the paths' peaks (a child inherits its
    parent's high-water mark across fork and exec)."""
    import sys

    generate(Path(sys.argv[1]), int(sys.argv[2]), parquet="--parquet" in sys.argv[3:])


if __name__ == "__main__":
    main()
