"""Snowflake, BigQuery, Trino and Databricks through their official DB-API clients.

Each is an optional extra (`pip install 'sql-drift-monitor[snowflake]'` …); the client
is imported only when the warehouse is configured, and a missing one is named by
`connect`. These engines run the checks; the state store lives in `state.database`
(config validation insists), so they never write.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa

from monitor import sqltext
from monitor.config import BigQueryWarehouse as BigQueryConfig
from monitor.config import DatabricksWarehouse as DatabricksConfig
from monitor.config import SnowflakeWarehouse as SnowflakeConfig
from monitor.config import TrinoWarehouse as TrinoConfig
from monitor.errors import WarehouseError
from monitor.warehouse import Warehouse, first_line, plain_number


def _secret(env: str, what: str) -> str:
    value = os.environ.get(env)
    if not value:
        raise WarehouseError(f"{what}: environment variable {env} is not set")
    return value


class DbapiWarehouse(Warehouse):
    """The shared part: run a query on a DB-API 2 connection, rows as dicts."""

    engine = ""

    def __init__(self, con: Any):
        self.con = con
        self._cursor: Any = None

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        if params:
            raise WarehouseError(f"{self.engine}: parameterised statements are not supported")
        try:
            cursor = self.con.cursor()
            self._cursor = cursor
            cursor.execute(sql)
            if cursor.description is None:
                return []
            # Snowflake returns unquoted aliases in upper case; the row contract is lower.
            names = [str(d[0]).lower() for d in cursor.description]
            return [
                {k: plain_number(v) for k, v in zip(names, row, strict=True)}
                for row in cursor.fetchall()
            ]
        except WarehouseError:
            raise
        except Exception as exc:  # each client has its own error classes
            raise WarehouseError(f"{self.engine}: {first_line(exc)}") from None
        finally:
            self._cursor = None

    def arrow(self, sql: str) -> pa.Table:
        return pa.Table.from_pylist(self.execute(sql))

    def columns(self, table: str) -> list[tuple[str, str]]:
        try:
            cursor = self.con.cursor()
            cursor.execute(f"SELECT * FROM {self.quote_table(table)} WHERE 1 = 0")
            return [(str(d[0]), str(d[1])) for d in cursor.description]
        except Exception as exc:
            raise WarehouseError(f"{self.engine}: table {table!r}: {first_line(exc)}") from None

    def quote_table(self, table: str) -> str:
        import sqlglot

        return sqlglot.transpile(
            f"SELECT * FROM {sqltext.table(table)}", read="duckdb", write=self.dialect
        )[0].removeprefix("SELECT * FROM ")

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        raise WarehouseError(f"{self.engine} does not hold the state store: see state.database")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        raise WarehouseError(f"{self.engine} does not hold the state store: see state.database")
        yield  # pragma: no cover

    def interrupt(self) -> None:
        cursor = self._cursor
        if cursor is not None and hasattr(cursor, "cancel"):
            with contextlib.suppress(Exception):
                cursor.cancel()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.con.close()


class SnowflakeWarehouse(DbapiWarehouse):
    dialect = "snowflake"
    engine = "Snowflake"

    def __init__(self, config: SnowflakeConfig, read_only: bool = False):
        import snowflake.connector

        options = {"warehouse": config.warehouse, "database": config.database,
                   "schema": config.schema_, "role": config.role}  # fmt: skip
        try:
            con = snowflake.connector.connect(
                account=config.account,
                user=config.user,
                password=_secret(config.password_env, "Snowflake password"),
                **{k: v for k, v in options.items() if v},
            )
        except snowflake.connector.Error as exc:
            raise WarehouseError(f"cannot connect to Snowflake: {first_line(exc)}") from None
        super().__init__(con)


class BigQueryWarehouse(DbapiWarehouse):
    dialect = "bigquery"
    engine = "BigQuery"

    def __init__(self, config: BigQueryConfig, read_only: bool = False):
        from google.cloud import bigquery
        from google.cloud.bigquery import dbapi

        job = bigquery.QueryJobConfig(
            default_dataset=f"{config.project}.{config.dataset}" if config.dataset else None
        )
        try:
            client = bigquery.Client(
                project=config.project, location=config.location, default_query_job_config=job
            )
        except Exception as exc:  # google.auth errors: no application default credentials
            raise WarehouseError(f"cannot connect to BigQuery: {first_line(exc)}") from None
        super().__init__(dbapi.connect(client))


class TrinoWarehouse(DbapiWarehouse):
    dialect = "trino"
    engine = "Trino"

    def __init__(self, config: TrinoConfig, read_only: bool = False):
        import trino

        auth = None
        if config.password_env:
            auth = trino.auth.BasicAuthentication(
                config.user, _secret(config.password_env, "Trino password")
            )
        con = trino.dbapi.connect(
            host=config.host, port=config.port, user=config.user, catalog=config.catalog,
            schema=config.schema_, http_scheme=config.http_scheme, auth=auth,
        )  # fmt: skip
        super().__init__(con)


class DatabricksWarehouse(DbapiWarehouse):
    dialect = "databricks"
    engine = "Databricks"

    def __init__(self, config: DatabricksConfig, read_only: bool = False):
        from databricks import sql

        try:
            con = sql.connect(
                server_hostname=config.server_hostname,
                http_path=config.http_path,
                access_token=_secret(config.access_token_env, "Databricks token"),
                catalog=config.catalog,
                schema=config.schema_,
            )
        except WarehouseError:
            raise
        except Exception as exc:
            raise WarehouseError(f"cannot connect to Databricks: {first_line(exc)}") from None
        super().__init__(con)
