"""DuckDB, the embedded default."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from monitor import sqltext
from monitor.config import DuckDBWarehouse as DuckDBConfig
from monitor.errors import WarehouseError, WarehouseLockedError
from monitor.warehouse import Warehouse, first_line

# e.g. 'Conflicting lock is held in /usr/bin/python3.11 (PID 5107) by user ana. See also ...'
_LOCK_HOLDER = re.compile(
    r"Conflicting lock is held in (?P<holder>.+?(?:\(PID \d+\)|(?=\. See also)|$))"
    r"(?: by user (?P<user>[^\s.]+))?"
)


class DuckDBWarehouse(Warehouse):
    dialect = "duckdb"

    def __init__(self, config: DuckDBConfig, read_only: bool = False):
        self.path = config.path
        settings: dict[str, Any] = {}
        if config.memory_limit:
            settings["memory_limit"] = config.memory_limit
        if config.threads:
            settings["threads"] = config.threads
        if config.temp_directory:
            settings["temp_directory"] = str(config.temp_directory)
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise WarehouseError(
                f"{self.path}: DuckDB file not found (run `monitor demo` or check warehouse.path)"
            )
        self.con = _open(self.path, read_only, settings, config.lock_timeout.total_seconds())
        # DuckDB draws a progress bar on stdout for long queries: never in a service.
        self.con.execute("SET enable_progress_bar = false")
        # Everything is compared in UTC: with the ICU extension loaded, a TIMESTAMPTZ cast
        # would take the host's zone. (Without it DuckDB has no zones: UTC already.)
        with contextlib.suppress(duckdb.Error):
            self.con.execute("SET TimeZone = 'UTC'")

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        try:
            cur = self.con.execute(sql, params) if params is not None else self.con.execute(sql)
            if cur.description is None:
                return []
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        except duckdb.Error as exc:
            raise WarehouseError(f"DuckDB ({self.path.name}): {first_line(exc)}") from None

    def arrow(self, sql: str) -> pa.Table:
        try:
            result: Any = self.con.sql(sql).to_arrow_table()
            return result if isinstance(result, pa.Table) else result.read_all()
        except duckdb.Error as exc:
            raise WarehouseError(f"DuckDB ({self.path.name}): {first_line(exc)}") from None

    def columns(self, table: str) -> list[tuple[str, str]]:
        rows = self.execute(f"DESCRIBE {sqltext.table(table)}")
        return [(r["column_name"], r["column_type"]) for r in rows]

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """One INSERT ... SELECT from an Arrow table of the rows: executemany runs the
        statement once per row, ~35 ms for a run's few hundred metric rows (bench/
        overhead.py). A column Arrow could type differently from DuckDB's own casts
        (mixed Python types, aware or mixed datetimes, ints beyond 64 bits) sends the
        rows one by one, as before."""
        if not rows:
            return
        cols = ", ".join(sqltext.ident(c) for c in columns)
        target = f"INSERT INTO {sqltext.table(table)} ({cols})"
        values = [[row[i] for row in rows] for i in range(len(columns))]
        try:
            if not all(_arrow_safe(column) for column in values):
                marks = ", ".join("?" for _ in columns)
                self.con.executemany(f"{target} VALUES ({marks})", list(rows))
                return
            batch = pa.table({f"c{i}": pa.array(column) for i, column in enumerate(values)})
            self.con.register("_monitor_insert_rows", batch)
            try:
                picked = ", ".join(f"c{i}" for i in range(len(columns)))
                self.con.execute(f"{target} SELECT {picked} FROM _monitor_insert_rows")
            finally:
                # In a transaction the failed INSERT aborted, unregistering fails too:
                # the INSERT's own error is the one to report.
                with contextlib.suppress(duckdb.Error):
                    self.con.unregister("_monitor_insert_rows")
        except duckdb.Error as exc:
            raise WarehouseError(
                f"DuckDB ({self.path.name}): writing {table}: {first_line(exc)}"
            ) from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def interrupt(self) -> None:
        self.con.interrupt()  # thread-safe; a no-op when no query runs

    def close(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self.con.close()


_ARROW_TYPES = (str, bool, int, float, datetime)


def _arrow_safe(column: list[Any]) -> bool:
    """Whether Arrow types this column as DuckDB would cast its values: one Python type
    (no int/float mix, whose text in a VARCHAR column would change), naive datetimes
    only (Arrow reads an aware one in the session's time zone), ints within 64 bits."""
    kinds = {type(v) for v in column if v is not None}
    if len(kinds) > 1 or not kinds <= set(_ARROW_TYPES):
        return False
    if kinds == {datetime}:
        return all(v.tzinfo is None for v in column if v is not None)
    if kinds == {int}:
        return all(-(2**63) <= v < 2**63 for v in column if v is not None)
    return True


def _open(
    path: Path, read_only: bool, settings: dict[str, Any], lock_timeout: float
) -> duckdb.DuckDBPyConnection:
    """Connect, waiting up to `lock_timeout` seconds while another process writes."""
    deadline = time.monotonic() + lock_timeout
    pause = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=settings)
        except duckdb.IOException as exc:
            error = _explain_io_error(path, exc)
            if not isinstance(error, WarehouseLockedError) or time.monotonic() >= deadline:
                if isinstance(error, WarehouseLockedError) and lock_timeout > 0:
                    error = WarehouseLockedError(f"{error} (waited {lock_timeout:g}s)")
                raise error from None
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot open DuckDB file {path}: {exc}") from None
        time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
        pause = min(pause * 2, 0.5)


def _explain_io_error(path: object, exc: duckdb.IOException) -> WarehouseError:
    text = str(exc)
    if "lock" in text.lower():
        m = _LOCK_HOLDER.search(text)
        holder = ""
        if m:
            holder = f" by {m.group('holder')}" + (
                f" (user {m.group('user')})" if m.group("user") else ""
            )
        return WarehouseLockedError(
            f"DuckDB file {path} is locked{holder}. Another process has it open for writing: "
            "close it (for example an analyst's DuckDB shell) or wait for the other run, then retry."
        )
    return WarehouseError(f"cannot open DuckDB file {path}: {first_line(exc)}")
