"""The warehouse adapter: the only place that talks to an engine.

An adapter knows its sqlglot dialect, runs SQL (rows or Arrow), lists a table's
columns, and writes result rows. ``connect`` opens one connection per run; close it
(or use ``with``) so an analyst can open the database between runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import pyarrow as pa

from monitor.config import WarehouseConfig


class Warehouse(ABC):
    dialect: str

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Run one statement; return its rows as dicts (empty for DDL/DML)."""

    @abstractmethod
    def arrow(self, sql: str) -> pa.Table:
        """Run one query and return its result as an Arrow table."""

    @abstractmethod
    def columns(self, table: str) -> list[tuple[str, str]]:
        """(name, type) of a table's columns; raises WarehouseError if it does not exist."""

    @abstractmethod
    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Append rows (small result sets: metric rows, run records)."""

    @abstractmethod
    def transaction(self) -> Any:
        """A context manager: commit on success, roll back on error."""

    @abstractmethod
    def interrupt(self) -> None:
        """Cancel the running query from another thread (query timeouts, shutdown)."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def connect(config: WarehouseConfig, read_only: bool = False) -> Warehouse:
    """Open the configured warehouse (imports the engine's client only when used)."""
    if config.type == "duckdb":
        from monitor.warehouse.duckdb import DuckDBWarehouse

        return DuckDBWarehouse(config, read_only=read_only)
    raise AssertionError(f"unsupported warehouse type {config.type!r}")
