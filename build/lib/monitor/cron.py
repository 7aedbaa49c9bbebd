"""Cron expressions read the way system cron (vixie cron, cronie) reads them.

APScheduler's ``CronTrigger.from_crontab`` differs from crontab(5) in three ways that
would move or double a monitor's runs, so this module normalises the expression and
places the fire times itself:

1. **Day of week.** Cron numbers days 0–7 with 0 and 7 = Sunday; APScheduler numbers
   them 0–6 from Monday. ``1-5`` must mean Monday to Friday, ``0`` Sunday. The field
   is expanded to day names before APScheduler sees it.
2. **Day of month and day of week.** When both fields are restricted, cron runs on
   days matching *either* (``0 0 13 * 5``: every 13th and every Friday);
   APScheduler requires both. As in vixie cron, a field counts as unrestricted when
   it starts with ``*`` (so ``*/2`` combines with AND, a known cron quirk).
3. **Daylight saving time.** Cron tells "fixed-time" jobs (minute and hour fields
   both without a leading ``*``) from "wildcard" jobs. When the clock jumps forward, a
   fixed-time job whose time was skipped runs once at the jump; a wildcard job's
   skipped times do not run. When the clock falls back, a fixed-time job runs once
   (at the first occurrence); a wildcard job runs in both repeated hours, following
   real time. APScheduler would run a fixed 01:30 job twice on a fall-back night.

How: APScheduler's own CronTrigger enumerates the *wall-clock* times matching the
fields in a clock without DST (naive local times, read as UTC), and
:meth:`CronSchedule.next_fire` places each wall time on the real timeline with the
rules above.

Extensions beyond crontab(5), both common elsewhere: the macros ``@hourly``,
``@daily`` (``@midnight``), ``@weekly``, ``@monthly`` and ``@yearly`` (``@annually``);
and an optional sixth, *leading* field for seconds (as in Quartz and Spring), for
sub-minute schedules. A five-field expression runs at second 0.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # cron's 0..6 (7 is sun too)
# field -> (low, high, names), in crontab order (seconds first when given).
FIELDS = {
    "second": (0, 59, ()),
    "minute": (0, 59, ()),
    "hour": (0, 23, ()),
    "day": (1, 31, ()),
    "month": (1, 12, MONTHS),
    "day_of_week": (0, 7, CRON_DAYS),
}
_ITEM = re.compile(r"^(?P<base>\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/(?P<step>[0-9]+))?$")
# Wall times are searched this far before a moment: more than any DST shift.
_DST_SLACK = timedelta(hours=3)


def _value(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if text in names:
        return names.index(text) + (1 if name == "month" else 0)
    if not text.isdigit():
        known = f" (or {names[0]}..{names[-1]})" if names else ""
        raise ValueError(f"{name}: {text!r} is not a number from {low} to {high}{known}")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{name}: {value} is out of range {low}-{high}")
    return value


def _expand(field: str, name: str) -> set[int]:
    """The values a crontab field selects; raises ValueError naming the field."""
    low, high, names = FIELDS[name]
    selected: set[int] = set()
    for item in field.split(","):
        m = _ITEM.match(item)
        if not m:
            raise ValueError(f"{name}: cannot read {item!r} (write *, N, N-M, */S or N-M/S)")
        base, step = m.group("base"), int(m.group("step") or 1)
        if step < 1:
            raise ValueError(f"{name}: step must be at least 1 in {item!r}")
        if base == "*":
            lo, hi = low, high
        elif "-" in base:
            a, b = base.split("-")
            lo, hi = _value(a, name, low, high, names), _value(b, name, low, high, names)
            if lo > hi:
                hint = " (Sunday is 0 or 7: e.g. 1-7 for mon..sun)" if name == "day_of_week" else ""
                raise ValueError(
                    f"{name}: range {item!r} runs backwards (cron does not wrap){hint}"
                )
        else:
            if m.group("step"):
                raise ValueError(f"{name}: a step needs a range or *, e.g. {base}-{high}/{step}")
            lo = hi = _value(base, name, low, high, names)
        selected.update(range(lo, hi + 1, step))
    return selected


@dataclass(frozen=True)
class CronSchedule:
    """A crontab expression in a time zone; fire times are UTC instants."""

    expression: str
    timezone: str
    fields: dict[str, str]  # APScheduler syntax per field; day_of_week as names
    either_day: bool  # day-of-month and day-of-week both restricted: either matches
    fixed_time: bool  # neither minute nor hour starts with *: cron's DST rule for fixed jobs

    @classmethod
    def parse(cls, expression: str, timezone: str = "UTC") -> CronSchedule:
        """Read a crontab expression; ValueError says which field is wrong and why."""
        text = " ".join(expression.lower().split())
        if text.startswith("@"):
            if text not in MACROS:
                raise ValueError(f"unknown macro {text!r} (use one of {', '.join(MACROS)})")
            text = MACROS[text]
        parts = text.split(" ")
        if len(parts) == 5:
            parts = ["0", *parts]
        if len(parts) != 6:
            raise ValueError(
                f"expected 5 fields (minute hour day-of-month month day-of-week), or 6 with "
                f"leading seconds; got {len(parts)}"
            )
        raw = dict(zip(FIELDS, parts, strict=True))
        fields: dict[str, str] = {}
        for name, field in raw.items():
            values = _expand(field, name)  # validates every field the same way
            if name == "day_of_week":
                days = sorted({v % 7 for v in values})
                fields[name] = "*" if field == "*" else ",".join(CRON_DAYS[d] for d in days)
            else:
                fields[name] = field
        either = not raw["day"].startswith("*") and not raw["day_of_week"].startswith("*")
        fixed = not raw["minute"].startswith("*") and not raw["hour"].startswith("*")
        schedule = cls(expression, timezone, fields, either, fixed)
        if schedule.next_fire(datetime(2000, 1, 1, tzinfo=UTC)) is None:
            raise ValueError("the expression never fires (e.g. 30 February)")
        return schedule

    # ------------------------------------------------------------------ wall clock

    def _wall_triggers(self) -> list[CronTrigger]:
        """Triggers over naive wall time (read as UTC, a clock without DST)."""
        f = self.fields
        if not self.either_day:
            return [CronTrigger(timezone=UTC, **f)]
        # Either day field may match: the union of a day-of-month and a day-of-week trigger.
        return [
            CronTrigger(timezone=UTC, **{**f, "day_of_week": "*"}),
            CronTrigger(timezone=UTC, **{**f, "day": "*"}),
        ]

    def _wall_times(self, start: datetime) -> Iterator[datetime]:
        """Matching wall times at or after `start` (naive), ascending, without end."""
        triggers = self._wall_triggers()
        aware = start.replace(tzinfo=UTC)
        nexts = [t.get_next_fire_time(None, aware) for t in triggers]
        while True:
            live = [n for n in nexts if n is not None]
            if not live:
                return
            current = min(live)
            yield current.replace(tzinfo=None)
            nexts = [
                t.get_next_fire_time(n, n) if n == current else n
                for t, n in zip(triggers, nexts, strict=True)
            ]

    def _instants(self, wall: datetime, tz: ZoneInfo) -> list[datetime]:
        """Where a wall time falls on the timeline, by cron's DST rules."""
        first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
        second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
        if first == second:
            return [first]
        if first < second:  # the wall time happens twice: the clock fell back
            return [first] if self.fixed_time else [first, second]
        # The wall time never happens: the clock jumped over it.
        return [_jump(second, first, tz)] if self.fixed_time else []

    # ------------------------------------------------------------------ fire times

    def next_fire(self, after: datetime) -> datetime | None:
        """The first fire time strictly after `after` (UTC)."""
        tz = ZoneInfo(self.timezone)
        after = after.astimezone(UTC)
        # Near a clock change, wall times before `after`'s may fall after it: look wider.
        offset = after.astimezone(tz).utcoffset()
        near_change = any(
            (after + d).astimezone(tz).utcoffset() != offset for d in (-_DST_SLACK, _DST_SLACK)
        )
        local = after.astimezone(tz).replace(tzinfo=None)
        start = local - _DST_SLACK if near_change else local
        best: datetime | None = None
        for wall in self._wall_times(start):
            if best is not None and wall > best.astimezone(tz).replace(tzinfo=None) + _DST_SLACK:
                break
            for instant in self._instants(wall, tz):
                if instant > after and (best is None or instant < best):
                    best = instant
            if best is not None and not near_change:
                break
            if wall - local > timedelta(days=366 * 8):  # e.g. 29 February on a Monday
                break
        return best

    def fires(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Fire times in (start, end], oldest first."""
        t = self.next_fire(start)
        while t is not None and t <= end:
            yield t
            t = self.next_fire(t)

    def latest_fire(
        self, at: datetime, lookback: timedelta = timedelta(days=400)
    ) -> datetime | None:
        """The last fire time at or before `at` (None if none within `lookback`)."""
        # Look back in growing steps so a per-second schedule stays cheap.
        step = timedelta(minutes=2)
        while True:
            step = min(step, lookback)
            latest = None
            for t in self.fires(at - step, at):
                latest = t
            if latest is not None or step >= lookback:
                return latest
            step *= 8

    def trigger(self) -> SystemCronTrigger:
        return SystemCronTrigger(self)

    def __str__(self) -> str:
        return f"{self.expression!r} ({self.timezone})"


@functools.lru_cache(maxsize=512)
def cron_schedule(expression: str, timezone: str = "UTC") -> CronSchedule:
    """A parsed schedule, cached: config validation, backfills and the daemon all ask."""
    return CronSchedule.parse(expression, timezone)


def _jump(before: datetime, after: datetime, tz: ZoneInfo) -> datetime:
    """The instant the clock jumps forward, between two UTC instants that bracket it."""
    lo, hi = before, after
    offset = lo.astimezone(tz).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == offset:
            lo = mid
        else:
            hi = mid
    return hi.replace(microsecond=0)


class SystemCronTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler ships no types
    """An APScheduler trigger that fires when system cron would (see the module doc)."""

    def __init__(self, schedule: CronSchedule):
        self.schedule = schedule

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        if previous_fire_time is not None:
            return self.schedule.next_fire(previous_fire_time)
        return self.schedule.next_fire(now - timedelta(microseconds=1))

    def __str__(self) -> str:
        return f"cron[{self.schedule}]"
