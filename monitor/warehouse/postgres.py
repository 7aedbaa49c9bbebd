"""PostgreSQL through psycopg 3: a warehouse, a state store, or both.

Results come back as DuckDB's would: numeric as int or float (`plain_number`), json
as its text. The service's own SQL uses DuckDB's `?` placeholders; they are written
as psycopg's `%s` here (and a literal `%` doubled), outside quoted text only.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
import pyarrow as pa
from psycopg import sql as pgsql
from psycopg.types.string import TextLoader

from monitor.config import PostgresWarehouse as PostgresConfig
from monitor.errors import WarehouseError
from monitor.warehouse import Warehouse, first_line, plain_number


class PostgresWarehouse(Warehouse):
    dialect = "postgres"

    def __init__(self, config: PostgresConfig, read_only: bool = False):
        self.config = config
        kwargs: dict[str, Any] = {"connect_timeout": int(config.connect_timeout.total_seconds())}
        if config.password_env:
            password = os.environ.get(config.password_env)
            if password is None:
                raise WarehouseError(
                    f"PostgreSQL password: environment variable {config.password_env} is not set"
                )
            kwargs["password"] = password
        try:
            self.con = psycopg.connect(config.url, autocommit=True, **kwargs)
        except psycopg.Error as exc:
            raise WarehouseError(
                f"cannot connect to PostgreSQL ({_where(config.url)}): {first_line(exc)}. "
                "Is the server up, and are warehouse.url and the password right?"
            ) from None
        for name in ("json", "jsonb"):  # checks hand JSON on as text
            self.con.adapters.register_loader(name, TextLoader)
        if read_only:
            self.execute("SET default_transaction_read_only = on")
        # Everything is compared in UTC: a TIMESTAMPTZ read or cast in this session must
        # not take the server's or the client's (PGTZ) zone.
        self.execute("SET TIME ZONE 'UTC'")
        self.name = _where(config.url)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        query = qmark_to_format(sql) if params is not None else sql
        try:
            with self.con.cursor() as cur:
                cur.execute(query.encode(), params)  # bytes: a query, not a template
                if cur.description is None:
                    return []
                names = [d.name for d in cur.description]
                return [
                    {k: plain_number(v) for k, v in zip(names, row, strict=True)}
                    for row in cur.fetchall()
                ]
        except psycopg.Error as exc:
            raise WarehouseError(f"PostgreSQL ({self.name}): {first_line(exc)}") from None

    def arrow(self, sql: str) -> pa.Table:
        rows = self.execute(sql)
        return pa.Table.from_pylist(rows)

    def columns(self, table: str) -> list[tuple[str, str]]:
        # to_regclass resolves the name as a query would (search_path included: an
        # unqualified name need not be in current_schema()).
        rows = self.execute(
            "SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS data_type "
            "FROM pg_attribute AS a WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 "
            "AND NOT a.attisdropped ORDER BY a.attnum",
            [table],
        )
        if not rows:
            raise WarehouseError(f"PostgreSQL ({self.name}): table {table!r} does not exist")
        return [(r["column_name"], r["data_type"]) for r in rows]

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        if not rows:
            return
        statement = pgsql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            pgsql.Identifier(*table.split(".")),
            pgsql.SQL(", ").join(pgsql.Identifier(c) for c in columns),
            pgsql.SQL(", ").join(pgsql.Placeholder() for _ in columns),
        )
        try:
            with self.con.cursor() as cur:
                cur.executemany(statement, [list(r) for r in rows])
        except psycopg.Error as exc:
            raise WarehouseError(
                f"PostgreSQL ({self.name}): writing {table}: {first_line(exc)}"
            ) from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self.con.transaction():
            yield

    def interrupt(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self.con.cancel_safe()

    def close(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self.con.close()


def qmark_to_format(sql: str) -> str:
    """`?` placeholders → `%s`, and `%` → `%%`, outside quoted strings and identifiers."""
    out: list[str] = []
    quote: str | None = None
    for ch in sql:
        if quote:
            if ch == quote:
                quote = None
            out.append("%%" if ch == "%" else ch)
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        else:
            out.append("%%" if ch == "%" else ch)
    return "".join(out)


def _where(url: str) -> str:
    """host:port/db of a connection string, without user or password."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        return "the configured server"
    host = info.get("host") or "localhost"
    return f"{host}:{info.get('port') or 5432}/{info.get('dbname') or ''}"
