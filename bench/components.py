"""Where numeric_drift's time goes, for one column: scan, sort, grouping, windows.

    python -m bench.data DIR ROWS && python -m bench.components DIR [--column f0]

Times each stage of the per-column query on its own (one run each, same process),
so RESULTS.md can say which part of an exact KS/W1 costs what.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

from bench.data import CURRENT_DAY, REFERENCE_DAY


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path)
    parser.add_argument("--column", default="f0")
    parser.add_argument("--memory-limit", default="3GB")
    args = parser.parse_args()
    con = duckdb.connect(str(args.root / "bench.duckdb"), read_only=True)
    con.execute(f"SET memory_limit = '{args.memory_limit}'")
    c = args.column
    where = "model_name = 'bench' AND role = 'production'"
    values = f"CASE WHEN isfinite({c}) THEN {c} END"
    src = (
        f"SELECT 1 AS c, 0 AS b, {values} AS v FROM predictions WHERE {where} "
        f"AND ts >= DATE '{CURRENT_DAY}' AND ts < DATE '{CURRENT_DAY}' + INTERVAL 1 DAY "
        f"UNION ALL SELECT 0, 1, {values} FROM predictions WHERE {where} "
        f"AND ts >= DATE '{REFERENCE_DAY}' AND ts < DATE '{CURRENT_DAY}'"
    )
    grouped = (
        f"vc AS (SELECT v, count(CASE WHEN c = 1 THEN 1 END) AS n_cur, "
        f"count(CASE WHEN b = 1 THEN 1 END) AS n_base FROM ({src}) GROUP BY v)"
    )
    rows = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
    stages = {
        "scan both windows": f"SELECT sum(v), sum(c) FROM ({src})",
        "sort the values": f"SELECT max(r) FROM (SELECT row_number() OVER (ORDER BY v) AS r FROM ({src}))",
        "group to distinct values": f"WITH {grouped} SELECT count(*), sum(n_cur) FROM vc",
        "group + LEAD": f"WITH {grouped} SELECT max(n) FROM (SELECT LEAD(v) OVER (ORDER BY v) AS n FROM vc)",
        "group + one running SUM": f"WITH {grouped} SELECT max(s) FROM (SELECT SUM(n_cur) OVER (ORDER BY v {rows}) AS s FROM vc)",
        "group + two running SUMs + LEAD (the check's CDF)": (
            f"WITH {grouped} SELECT max(a), max(b), max(n) FROM (SELECT SUM(n_cur) OVER w AS a, "
            f"SUM(n_base) OVER w AS b, LEAD(v) OVER w AS n FROM vc WHERE v IS NOT NULL "
            f"WINDOW w AS (ORDER BY v {rows}))"
        ),
    }
    distinct = con.execute(f"SELECT count(DISTINCT v) FROM ({src})").fetchone()
    print(f"column {c}: {distinct[0] if distinct else 0:,} distinct values")
    for name, sql in stages.items():
        started = time.perf_counter()
        con.execute(sql).fetchall()
        print(f"{time.perf_counter() - started:7.2f} s  {name}")
    con.close()


if __name__ == "__main__":
    main()
