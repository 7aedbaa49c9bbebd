"""Window and baseline arithmetic (docs/configuration.md, "Time"), in UTC, DST-free."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.config import MonitorSettings
from monitor.windows import (
    BaselineSpec,
    Window,
    baseline_for,
    grain,
    scheduled_windows,
    whole_days,
    window_for,
)


def settings(**kw: object) -> MonitorSettings:
    return MonitorSettings.model_validate(kw)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("window", "lag", "at", "expected"),
    [
        # 1d floors to the day: a run at 06:17 looks at yesterday.
        ("1d", "0", utc(2026, 9, 30, 6, 17), (utc(2026, 9, 29), utc(2026, 9, 30))),
        # exactly on the boundary: the window that just closed.
        ("1d", "0", utc(2026, 9, 30), (utc(2026, 9, 29), utc(2026, 9, 30))),
        # 1h floors to the hour.
        ("1h", "0", utc(2026, 9, 30, 6, 59, 59), (utc(2026, 9, 30, 5), utc(2026, 9, 30, 6))),
        # 7d floors to the day and spans seven of them.
        ("7d", "0", utc(2026, 9, 30, 12), (utc(2026, 9, 23), utc(2026, 9, 30))),
        # lag shifts T before flooring (label monitors: lag = label maturity).
        ("1d", "14d", utc(2026, 9, 30, 6), (utc(2026, 9, 15), utc(2026, 9, 16))),
        ("1h", "30m", utc(2026, 9, 30, 6, 20), (utc(2026, 9, 30, 4), utc(2026, 9, 30, 5))),
        # 90m has minute grain.
        (
            "90m",
            "0",
            utc(2026, 9, 30, 6, 20, 30),
            (utc(2026, 9, 30, 4, 50), utc(2026, 9, 30, 6, 20)),
        ),
    ],
)
def test_window_for(
    window: str, lag: str, at: datetime, expected: tuple[datetime, datetime]
) -> None:
    w = window_for(at, settings(window=window, lag=lag))
    assert (w.start, w.end) == expected


def test_naive_times_are_utc_and_aware_times_are_converted() -> None:
    s = settings(window="1d")
    assert window_for(datetime(2026, 9, 30, 1), s) == window_for(utc(2026, 9, 30, 1), s)
    # 2026-09-30 01:00 in New York is 05:00 UTC the same day.
    ny = datetime(2026, 9, 30, 1, tzinfo=ZoneInfo("America/New_York"))
    assert window_for(ny, s).end == utc(2026, 9, 30)
    # 2026-09-30 01:00 in Tokyo is still 2026-09-29 16:00 UTC.
    tokyo = datetime(2026, 9, 30, 1, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert window_for(tokyo, s).end == utc(2026, 9, 29)


def test_windows_are_24_hours_across_a_dst_change() -> None:
    """Europe/Paris leaves summer time on 2026-10-25: UTC days stay 24 hours long."""
    s = settings(window="1d")
    paris = ZoneInfo("Europe/Paris")
    for hour in range(24):
        local = datetime(2026, 10, 25, hour, tzinfo=paris)
        w = window_for(local, s)
        assert w.end - w.start == timedelta(days=1)
        assert w.end.hour == 0 and w.end.tzinfo == UTC
    hourly = settings(window="1h")
    # 02:30 local happens twice that night; each maps to a distinct UTC hour.
    first = datetime(2026, 10, 25, 2, 30, tzinfo=paris, fold=0)
    second = datetime(2026, 10, 25, 2, 30, tzinfo=paris, fold=1)
    assert window_for(second, hourly).end - window_for(first, hourly).end == timedelta(hours=1)


def test_grain() -> None:
    assert grain(timedelta(days=7)) == timedelta(days=1)
    assert grain(timedelta(hours=36)) == timedelta(hours=1)
    assert grain(timedelta(minutes=90)) == timedelta(minutes=1)


def test_fixed_rolling_seasonal_and_table_baselines() -> None:
    w = Window(utc(2026, 9, 29), utc(2026, 9, 30))  # a Tuesday
    fixed = baseline_for(
        w, settings(baseline={"kind": "fixed", "start": "2026-09-01", "end": "2026-09-08"})
    )
    assert fixed == BaselineSpec("fixed", (Window(utc(2026, 9, 1), utc(2026, 9, 8)),))
    rolling = baseline_for(w, settings(baseline={"kind": "rolling", "days": 7}))
    assert rolling == BaselineSpec("rolling", (Window(utc(2026, 9, 22), utc(2026, 9, 29)),))
    seasonal = baseline_for(w, settings(baseline={"kind": "seasonal", "weeks": 3}))
    assert seasonal is not None
    assert seasonal.ranges == (
        Window(utc(2026, 9, 8), utc(2026, 9, 9)),
        Window(utc(2026, 9, 15), utc(2026, 9, 16)),
        Window(utc(2026, 9, 22), utc(2026, 9, 23)),
    )
    assert all(r.start.weekday() == w.start.weekday() for r in seasonal.ranges)
    table = baseline_for(w, settings(baseline={"kind": "table", "name": "ref.fraud_2025"}))
    assert table == BaselineSpec("table", table="ref.fraud_2025")
    assert baseline_for(w, settings()) is None


def test_hourly_seasonal_baseline_keeps_the_time_of_day() -> None:
    w = Window(utc(2026, 9, 29, 13), utc(2026, 9, 29, 14))
    spec = baseline_for(w, settings(window="1h", baseline={"kind": "seasonal", "weeks": 2}))
    assert spec is not None
    assert spec.ranges == (
        Window(utc(2026, 9, 15, 13), utc(2026, 9, 15, 14)),
        Window(utc(2026, 9, 22, 13), utc(2026, 9, 22, 14)),
    )


def test_baseline_without_alerting_windows() -> None:
    spec = BaselineSpec("rolling", (Window(utc(2026, 9, 1), utc(2026, 9, 8)),))
    cut = spec.without(
        [Window(utc(2026, 9, 3), utc(2026, 9, 4)), Window(utc(2026, 9, 7), utc(2026, 9, 9))]
    )
    assert cut.ranges == (
        Window(utc(2026, 9, 1), utc(2026, 9, 3)),
        Window(utc(2026, 9, 4), utc(2026, 9, 7)),
    )
    assert cut.skipped == (
        Window(utc(2026, 9, 3), utc(2026, 9, 4)),
        Window(utc(2026, 9, 7), utc(2026, 9, 8)),
    )
    assert spec.without([Window(utc(2026, 8, 1), utc(2026, 10, 1))]).ranges == ()


def backfill(first: date, last: date, **kw: object) -> list[tuple[str, str, str]]:
    """(window start, window end, T) as short UTC strings."""
    fmt = "%m-%d %H:%M"
    return [
        (w.start.strftime(fmt), w.end.strftime(fmt), t.strftime(fmt))
        for w, t in scheduled_windows(first, last, settings(**kw))
    ]


def test_backfill_daily_schedule_daily_window() -> None:
    got = backfill(date(2026, 9, 1), date(2026, 9, 3), schedule="0 6 * * *", window="1d")
    assert got == [
        ("09-01 00:00", "09-02 00:00", "09-02 06:00"),
        ("09-02 00:00", "09-03 00:00", "09-03 06:00"),
        ("09-03 00:00", "09-04 00:00", "09-04 06:00"),
    ]


def test_backfill_follows_the_schedule_not_the_window_grain() -> None:
    # A 1h window on a daily schedule: one window a day, the hour before 06:00.
    got = backfill(date(2026, 9, 1), date(2026, 9, 2), schedule="0 6 * * *", window="1h")
    assert got == [
        ("09-01 05:00", "09-01 06:00", "09-01 06:00"),
        ("09-02 05:00", "09-02 06:00", "09-02 06:00"),
    ]
    # An hourly schedule with a 1d window: one window a day, first produced at 00:00.
    got = backfill(date(2026, 9, 1), date(2026, 9, 2), schedule="0 * * * *", window="1d")
    assert got == [
        ("09-01 00:00", "09-02 00:00", "09-02 00:00"),
        ("09-02 00:00", "09-03 00:00", "09-03 00:00"),
    ]
    # A weekly schedule (Mondays 06:00, APScheduler reads 'mon') with a 7d window.
    got = backfill(date(2026, 9, 1), date(2026, 9, 20), schedule="0 6 * * mon", window="7d")
    assert got == [
        ("09-07 00:00", "09-14 00:00", "09-14 06:00"),
        ("09-14 00:00", "09-21 00:00", "09-21 06:00"),
    ]


def test_backfill_with_lag_and_time_zone() -> None:
    # Daily 06:00 New York (10:00 UTC in September); a 14d lag for label monitors.
    got = backfill(
        date(2026, 9, 1),
        date(2026, 9, 1),
        schedule="0 6 * * *",
        timezone="America/New_York",
        window="1d",
        lag="14d",
    )
    assert got == [("09-01 00:00", "09-02 00:00", "09-16 10:00")]
    s = settings(schedule="0 6 * * *", window="1d", lag="14d")
    for w, t in scheduled_windows(date(2026, 9, 1), date(2026, 9, 5), s):
        assert window_for(t, s) == w  # each T produces exactly its window


def test_backfill_across_a_dst_change() -> None:
    """Paris leaves summer time on 2026-10-25: the 06:00 local run moves from 04:00 to 05:00 UTC."""
    got = backfill(
        date(2026, 10, 24),
        date(2026, 10, 25),
        schedule="0 6 * * *",
        timezone="Europe/Paris",
        window="1d",
    )
    assert got == [
        ("10-24 00:00", "10-25 00:00", "10-25 05:00"),
        ("10-25 00:00", "10-26 00:00", "10-26 05:00"),
    ]
    got = backfill(
        date(2026, 10, 23),
        date(2026, 10, 23),
        schedule="0 6 * * *",
        timezone="Europe/Paris",
        window="1d",
    )
    assert got == [("10-23 00:00", "10-24 00:00", "10-24 04:00")]


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("ranges", "days", "rest"),
    [
        # A rolling baseline of a daily window: whole days only.
        ([("2026-09-01", "2026-09-04")], ["2026-09-01", "2026-09-02", "2026-09-03"], []),
        # Of an hourly window: the part days at both ends are read from rows.
        ([("2026-09-01T14:00", "2026-09-03T14:00")], ["2026-09-02"],
         [("2026-09-01T14:00", "2026-09-02"), ("2026-09-03", "2026-09-03T14:00")]),
        # A seasonal baseline of an hourly window: no whole day at all.
        ([("2026-09-01T06:00", "2026-09-01T07:00"), ("2026-09-08T06:00", "2026-09-08T07:00")], [],
         [("2026-09-01T06:00", "2026-09-01T07:00"), ("2026-09-08T06:00", "2026-09-08T07:00")]),
        # Under a day across midnight: no whole day either.
        ([("2026-09-01T18:00", "2026-09-02T06:00")], [], [("2026-09-01T18:00", "2026-09-02T06:00")]),
        # Alerting windows cut out: the pieces' whole days.
        ([("2026-09-01", "2026-09-02"), ("2026-09-03", "2026-09-05")],
         ["2026-09-01", "2026-09-03", "2026-09-04"], []),
    ],
)  # fmt: skip
def test_whole_days(ranges, days, rest) -> None:
    got_days, got_rest = whole_days(tuple(Window(_t(a), _t(b)) for a, b in ranges))
    assert got_days == [Window(_t(d), _t(d) + timedelta(days=1)) for d in days]
    assert got_rest == [Window(_t(a), _t(b)) for a, b in rest]
