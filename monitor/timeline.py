"""Alert episodes from stored metric rows: consecutive breaching windows, merged.

An episode is a run of consecutive windows in which one (monitor, segment, feature,
metric) breached (warn or alert), kept only once it lasted `for` runs, as the alert
state machine would fire it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.config import Config


@dataclass
class Episode:
    monitor: str
    segment: str
    feature: str
    metric: str
    start: datetime
    end: datetime
    peak_value: float
    threshold: float | None
    status: str  # the worst status seen
    windows: int


def episodes(rows: list[dict[str, Any]], config: Config) -> list[Episode]:
    """Group metric rows (any order) into episodes, oldest first."""
    keyed: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        keyed.setdefault((r["monitor"], r["segment"], r["feature"], r["metric"]), []).append(r)
    min_runs = {m.name: m.for_ for m in config.monitors}
    out: list[Episode] = []
    for (monitor, segment, feature, metric), series in keyed.items():
        series.sort(key=lambda r: r["window_start"])
        current: Episode | None = None
        for r in series:
            breaching = r["status"] in ("warn", "alert")
            if breaching and current and r["window_start"] <= current.end:
                current.end = r["window_end"]
                current.windows += 1
                if abs(r["value"]) > abs(current.peak_value):
                    current.peak_value, current.threshold = r["value"], r["threshold"]
                if r["status"] == "alert":
                    current.status = "alert"
                continue
            if current and current.windows >= min_runs.get(monitor, 1):
                out.append(current)
            current = None
            if breaching:
                current = Episode(
                    monitor, segment, feature, metric, r["window_start"], r["window_end"],
                    r["value"], r["threshold"], r["status"], 1,
                )  # fmt: skip
        if current and current.windows >= min_runs.get(monitor, 1):
            out.append(current)
    out.sort(key=lambda e: (e.start, e.monitor, e.segment, e.feature, e.metric))
    return out
