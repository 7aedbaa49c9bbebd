"""What a pass runs, and in which order: pure functions of the config, the time and
what the run ledger says. No I/O; the pass (monitor/runner.py) reads the ledger and
hands it in.

A plan is a list of `Planned` runs (monitor, window, fire time T), in fire-time
order; at one fire time, quality checks go first (`FIRST_FAMILIES`), so a freshness
or volume alert exists before the drift run it should inhibit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import NamedTuple

from monitor.checks import Check, find_check
from monitor.config import Config, MonitorConfig
from monitor.cron import cron_schedule
from monitor.durations import format_duration
from monitor.errors import MonitorError
from monitor.ledger import LedgerEntry
from monitor.store import LedgerSpan
from monitor.windows import Window, scheduled_runs, scheduled_windows, window_for

TICK = timedelta(microseconds=1)
FIRST_FAMILIES = ("quality",)


class Planned(NamedTuple):
    monitor: MonitorConfig
    window: Window
    run_at: datetime  # the fire time T whose window this is


def select(config: Config, names: Iterable[str] | None) -> list[MonitorConfig]:
    """The named monitors, each once (an unknown name is an error naming the nearest),
    or all of them."""
    if not names:
        return list(config.monitors)
    return [config.monitor(n) for n in dict.fromkeys(names)]


def rank(monitor: MonitorConfig, checks: dict[str, Check]) -> int:
    """0 for the families that run first at a shared fire time, else 1."""
    try:
        family = find_check(checks, monitor.check).family
    except MonitorError:
        return 1
    return 0 if family in FIRST_FAMILIES else 1


def ordered(plan: Iterable[Planned], checks: dict[str, Check]) -> list[Planned]:
    """Fire-time order; at one fire time, quality checks first (see FIRST_FAMILIES)."""
    return sorted(plan, key=lambda p: (p.run_at, rank(p.monitor, checks), p.monitor.name))


def at_time(monitors: Iterable[MonitorConfig], at: datetime) -> list[Planned]:
    """`monitor run --at T`: each monitor's window of time T."""
    return [Planned(m, window_for(at, m), at) for m in monitors]


def backfill_plan(
    monitors: Iterable[MonitorConfig],
    first_day: date,
    last_day: date,
    checks: dict[str, Check],
) -> list[Planned]:
    """Every window starting within [first_day, last_day], as scheduled, in pass order."""
    return ordered(
        (
            Planned(m, window, fire)
            for m in monitors
            for window, fire in scheduled_windows(first_day, last_day, m)
        ),
        checks,
    )


def scheduled_candidates(
    monitors: Iterable[MonitorConfig],
    span: Mapping[str, LedgerSpan],
    now: datetime,
    horizon: timedelta,
    after: Mapping[str, datetime],
    force: bool,
) -> tuple[list[Planned], list[str]]:
    """Windows the schedules produced up to `now` that may be due, and the gaps: a
    monitor that never ran on a schedule (or `force`) gets its latest window only;
    one that did, every window since its first scheduled run, back to `horizon`
    (and after the daemon's cursor `after`). Windows missed before the horizon are
    not run: each monitor with such windows gets a note saying how to run them."""
    lower = now - horizon
    candidates: list[Planned] = []
    gaps: list[str] = []
    for m in monitors:
        if force or m.name not in span:
            latest = cron_schedule(m.schedule, m.timezone).latest_fire(now)
            found = scheduled_runs(m, latest - TICK, latest) if latest else []
        else:
            start = max(lower, span[m.name].first - TICK, after.get(m.name, lower))
            found = scheduled_runs(m, start, now)
            gap = gap_note(m, span[m.name].last, lower, horizon)
            if gap:
                gaps.append(gap)
        candidates += [Planned(m, w, t) for w, t in found]
    return candidates, gaps


def not_done(
    candidates: Iterable[Planned], ledger: Mapping[tuple[str, Window], LedgerEntry]
) -> list[Planned]:
    """The candidates whose window the ledger does not have as done. One claimed by
    another process stays, so it is reported as skipped and looked at again later."""
    return [
        p
        for p in candidates
        if (entry := ledger.get((p.monitor.name, p.window))) is None or entry.status != "done"
    ]


def gap_note(
    monitor: MonitorConfig, latest: datetime, lower: datetime, horizon: timedelta
) -> str | None:
    """Windows scheduled after `latest` and before the horizon, and how to run them."""
    cron = cron_schedule(monitor.schedule, monitor.timezone)
    nxt = cron.next_fire(latest)
    if nxt is None or nxt > lower:
        return None
    return (
        f"{monitor.name}: windows scheduled from {nxt:%Y-%m-%d %H:%M} to {lower:%Y-%m-%d %H:%M} "
        f"UTC are older than the catch-up horizon ({format_duration(horizon)}) and were not run; "
        f"run `monitor backfill --monitor {monitor.name} --from {nxt:%Y-%m-%d} --to {lower:%Y-%m-%d}`"
    )
