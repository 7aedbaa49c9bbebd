"""Compile a check once per pass or backfill, not once per window.

A backfill runs the same monitor over many windows whose template contexts differ
only in their times: the window, the baseline ranges, `run_at` and `mature_before`
all move by the same step. Rendering, parsing and transpiling the same SQL again for
each window was most of a small run's cost (bench/overhead.py). This cache compiles
a context's *shape* (everything but the absolute times: the params, the frozen bins,
the table's columns, and the gaps between the times) once and reuses the SQL with
only the time literals replaced.

Reuse has to be earned, because a template may do anything with a time (take its
date, its weekday, its month). The first window of a shape is compiled as usual. At
the second, the cache compiles that window and the first window's context shifted by
a step with odd residues (centuries, days not a multiple of 7, hours, minutes,
seconds, microseconds) and reuses only if replacing the time literals in the first
SQL gives both exactly. A template whose SQL depends on a time other than through its
`literal` (`TIMESTAMP '...'`) or its `isoformat()` fails that test and is compiled for
every window, as before. Results are identical either way (tests/test_compile_cache.py compares every
built-in check on every dialect).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.checks import CompiledCheck

# Far enough and odd enough that a date, weekday, month, hour, minute or second
# taken from a time changes with it. Years stay >= 1000 and microseconds stay as they
# are, so every time prints at the same length: sqlglot's pretty-printer wraps lines
# by length, and a longer literal would move a line break, not only the literal.
PROBE_SHIFT = timedelta(days=365 * 300 + 123, hours=5, minutes=7, seconds=11)


def _stamp(t: datetime) -> str:
    """A time as `sqltext.literal` writes it inside TIMESTAMP '...'."""
    utc = t.astimezone(UTC) if t.tzinfo else t
    return utc.strftime("%Y-%m-%d %H:%M:%S.%f")


def _times(value: Any, out: list[datetime]) -> None:
    """Every datetime in a context, in a fixed traversal order."""
    if isinstance(value, datetime):
        out.append(value)
    elif isinstance(value, dict):
        for k in sorted(value, key=str):
            _times(value[k], out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _times(v, out)


def _shape(value: Any, origin: datetime) -> Any:
    """The context with each time as its offset from the first one (and whether it has
    microseconds, which `isoformat` writes only then): equal shapes differ only by where
    they sit in time."""
    if isinstance(value, datetime):
        return ("@", value - origin, value.microsecond != 0)
    if isinstance(value, dict):
        return tuple((str(k), _shape(value[k], origin)) for k in sorted(value, key=str))
    if isinstance(value, (list, tuple)):
        return tuple(_shape(v, origin) for v in value)
    return value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)


def _shifted(value: Any, step: timedelta) -> Any:
    """The context with every time moved back by `step`."""
    if isinstance(value, datetime):
        return value - step
    if isinstance(value, dict):
        return {k: _shifted(v, step) for k, v in value.items()}
    if isinstance(value, list):
        return [_shifted(v, step) for v in value]
    if isinstance(value, tuple):
        return tuple(_shifted(v, step) for v in value)
    return value


def _retimed(compiled: CompiledCheck, old: list[datetime], new: list[datetime]) -> CompiledCheck:
    """The compiled SQL with the time literals of `old` replaced by those of `new`."""
    swap = {}
    for o, n in zip(old, new, strict=True):
        swap[_stamp(o)] = _stamp(n)
        swap[o.isoformat()] = n.isoformat()  # a time written as text (freshness's detail)
    pattern = re.compile("|".join(re.escape(s) for s in sorted(swap, key=len, reverse=True)))

    def sub(text: str) -> str:
        return pattern.sub(lambda m: swap[m.group(0)], text)

    return dataclasses.replace(compiled, rendered=sub(compiled.rendered), sql=sub(compiled.sql))


@dataclasses.dataclass
class _Entry:
    first: CompiledCheck
    times: list[datetime]
    reusable: bool | None = None  # None: seen once, not tested yet


class CompileCache:
    """Compiled checks by context shape, for one pass or backfill (then dropped)."""

    def __init__(self) -> None:
        self._entries: dict[Any, _Entry] = {}
        self.compiled = 0  # how many times `compile` really ran (for tests and benches)

    def get(
        self,
        key: tuple[Any, ...],
        context: dict[str, Any],
        compile: Callable[[dict[str, Any]], CompiledCheck],
    ) -> CompiledCheck:
        """`compile(context)`, or the SQL of an earlier window of the same shape (and
        the same `key`: the check, its sql folders and the dialect) retimed."""
        times: list[datetime] = []
        _times(context, times)
        if not times or len({t.tzinfo is None for t in times}) > 1:
            return self._compile(compile, context)
        shape = (key, _shape(context, times[0]))
        entry = self._entries.get(shape)
        if entry is None:
            self._entries[shape] = _Entry(self._compile(compile, context), times)
            return self._entries[shape].first
        if entry.reusable:
            return _retimed(entry.first, entry.times, times)
        if entry.reusable is False:
            return self._compile(compile, context)
        # The second window of this shape: reuse only if retiming reproduces it and a
        # far, odd shift of the first window too.
        now = self._compile(compile, context)
        probe_times = [t - PROBE_SHIFT for t in entry.times]
        probe = self._compile(compile, _shifted(_first_context(entry, context), PROBE_SHIFT))
        entry.reusable = _retimed(entry.first, entry.times, times) == now and (
            _retimed(entry.first, entry.times, probe_times) == probe
        )
        return now

    def _compile(
        self, compile: Callable[[dict[str, Any]], CompiledCheck], context: dict[str, Any]
    ) -> CompiledCheck:
        self.compiled += 1
        return compile(context)


def _first_context(entry: _Entry, context: dict[str, Any]) -> dict[str, Any]:
    """The first window's context, rebuilt from this one (same shape, earlier times)."""
    times: list[datetime] = []
    _times(context, times)
    first: dict[str, Any] = _shifted(context, times[0] - entry.times[0])
    return first
