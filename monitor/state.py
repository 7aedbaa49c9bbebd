"""What the service writes (DESIGN.md): `runs` and `metrics` in the state schema.

Times are stored as naive UTC TIMESTAMPs so every engine and every client time zone
reads the same instant. Writing a run replaces the monitor's metric rows for that
window in one transaction, so re-running a window is idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor import sqltext
from monitor.checks import RESULT_COLUMNS
from monitor.warehouse import Warehouse
from monitor.windows import Window, to_utc

RUN_COLUMNS = (
    "run_id", "monitor", "window_start", "window_end", "started_at", "finished_at",
    "status", "error", "trigger", "row_count",
)  # fmt: skip
# Every check row, plus where it came from and what the rules made of it.
METRIC_COLUMNS = (
    "run_id", "monitor", "check", "model", "window_start", "window_end",
    *RESULT_COLUMNS, "q_value", "threshold", "status", "reason",
)  # fmt: skip


def _ddl(schema: str) -> list[str]:
    s = sqltext.ident(schema)
    return [
        f"CREATE SCHEMA IF NOT EXISTS {s}",
        f"""CREATE TABLE IF NOT EXISTS {s}.runs (
            run_id VARCHAR PRIMARY KEY,
            monitor VARCHAR NOT NULL,
            window_start TIMESTAMP NOT NULL,
            window_end TIMESTAMP NOT NULL,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            status VARCHAR NOT NULL,      -- ok | error | no_data
            error VARCHAR,
            "trigger" VARCHAR NOT NULL,   -- schedule | manual | backfill
            row_count BIGINT
        )""",
        f"""CREATE TABLE IF NOT EXISTS {s}.metrics (
            run_id VARCHAR NOT NULL,
            monitor VARCHAR NOT NULL,
            "check" VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            window_start TIMESTAMP NOT NULL,
            window_end TIMESTAMP NOT NULL,
            segment VARCHAR NOT NULL,
            feature VARCHAR NOT NULL,
            metric VARCHAR NOT NULL,
            value DOUBLE,
            sample_size BIGINT,
            baseline_value DOUBLE,
            baseline_size BIGINT,
            p_value DOUBLE,
            q_value DOUBLE,
            threshold DOUBLE,
            status VARCHAR NOT NULL,      -- ok | warn | alert | no_data
            reason VARCHAR
        )""",
    ]


def naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    monitor: str
    window_start: datetime
    window_end: datetime
    started_at: datetime
    finished_at: datetime
    status: str
    error: str | None
    trigger: str
    row_count: int


class StateStore:
    """The monitor schema inside the warehouse."""

    def __init__(self, warehouse: Warehouse, schema: str = "monitor", create: bool = True):
        """`create=False` opens an existing store read-only (e.g. for `monitor render`)."""
        self.wh = warehouse
        self.schema = schema
        if create:
            for statement in _ddl(schema):
                self.wh.execute(statement)

    def exists(self) -> bool:
        rows = self.wh.execute(
            "SELECT count(*) AS n FROM information_schema.tables "
            "WHERE table_schema = ? AND table_name = 'metrics'",
            [self.schema],
        )
        return bool(rows and rows[0]["n"])

    def table(self, name: str) -> str:
        return f"{sqltext.ident(self.schema)}.{sqltext.ident(name)}"

    def record_run(self, run: RunRecord, metric_rows: Sequence[dict[str, Any]] | None) -> None:
        """Write the run; when metric rows are given, they replace the window's old rows."""
        values = [
            naive_utc(v) if isinstance(v, datetime) else v
            for v in (getattr(run, c) for c in RUN_COLUMNS)
        ]
        with self.wh.transaction():
            if metric_rows is not None:
                self.wh.execute(
                    f"DELETE FROM {self.table('metrics')} "
                    "WHERE monitor = ? AND window_start = ? AND window_end = ?",
                    [run.monitor, naive_utc(run.window_start), naive_utc(run.window_end)],
                )
                self.wh.insert_rows(
                    f"{self.schema}.metrics",
                    METRIC_COLUMNS,
                    [
                        [
                            naive_utc(r[c]) if isinstance(r[c], datetime) else r[c]
                            for c in METRIC_COLUMNS
                        ]
                        for r in metric_rows
                    ],
                )
            self.wh.insert_rows(f"{self.schema}.runs", RUN_COLUMNS, [values])

    def alert_windows(self, monitor: str, span: Window) -> list[Window]:
        """Earlier windows of `monitor` within `span` in which any row was in `alert`."""
        rows = self.wh.execute(
            f"SELECT DISTINCT window_start, window_end FROM {self.table('metrics')} "
            "WHERE monitor = ? AND status = 'alert' AND window_start < ? AND window_end > ? "
            "ORDER BY window_start",
            [monitor, naive_utc(span.end), naive_utc(span.start)],
        )
        return [Window(to_utc(r["window_start"]), to_utc(r["window_end"])) for r in rows]

    def metrics(self, monitor: str | None = None) -> list[dict[str, Any]]:
        where, params = ("WHERE monitor = ?", [monitor]) if monitor else ("", [])
        return self.wh.execute(
            f"SELECT * FROM {self.table('metrics')} {where} "
            "ORDER BY monitor, window_start, segment, feature, metric",
            params,
        )
