"""Safe SQL text: identifiers and literals are quoted by sqlglot, never pasted raw.

These are the Jinja filters checks use (``{{ col | ident }}``, ``{{ value | literal }}``,
``{{ name | table }}``). Output is DuckDB dialect; sqlglot transpiles it afterwards, so
quote characters are re-escaped correctly for each target engine.
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, date, datetime
from typing import Any

from sqlglot import exp


def ident(name: object) -> str:
    """A quoted identifier: embedded quotes are doubled, so no name can escape it."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"an identifier must be a non-empty string, got {name!r}")
    if "\x00" in name:
        raise ValueError("an identifier cannot contain a NUL character")
    return _quoted_identifier(name)


# Memoised: a check renders the same few names and strings in every window, and
# sqlglot's generator (a tree copy and a dialect per call) was a tenth of a small run.
@functools.lru_cache(maxsize=4096)
def _quoted_identifier(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb", copy=False)


@functools.lru_cache(maxsize=4096)
def _string_literal(value: str) -> str:
    return exp.Literal.string(value).sql(dialect="duckdb", copy=False)


def table(name: object) -> str:
    """A possibly qualified table name ('schema.table'); each part quoted separately."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a table name must be a non-empty string, got {name!r}")
    return ".".join(ident(part) for part in name.split("."))


def literal(value: Any) -> str:
    """A SQL literal for a Python value; strings are escaped by sqlglot."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write the non-finite number {value!r} as a SQL literal")
        return repr(value)
    if isinstance(value, datetime):
        utc = value.astimezone(UTC) if value.tzinfo else value
        return f"TIMESTAMP '{utc.strftime('%Y-%m-%d %H:%M:%S.%f')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("a string literal cannot contain a NUL character")
        return _string_literal(value)
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(literal(v) for v in value) + ")"
    raise ValueError(f"cannot write {type(value).__name__} value {value!r} as a SQL literal")
