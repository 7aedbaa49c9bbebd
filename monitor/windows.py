"""Window and baseline arithmetic, all in UTC (docs/configuration.md, "Time").

A run at time T looks at ``[end - window, end)`` with ``end = floor(T - lag, grain)``,
where the grain is the window's largest whole unit among day, hour and minute (a
``1d`` or ``7d`` window floors to the day, ``1h`` to the hour). Timestamps are
floored against the Unix epoch, so there is no DST: a day is always 24 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from monitor.config import (
    FixedBaseline,
    MonitorSettings,
    RollingBaseline,
    SeasonalBaseline,
    TableBaseline,
)
from monitor.cron import cron_schedule

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def clock(t: datetime) -> str:
    """`2026-09-30 06:00`, with seconds only when a sub-minute schedule needs them."""
    return f"{t:%Y-%m-%d %H:%M:%S}" if t.second or t.microsecond else f"{t:%Y-%m-%d %H:%M}"


@dataclass(frozen=True)
class Window:
    """A half-open UTC interval [start, end)."""

    start: datetime
    end: datetime

    def __str__(self) -> str:
        return f"[{clock(self.start)}, {clock(self.end)}) UTC"


@dataclass(frozen=True)
class BaselineSpec:
    """Where a check's reference rows come from: time ranges of the same model, or a table."""

    kind: str
    ranges: tuple[Window, ...] = ()
    table: str | None = None
    skipped: tuple[Window, ...] = ()  # alerting windows left out of the ranges

    def describe(self) -> str:
        if self.table:
            return f"table {self.table}"
        text = f"{self.kind}: " + (", ".join(str(r) for r in self.ranges) or "no ranges left")
        if self.skipped:
            text += " (skipped alerting " + ", ".join(str(w) for w in self.skipped) + ")"
        return text

    @property
    def skips_alerting(self) -> bool:
        return self.kind in ("rolling", "seasonal")

    def without(self, excluded: list[Window]) -> BaselineSpec:
        """The same baseline with the `excluded` intervals cut out of its ranges."""
        ranges = list(self.ranges)
        skipped = []
        for cut in sorted(excluded, key=lambda w: w.start):
            kept = []
            for r in ranges:
                if cut.end <= r.start or cut.start >= r.end:
                    kept.append(r)
                    continue
                skipped.append(Window(max(r.start, cut.start), min(r.end, cut.end)))
                if r.start < cut.start:
                    kept.append(Window(r.start, cut.start))
                if cut.end < r.end:
                    kept.append(Window(cut.end, r.end))
            ranges = kept
        return BaselineSpec(self.kind, tuple(ranges), self.table, self.skipped + tuple(skipped))

    @property
    def span(self) -> Window | None:
        if not self.ranges:
            return None
        return Window(min(r.start for r in self.ranges), max(r.end for r in self.ranges))


def merged(ranges: list[Window] | tuple[Window, ...]) -> list[Window]:
    """The ranges in order, overlapping or touching ones as one."""
    out: list[Window] = []
    for r in sorted(ranges, key=lambda w: (w.start, w.end)):
        if out and r.start <= out[-1].end:
            out[-1] = Window(out[-1].start, max(out[-1].end, r.end))
        else:
            out.append(r)
    return out


def whole_days(ranges: list[Window] | tuple[Window, ...]) -> tuple[list[Window], list[Window]]:
    """The ranges cut at UTC midnights: the whole days they cover, and what is left
    (the parts of a day at either end of a range, and ranges shorter than a day).
    Overlapping ranges are merged first, so no time is in both (a row in two ranges
    is one row of the baseline).

    Stored per-day counts (monitor/day_counts.py) stand in for whole days only.
    """
    days: list[Window] = []
    rest: list[Window] = []
    for r in merged(ranges):
        first = floor_time(r.start, DAY)
        if first < r.start:
            first += DAY
        last = floor_time(r.end, DAY)
        if last - first < DAY:
            rest.append(r)
            continue
        if r.start < first:
            rest.append(Window(r.start, first))
        days += [
            Window(first + k * DAY, first + (k + 1) * DAY) for k in range((last - first) // DAY)
        ]
        if last < r.end:
            rest.append(Window(last, r.end))
    return days, rest


def to_utc(value: datetime) -> datetime:
    """Naive datetimes are read as UTC; aware ones are converted."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def grain(window: timedelta) -> timedelta:
    """The unit a window's end is floored to: day, hour or minute."""
    for unit in (timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)):
        if window % unit == timedelta(0):
            return unit
    return timedelta(seconds=1)


