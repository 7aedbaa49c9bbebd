"""Parse and transpile a check once per pass or backfill, not once per window.

A backfill runs the same monitor over many windows whose rendered SQL differs only in
its time literals: the window, the baseline ranges, `run_at` and `mature_before`.
Parsing, checking and transpiling that SQL again for every window was most of a small
run's cost (bench/overhead.py). This cache keeps each window's Jinja rendering, which
is cheap and where all of a template's logic lives (its branches, `fail()`, anything
it does with a date), and reuses the rest.

Each window's rendered SQL is normalised by replacing the text of every time in its
context (as `sqltext.literal` writes it, and as `isoformat()` does) with a numbered
placeholder. When the normalised text equals an earlier window's, this window's SQL is
that window's rendered and transpiled SQL with the placeholders filled with this
window's times: exact for the rendering, by construction. For the transpiled SQL it
holds as long as sqlglot treats those string literals as opaque text, which the cache
checks the second time a normalised text comes round: it transpiles that window and a
far-shifted copy (centuries back, odd days, hours, minutes and seconds) in full, and
reuses only if both equal the retimed first one.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.checks import CompiledCheck

# Far and odd, so a transpile that read the text of a time would give itself away.
# Years stay >= 1000 and microseconds as they are, so every time prints at the same
# length (sqlglot's pretty-printer wraps lines by length).
PROBE_SHIFT = timedelta(days=365 * 300 + 123, hours=5, minutes=7, seconds=11)


def _texts(t: datetime) -> tuple[str, str]:
    """A time as `sqltext.literal` writes it inside TIMESTAMP '...', and its isoformat."""
    utc = t.astimezone(UTC) if t.tzinfo else t
    return utc.strftime("%Y-%m-%d %H:%M:%S.%f"), t.isoformat()


def context_times(value: Any, out: list[datetime] | None = None) -> list[datetime]:
    """Every datetime in a template context, in a fixed traversal order."""
    out = [] if out is None else out
    if isinstance(value, datetime):
        out.append(value)
    elif isinstance(value, dict):
        for k in sorted(value, key=str):
            context_times(value[k], out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            context_times(v, out)
    return out


# Any text a time prints as (`sqltext.literal`'s and isoformat's): one pattern compiled
# once, each match looked up among the window's own times (compiling an alternation of
# every window's texts cost a millisecond a run).
TIME_TEXT = re.compile(
    r"\d{1,4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?"
    r"(?:[+-]\d{2}:\d{2}(?::\d{2}(?:\.\d{6})?)?)?"  # an offset, to the second or microsecond
)


@dataclasses.dataclass(frozen=True)
class _Timed:
    """Where a window's times stand in a text: `blank` puts numbered placeholders there,
    `_fill` puts another window's times back."""

    slots: dict[str, int]  # a time's text -> its slot

    @classmethod
    def of(cls, times: list[datetime]) -> _Timed:
        """Slot 2k is time k's literal text, 2k+1 its isoformat; a text that several
        times share (equal times) takes the first one's slot."""
        slots: dict[str, int] = {}
        for k, t in enumerate(times):
            literal, iso = _texts(t)
            slots.setdefault(literal, 2 * k)
            slots.setdefault(iso, 2 * k + 1)
        return cls(slots)

    def blank(self, text: str) -> str:
        def slot(m: re.Match[str]) -> str:
            k = self.slots.get(m.group(0))
            return m.group(0) if k is None else f"\x00{k}\x00"

        return TIME_TEXT.sub(slot, text)


def _fill(text: str, times: list[datetime]) -> str:
    """Placeholders back to text: slot 2k is time k's literal text, 2k+1 its isoformat."""
    texts = [s for t in times for s in _texts(t)]
    return re.sub("\x00([0-9]+)\x00", lambda m: texts[int(m.group(1))], text)


@dataclasses.dataclass
class _Entry:
    compiled: CompiledCheck  # with placeholders in rendered and sql
    reusable: bool | None = None  # None: seen once, not tested yet


class CompileCache:
    """Transpiled SQL by normalised rendering, for one pass or backfill (then dropped)."""

    def __init__(self) -> None:
        self._entries: dict[Any, _Entry] = {}
        self.transpiled = 0  # how often parse + transpile really ran (tests, benches)

    def get(
        self,
        key: tuple[Any, ...],
        context: dict[str, Any],
        render: Callable[[dict[str, Any]], str],
        transpile: Callable[[str], CompiledCheck],
    ) -> CompiledCheck:
        """`transpile(render(context))`, reusing an earlier window's transpiled SQL when
        this window's rendering differs from it only in the times (and the same `key`:
        the check, its sql folders and the dialect)."""
        rendered = render(context)
        times = context_times(context)
        if not times:
            return self._transpile(transpile, rendered)
        # Distinct times get distinct slots; which times share a text is part of the key.
        slots = _Timed.of(times)
        shared = tuple(tuple(slots.slots[s] for s in _texts(t)) for t in times)
        blank = slots.blank(rendered)
        entry = self._entries.get((key, shared, blank))
        if entry is None:
            compiled = self._transpile(transpile, rendered)
            self._entries[(key, shared, blank)] = _Entry(_blanked(compiled, slots))
            return compiled
        if entry.reusable:
            return _filled(entry.compiled, times)
        if entry.reusable is False:
            return self._transpile(transpile, rendered)
        now = self._transpile(transpile, rendered)
        entry.reusable = _filled(entry.compiled, times) == now and self._probe(
            entry, transpile, times
        )
        return now

    def _probe(
        self,
        entry: _Entry,
        transpile: Callable[[str], CompiledCheck],
        times: list[datetime],
    ) -> bool:
        """Whether a far-shifted rendering transpiles to the retimed SQL too."""
        shifted = [t - PROBE_SHIFT for t in times]
        try:
            probe = self._transpile(transpile, _fill(entry.compiled.rendered, shifted))
        except Exception:  # sqlglot refusing a year-1726 literal: just do not reuse
            return False
        return _filled(entry.compiled, shifted) == probe

    def _transpile(self, transpile: Callable[[str], CompiledCheck], rendered: str) -> CompiledCheck:
        self.transpiled += 1
        return transpile(rendered)


def _blanked(compiled: CompiledCheck, slots: _Timed) -> CompiledCheck:
    return dataclasses.replace(
        compiled, rendered=slots.blank(compiled.rendered), sql=slots.blank(compiled.sql)
    )


def _filled(compiled: CompiledCheck, times: list[datetime]) -> CompiledCheck:
    return dataclasses.replace(
        compiled, rendered=_fill(compiled.rendered, times), sql=_fill(compiled.sql, times)
    )
