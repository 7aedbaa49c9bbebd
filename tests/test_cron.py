"""Cron means what system cron means: day-of-week numbering, the day-of-month OR
day-of-week rule, and cron's daylight-saving rules, on known dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.cron import CronSchedule

NY = "America/New_York"  # 2026: clocks jump 02:00→03:00 on 8 March, fall 02:00→01:00 on 1 November


def fires(expr: str, start: str, n: int, tz: str = "UTC") -> list[str]:
    """The next n fire times after `start` (a UTC ISO time), as local ISO times."""
    schedule = CronSchedule.parse(expr, tz)
    t = datetime.fromisoformat(start).replace(tzinfo=UTC)
    out = []
    for _ in range(n):
        nxt = schedule.next_fire(t)
        assert nxt is not None
        out.append(nxt.astimezone(ZoneInfo(tz)).isoformat())
        t = nxt
    return out


@pytest.mark.parametrize(
    ("expr", "start", "expected"),
    [
        # 0 and 7 are Sunday (2026-11-29 is a Sunday); APScheduler would read 0 as Monday.
        ("0 0 * * 0", "2026-11-25", ["2026-11-29T00:00:00+00:00", "2026-12-06T00:00:00+00:00"]),
        ("0 0 * * 7", "2026-11-25", ["2026-11-29T00:00:00+00:00", "2026-12-06T00:00:00+00:00"]),
        ("0 0 * * sun", "2026-11-25", ["2026-11-29T00:00:00+00:00", "2026-12-06T00:00:00+00:00"]),
        # 1-5 is Monday to Friday: from Friday 27 November, the next are Fri, Mon, Tue.
        (
            "0 9 * * 1-5",
            "2026-11-27",
            ["2026-11-27T09:00:00+00:00", "2026-11-30T09:00:00+00:00", "2026-12-01T09:00:00+00:00"],
        ),
        # 5-7: Friday, Saturday, Sunday.
        (
            "0 0 * * 5-7",
            "2026-11-26",
            ["2026-11-27T00:00:00+00:00", "2026-11-28T00:00:00+00:00", "2026-11-29T00:00:00+00:00"],
        ),
        # */2 in day-of-week: cron days 0,2,4,6 = Sun, Tue, Thu, Sat.
        (
            "0 0 * * */2",
            "2026-11-25",
            ["2026-11-26T00:00:00+00:00", "2026-11-28T00:00:00+00:00", "2026-11-29T00:00:00+00:00"],
        ),
        # Both day fields restricted: the 13th OR a Friday (December 2026: Fridays 4, 11,
        # 18, 25; the 13th is a Sunday).
        (
            "0 0 13 * 5",
            "2026-12-01",
            [
                "2026-12-04T00:00:00+00:00",
                "2026-12-11T00:00:00+00:00",
                "2026-12-13T00:00:00+00:00",
                "2026-12-18T00:00:00+00:00",
            ],
        ),
        # A leading * makes the day-of-month unrestricted: then both must match (AND),
        # as in vixie cron: odd days that are Fridays.
        ("0 0 */2 * 5", "2026-12-01", ["2026-12-11T00:00:00+00:00", "2026-12-25T00:00:00+00:00"]),
        # Macros and a leading seconds field.
        ("@weekly", "2026-11-25", ["2026-11-29T00:00:00+00:00"]),
        ("@monthly", "2026-11-25", ["2026-12-01T00:00:00+00:00"]),
        (
            "*/20 * * * * *",
            "2026-11-25T10:00:05",
            ["2026-11-25T10:00:20+00:00", "2026-11-25T10:00:40+00:00", "2026-11-25T10:01:00+00:00"],
        ),
        # 29 February: only in leap years.
        ("0 0 29 2 *", "2026-01-01", ["2028-02-29T00:00:00+00:00"]),
    ],
)
def test_known_dates(expr: str, start: str, expected: list[str]) -> None:
    assert fires(expr, start, len(expected)) == expected


@pytest.mark.parametrize(
    ("expr", "start", "expected"),
    [
        # Spring forward: 02:30 does not exist on 8 March; a fixed-time job runs once,
        # at the jump (03:00 EDT), then at 02:30 again from the next day.
        (
            "30 2 * * *",
            "2026-03-07T12:00",
            ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"],
        ),
        # Two skipped fixed times still run once.
        (
            "0,30 2 * * *",
            "2026-03-07T12:00",
            ["2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"],
        ),
        # A wildcard (hourly) job's skipped time does not run: 01:30 EST, then 03:30 EDT.
        (
            "30 * * * *",
            "2026-03-08T06:00",
            ["2026-03-08T01:30:00-05:00", "2026-03-08T03:30:00-04:00"],
        ),
        # Fall back: 01:30 happens twice on 1 November; a fixed-time job runs once.
        (
            "30 1 * * *",
            "2026-10-31T12:00",
            ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
        ),
        # A wildcard job follows real time: both 01:00 and both 01:30.
        (
            "*/30 * * * *",
            "2026-11-01T04:40",
            [
                "2026-11-01T01:00:00-04:00",
                "2026-11-01T01:30:00-04:00",
                "2026-11-01T01:00:00-05:00",
                "2026-11-01T01:30:00-05:00",
                "2026-11-01T02:00:00-05:00",
            ],
        ),
        # A daily job in local time moves in UTC with the offset.
        (
            "0 6 * * *",
            "2026-10-31T12:00",
            ["2026-11-01T06:00:00-05:00", "2026-11-02T06:00:00-05:00"],
        ),
    ],
)
def test_daylight_saving_changes(expr: str, start: str, expected: list[str]) -> None:
    assert fires(expr, start, len(expected), NY) == expected


def test_fall_back_from_inside_the_repeated_hour() -> None:
    """Asked during the first 01:xx, the next wildcard fire is in the repeated hour."""
    s = CronSchedule.parse("0 * * * *", NY)
    at = datetime(2026, 11, 1, 5, 15, tzinfo=UTC)  # 01:15 EDT
    nxt = s.next_fire(at)
    assert nxt == datetime(2026, 11, 1, 6, 0, tzinfo=UTC)  # 01:00 EST
    assert s.latest_fire(at) == datetime(2026, 11, 1, 5, 0, tzinfo=UTC)


def _brute_force(expr: str, start: datetime, end: datetime) -> list[datetime]:
    """crontab(5) read literally in UTC, day by day: the independent reference."""

    def values(field: str, lo: int, hi: int) -> set[int]:
        out: set[int] = set()
        for item in field.split(","):
            base, _, step = item.partition("/")
            a, b = (lo, hi) if base == "*" else map(int, (base.split("-") * 2)[:2])
            out.update(range(a, b + 1, int(step or 1)))
        return out

    minute, hour, dom, month, dow = expr.split()
    minutes, hours, months = values(minute, 0, 59), values(hour, 0, 23), values(month, 1, 12)
    doms, dows = values(dom, 1, 31), {d % 7 for d in values(dow, 0, 7)}
    either = not dom.startswith("*") and not dow.startswith("*")
    out = []
    day = start.replace(hour=0, minute=0)
    while day <= end:
        cron_dow = (day.weekday() + 1) % 7  # Python: Monday 0; cron: Sunday 0
        dom_ok, dow_ok = day.day in doms, cron_dow in dows
        if day.month in months and ((dom_ok or dow_ok) if either else (dom_ok and dow_ok)):
            out += [
                day.replace(hour=h, minute=m)
                for h in sorted(hours)
                for m in sorted(minutes)
                if start < day.replace(hour=h, minute=m) <= end
            ]
        day += timedelta(days=1)
    return out


@pytest.mark.parametrize(
    "expr",
    [
        "15 3 * * 0",
        "0 */6 1,15 * 1-5",
        "30 12 */3 * 6",
        "0 0 1-7 * 1",
        "5 4 * 2,8 7",
        "0 22 * * 0-2",
    ],
)
def test_agrees_with_a_brute_force_reading_over_a_year(expr: str) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=365)
    expected = _brute_force(expr, start, end)
    assert expected, expr
    assert list(CronSchedule.parse(expr).fires(start, end)) == expected


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("0 6 * *", "expected 5 fields"),
        ("61 * * * *", "minute: 61 is out of range 0-59"),
        ("0 0 * * 8", "day_of_week: 8 is out of range 0-7"),
        ("0 0 * * mon-sun", "Sunday is 0 or 7"),
        ("5/10 * * * *", "a step needs a range or *"),
        ("@reboot", "unknown macro"),
        ("0 0 30 2 *", "never fires"),
        ("0 0 L * *", "day: 'l' is not a number"),
    ],
)
def test_invalid_expressions_say_what_is_wrong(expr: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CronSchedule.parse(expr)
