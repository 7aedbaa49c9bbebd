"""Which whole days of a run's baseline it reads from stored counts instead of rows.

A check whose statistics are sums over rows declares `day_counts: <macro>` in its
header (categorical_drift does): the macro counts what the statistics sum, per
whole UTC day. For a fixed, rolling or seasonal baseline, the runner keeps those
counts in the state store (which must be the warehouse itself, since the check's SQL
joins them) and a later run reads a stored day's counts instead of its rows, so a
28-day rolling baseline costs one new day's rows a run, not 28 days'. A baseline
whose whole days hold fewer than MIN_BASELINE_ROWS rows is read from its rows: there
the stored counts cost as much as they save.

Exactness rests on a guard read before every run: per baseline day, the model's rows
and the latest value of the model's `changed_at` column (the marts' `built_at`, which
every rebuilt row takes). A stored day is used only while both equal what they were
when its counts were taken; a day missing from the store, or changed since (a late
row, a deleted row, a row rebuilt in place), is counted from its rows and stored
before the run, which then reads every whole day from the store. The guard is read
before the rows are counted, so a change in between makes the next guard differ too.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.checks import Check, parse_sql, render_helper, render_macro, transpile
from monitor.config import Config, MonitorConfig
from monitor.errors import WarehouseError
from monitor.warehouse import Warehouse
from monitor.windows import BaselineSpec, Window, merged, to_utc, whole_days

log = logging.getLogger(__name__)
# Below this many rows in a baseline's whole days, reading them costs no more than the
# stored counts do (the guard, the join, storing a new day): measured crossover 1-3M
# rows (bench/RESULTS.md, "Stored day counts"), so such a baseline is read from rows.
MIN_BASELINE_ROWS = 2_000_000
_unguarded: set[str] = set()  # monitors whose guard failed once (logged once)


@dataclass(frozen=True)
class DayGuard:
    """What a day's rows are: how many, and the latest change time among them."""

    rows: int
    changed: str | None


@dataclass(frozen=True)
class DayFill:
    """Counts to store before a run (monitor/store/day_counts.py): the days missing from
    the store or changed since, each with the guard read *before* they are counted, so
    a change in between makes the next guard differ and counts taken later are never
    trusted for rows they did not see."""

    monitor: str
    key: str
    days: dict[datetime, DayGuard]
    sql: str  # the check's day_counts query for exactly these days, in the warehouse's dialect
    keep_from: datetime  # the run's first baseline day: older stored days are dropped


@dataclass(frozen=True)
class StoredDays:
    """A run's baseline split: the stored days it reads (the template's
    `baseline.stored`, None for none) and the ranges it reads from rows
    (`baseline.unstored`)."""

    stored: dict[str, Any] | None
    unstored: tuple[Window, ...]


def unused(base: BaselineSpec) -> StoredDays:
    """The whole baseline from its rows: the run neither reads nor stores counts."""
    return StoredDays(None, base.ranges)


def plan(
    config: Config,
    check: Check,
    monitor: MonitorConfig,
    base: BaselineSpec,
    context: dict[str, Any],
    stored_days: Callable[[str], dict[datetime, DayGuard]],
    store_days: Callable[[DayFill], bool],
    wh: Warehouse,
) -> StoredDays:
    """The run's stored and unstored baseline: the guard, then the stored days
    (`stored_days(key)`); the days missing or changed are counted and stored first
    (`store_days`, False when it could not), so the run reads every whole day from the
    store. Any failure leaves the days concerned on their rows."""
    assert check.day_counts is not None
    changed_at = config.models[monitor.model].changed_at
    days, rest = whole_days(base.ranges)
    if changed_at is None or not days or base.table is not None:
        return unused(base)
    try:
        guard = day_guard(config, monitor, days, changed_at, check, wh)
    except WarehouseError as exc:
        if monitor.name not in _unguarded:
            _unguarded.add(monitor.name)
            log.warning(
                "%s reads its whole baseline from rows: its stored day counts cannot be "
                "checked (%s); set the model's changed_at to a column every change of a row "
                "updates, or to null", monitor.name, exc,
                extra={"fields": {"event": "day_counts_unguarded", "monitor": monitor.name,
                                  "error": str(exc)}},
            )  # fmt: skip
        return unused(base)
    if sum(g.rows for g in guard.values()) < MIN_BASELINE_ROWS:
        return unused(base)
    key = counts_key(check, context, config)
    stored = stored_days(key)
    valid = [d for d in days if stored.get(d.start) == guard[d.start]]
    missing = [d for d in days if d not in valid]
    if missing:
        sql = render_macro(check, context, config.check_dirs, check.day_counts, _ranges(missing))
        fill = DayFill(
            monitor.name,
            key,
            {d.start: guard[d.start] for d in missing},
            transpile(parse_sql(sql, check), wh.dialect, check, consume=True),
            min(d.start for d in days),
        )
        if store_days(fill):
            valid, missing = days, []
    return StoredDays(
        {
            "counts": f"{config.state.schema_}.day_counts",
            "guards": f"{config.state.schema_}.day_count_days",
            "monitor": monitor.name,
            "key": key,
            "days": [d.start for d in valid],
        }
        if valid
        else None,
        tuple(merged(rest + missing)),
    )


def counts_key(check: Check, context: dict[str, Any], config: Config) -> str:
    """What the counts depend on: the check's day-count query without its days (the
    columns, slices and pooled segments, the table, model and role). A change of any
    of them is a new key, so counts taken under other settings are never read."""
    assert check.day_counts is not None
    sql = render_macro(check, context, config.check_dirs, check.day_counts, [])
    return hashlib.sha256(f"{check.name}\n{sql}".encode()).hexdigest()[:16]


def day_guard(
    config: Config,
    monitor: MonitorConfig,
    days: list[Window],
    changed_at: str,
    check: Check,
    wh: Warehouse,
) -> dict[datetime, DayGuard]:
    """Per day, the model's rows and their latest `changed_at` (as text), now."""
    day = render_helper(config.check_dirs, "macros/day_of.sql", "day_of")
    sql = render_helper(
        config.check_dirs, "macros/day_rows.sql", "day_rows",
        config.models[monitor.model].predictions, config.model_rows_name(monitor.model),
        _ranges(days), monitor.role, changed_at, day,
    )  # fmt: skip
    rows = wh.execute(transpile(parse_sql(sql, check), wh.dialect, check, consume=True))
    found = {
        to_utc(r["day"]): DayGuard(
            int(r["row_count"]), None if r["changed"] is None else str(r["changed"])
        )
        for r in rows
        if r["day"] is not None
    }
    return {d.start: found.get(d.start, DayGuard(0, None)) for d in days}


def _ranges(days: list[Window]) -> list[dict[str, datetime]]:
    """Days as the macros take them: consecutive days as one range (a shorter filter)."""
    return [{"start": r.start, "end": r.end} for r in merged(days)]
