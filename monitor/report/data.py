"""The state store's contents as plain JSON-ready data: current alerts, worst first, and
a monitor's recorded metric rows over a period. `monitor alerts --json` and the daemon's
`/api/alerts` print the same thing from `alert_json`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitor.alerts.persistence import AlertStore, StoredAlert
from monitor.store import StateStore


def json_value(value: Any) -> Any:
    """`json.dumps(default=...)`: times as ISO 8601; anything else JSON lacks as text."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def alert_json(a: StoredAlert) -> dict[str, Any]:
    s = a.state
    fp = s.fingerprint
    return {
        "fingerprint": fp.id, "kind": fp.kind, "monitor": fp.monitor, "check": fp.check,
        "model": fp.model, "segment": fp.segment, "feature": fp.feature, "metric": fp.metric,
        "state": s.state, "level": s.level, "severity": a.severity, "episode": s.episode,
        "first_seen": s.first_seen, "last_seen": s.last_seen, "last_notified": s.last_notified,
        "value": s.value, "threshold": s.threshold, "baseline_value": s.baseline_value,
        "sample_size": s.sample_size, "q_value": s.q_value, "suppressed_by": s.suppressed_by,
        "slack_ts": a.slack_ts,
    }  # fmt: skip


def worst_first(alerts: list[StoredAlert]) -> list[StoredAlert]:
    """Firing before the rest, `alert` before `warn`, then by monitor, metric, segment."""
    return sorted(
        alerts,
        key=lambda a: (
            a.state.state != "firing",
            a.state.level != "alert",
            a.state.fingerprint.monitor,
            a.state.fingerprint.metric,
            a.state.fingerprint.segment,
            a.state.fingerprint.feature,
        ),
    )


def active_alerts(store: StateStore, monitors: list[str] | None = None) -> list[StoredAlert]:
    """Pending, firing and recovering alerts, worst first."""
    alerts = AlertStore(store).alerts(monitors=monitors) if store.exists("alerts") else []
    return worst_first([a for a in alerts if a.state.active])