def floor_time(t: datetime, unit: timedelta) -> datetime:
    t = to_utc(t)
    return EPOCH + ((t - EPOCH) // unit) * unit


def window_for(at: datetime, settings: MonitorSettings) -> Window:
    """The window a run at time `at` evaluates."""
    end = floor_time(to_utc(at) - settings.lag, grain(settings.window))
    return Window(end - settings.window, end)


def scheduled_runs(
    settings: MonitorSettings, after: datetime, until: datetime
) -> list[tuple[Window, datetime]]:
    """The windows that the schedule's fire times in (after, until] evaluate, oldest
    first, each with the *first* fire time T that produces it.

    Fires between two grain boundaries evaluate the same window (an hourly schedule
    with a 1d window sees yesterday 24 times), so each window appears once: the
    ledger runs a window once, and a backfill replays it once.
    """
    cron = cron_schedule(settings.schedule, settings.timezone)
    step = grain(settings.window)
    tick = timedelta(microseconds=1)
    out: list[tuple[Window, datetime]] = []
    fire = cron.next_fire(after)
    while fire is not None and fire <= until:
        w = window_for(fire, settings)
        # The first T with floor(T - lag) = w.end: at or after w.end + lag.
        first = cron.next_fire(w.end + settings.lag - tick)
        out.append((w, first if first is not None and first <= fire else fire))
        # Fires before the next grain boundary produce the same window again: skip them.
        fire = cron.next_fire(max(fire, w.end + step + settings.lag - tick))
    return out


def scheduled_windows(
    first_day: date, last_day: date, settings: MonitorSettings
) -> list[tuple[Window, datetime]]:
    """The windows the monitor's schedule evaluates that *start* within [first_day,
    last_day] (UTC dates, inclusive), each with the first fire time T producing it.

    This is what `monitor backfill` runs: a daily schedule with a 1h window gives one
    window a day, an hourly schedule with a 1d window one a day, oldest first.
    """
    lo = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
    hi = datetime.combine(last_day, datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
    # A window starting at s is produced by the T with floor(T - lag) = s + window.
    after = lo + settings.window + settings.lag - timedelta(microseconds=1)
    until = hi + settings.window + settings.lag + grain(settings.window)
    return [(w, t) for w, t in scheduled_runs(settings, after, until) if lo <= w.start < hi]


def baseline_for(window: Window, settings: MonitorSettings) -> BaselineSpec | None:
    """Baseline ranges for a window (docs/configuration.md, `baseline`): fixed, rolling, seasonal or a table."""
    b = settings.baseline
    if b is None:
        return None
    if isinstance(b, FixedBaseline):
        return BaselineSpec("fixed", (Window(to_utc(b.start), to_utc(b.end)),))
    if isinstance(b, RollingBaseline):
        # The N days immediately before the window.
        return BaselineSpec(
            "rolling", (Window(window.start - timedelta(days=b.days), window.start),)
        )
    if isinstance(b, SeasonalBaseline):
        # Same weekday and time of day in each of the K previous weeks, pooled.
        week = timedelta(weeks=1)
        ranges = tuple(
            Window(window.start - k * week, window.end - k * week) for k in range(b.weeks, 0, -1)
        )
        return BaselineSpec("seasonal", ranges)
    if isinstance(b, TableBaseline):
        return BaselineSpec("table", table=b.name)
    raise AssertionError(f"unhandled baseline {b!r}")
