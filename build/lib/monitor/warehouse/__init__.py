"""The warehouse adapter: the only place that talks to an engine.

An adapter knows its sqlglot dialect, runs SQL (rows or Arrow), lists a table's
columns, and writes result rows. ``connect`` opens one connection per run; close it
(or use ``with``) so an analyst can open the database between runs.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any

import pyarrow as pa

from monitor.config import Config, WarehouseConfig
from monitor.errors import WarehouseError


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


# The optional engines: module, class, and the extra that installs the client.
_ENGINES = {
    "duckdb": ("monitor.warehouse.duckdb", "DuckDBWarehouse", None),
    "postgres": ("monitor.warehouse.postgres", "PostgresWarehouse", "postgres"),
    "spark": ("monitor.warehouse.spark", "SparkWarehouse", "spark"),
    "snowflake": ("monitor.warehouse.clients", "SnowflakeWarehouse", "snowflake"),
    "bigquery": ("monitor.warehouse.clients", "BigQueryWarehouse", "bigquery"),
    "trino": ("monitor.warehouse.clients", "TrinoWarehouse", "trino"),
    "databricks": ("monitor.warehouse.clients", "DatabricksWarehouse", "databricks"),
}


def connect(config: WarehouseConfig, read_only: bool = False) -> Warehouse:
    """Open the configured warehouse; an engine's client is imported only when used."""
    module_name, class_name, extra = _ENGINES[config.type]
    try:
        module = importlib.import_module(module_name)
        adapter: Warehouse = getattr(module, class_name)(config, read_only=read_only)
    except ImportError as exc:  # the adapters import their client on first use
        raise WarehouseError(
            f"warehouse type {config.type!r} needs its client library ({exc.name}): "
            f"pip install 'sql-drift-monitor[{extra}]'"
        ) from None
    return adapter


def first_line(exc: BaseException) -> str:
    """The first line of a client's error: engines put the useful sentence there (Spark
    its error class and message) and a stack or query dump after it."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def plain_number(value: Any) -> Any:
    """Exact numerics (PostgreSQL numeric, Spark decimal) as int or float, like DuckDB's
    BIGINT and DOUBLE: checks compare and store them as numbers, not Decimals."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            return float(value)
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    return value


class DuckDBDialectSQL(Warehouse):
    """The service's own SQL (the state store's) is written once, in DuckDB's dialect;
    on another engine each statement is transpiled by sqlglot first (and cached).
    Placeholders stay `?`: the adapter binds them its own way."""

    def __init__(self, warehouse: Warehouse):
        self.inner = warehouse
        self.dialect = warehouse.dialect

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        return self.inner.execute(_in_dialect(sql, self.dialect), params)

    def arrow(self, sql: str) -> pa.Table:
        return self.inner.arrow(_in_dialect(sql, self.dialect))

    def columns(self, table: str) -> list[tuple[str, str]]:
        return self.inner.columns(table)

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        self.inner.insert_rows(table, columns, rows)

    def transaction(self) -> Any:
        return self.inner.transaction()

    def interrupt(self) -> None:
        self.inner.interrupt()

    def close(self) -> None:
        self.inner.close()


@functools.lru_cache(maxsize=512)
def _in_dialect(sql: str, dialect: str) -> str:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ErrorLevel

    def keep_qmark(node: exp.Expr) -> exp.Expr:
        return exp.var("?") if isinstance(node, exp.Placeholder) else node

    trees = sqlglot.parse(sql, read="duckdb")
    return ";\n".join(
        tree.transform(keep_qmark).sql(dialect=dialect, unsupported_level=ErrorLevel.RAISE)
        for tree in trees
        if tree is not None
    )


def in_state_dialect(warehouse: Warehouse) -> Warehouse:
    """`warehouse` as the state store talks to it (DuckDB needs no translation)."""
    if warehouse.dialect == "duckdb" or isinstance(warehouse, DuckDBDialectSQL):
        return warehouse
    return DuckDBDialectSQL(warehouse)


def state_missing(config: Config) -> bool:
    """True when the state lives in a DuckDB file that does not exist yet: nothing ran."""
    db = config.state_database
    return db.type == "duckdb" and not db.path.exists()


@contextlib.contextmanager
def state_database(
    config: Config, read_only: bool = False, warehouse: Warehouse | None = None
) -> Iterator[Warehouse]:
    """The state store's database: `warehouse` itself when the state lives there (DuckDB
    allows one writer, so never a second connection), else `state.database`."""
    if config.state.database is None and warehouse is not None:
        yield warehouse
        return
    with connect(config.state_database, read_only=read_only) as con:
        yield con
