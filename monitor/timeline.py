"""Alert episodes as the lifecycle lived them (monitor.alert_events), for the demo's
timeline: one line per episode that fired, from its first breaching window to its
last, with its worst level and peak value.

An episode is what on-call saw as one alert: a flapping metric that `clear` and
`keep_firing_for` hold firing is one episode, not one per breaching window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.alerts.persistence import AlertStore


@dataclass
class Episode:
    monitor: str
    segment: str
    feature: str
    metric: str
    start: datetime  # window start of the first breach
    end: datetime  # window end of the last breach
    peak_value: float | None
    threshold: float | None
    status: str  # the worst level seen: warn | alert
    state: str  # firing | recovering | resolved (now)
    fingerprint: str = ""  # the alert's id (monitor.alerts): the report's anchor


def episodes(store: AlertStore) -> list[Episode]:
    """Every episode that fired, oldest first."""
    return [
        Episode(
            r["monitor"],
            r["segment"],
            r["feature"],
            r["metric"],
            r["first_seen"],
            r["last_seen"],
            r["peak_value"],
            r["threshold"],
            r["level"],
            r["state"],
            r["fingerprint"],
        )
        for r in store.episodes()
    ]
