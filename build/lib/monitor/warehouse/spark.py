"""Spark SQL through pyspark: a local session, or a cluster through Spark Connect.

Spark runs the checks; it cannot hold the state store (no small transactions), so
`state.database` names one (config validation insists). The session runs in UTC so
timestamp literals and casts mean the same instant as on every other engine. ANSI
mode (Spark 4's default) stays on: the checks guard every division themselves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa

from monitor.config import SparkWarehouse as SparkConfig
from monitor.errors import WarehouseError
from monitor.warehouse import Warehouse, first_line, plain_number

SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


class SparkWarehouse(Warehouse):
    dialect = "spark"

    def __init__(self, config: SparkConfig, read_only: bool = False):
        from pyspark.sql import SparkSession

        builder: Any = SparkSession.builder
        if config.connect_url:
            builder = builder.remote(config.connect_url)
        else:
            builder = builder.master(config.master).appName("sql-drift-monitor")
        for key, value in {**SESSION_CONF, **config.conf}.items():
            builder = builder.config(key, value)
        try:
            # getOrCreate: one JVM per process; a second adapter shares the session.
            self.spark = builder.getOrCreate()
        except Exception as exc:  # py4j and Connect raise their own types
            raise WarehouseError(f"cannot start Spark: {first_line(exc)}") from None
        # getOrCreate may hand back a session started elsewhere in the process: UTC anyway.
        self.spark.conf.set("spark.sql.session.timeZone", "UTC")
        self.remote = bool(config.connect_url)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        if params:
            raise WarehouseError("Spark: parameterised statements are not supported")
        try:
            rows = self.spark.sql(sql).collect()
        except Exception as exc:
            raise WarehouseError(f"Spark: {first_line(exc)}") from None
        return [{k: plain_number(v) for k, v in r.asDict(recursive=True).items()} for r in rows]

    def arrow(self, sql: str) -> pa.Table:
        try:
            table: pa.Table = self.spark.sql(sql).toArrow()
        except Exception as exc:
            raise WarehouseError(f"Spark: {first_line(exc)}") from None
        return table

    def columns(self, table: str) -> list[tuple[str, str]]:
        try:
            schema = self.spark.table(table).schema
        except Exception as exc:
            raise WarehouseError(f"Spark: table {table!r}: {first_line(exc)}") from None
        return [(f.name, f.dataType.simpleString().upper()) for f in schema.fields]

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        raise WarehouseError("Spark cannot hold the state store: name a database in state.database")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        raise WarehouseError("Spark cannot hold the state store: name a database in state.database")
        yield  # pragma: no cover

    def interrupt(self) -> None:
        with contextlib.suppress(Exception):
            if self.remote:
                self.spark.interruptAll()
            else:
                self.spark.sparkContext.cancelAllJobs()

    def close(self) -> None:
        """A local session stays up for the process (starting a JVM takes seconds);
        a Connect session is released."""
        if self.remote:
            with contextlib.suppress(Exception):
                self.spark.stop()
