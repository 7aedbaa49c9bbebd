"""The state store's contents as plain JSON-ready data: current alerts, worst first, and
a monitor's recorded metric rows over a period. `monitor alerts --json` and the daemon's
`/api/alerts` print the same thing from `alert_docs`."""

from __future__ import annotations

from datetime import datetime, timedelta
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


def alert_docs(
    alerts: list[StoredAlert], realized: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """`alert_json` of each alert, an estimate's with `realized` beside it (from
    realized_beside): what `monitor alerts --json` and `/api/alerts` print."""
    return [
        alert_json(a) | ({"realized": realized[a.state.fingerprint.id]}
                         if a.state.fingerprint.id in realized else {})
        for a in alerts
    ]  # fmt: skip


def realized_beside(store: StateStore, alerts: list[StoredAlert]) -> dict[str, dict[str, Any]]:
    """For each alert on an estimate (`estimated_<m>`, performance/estimated_performance),
    the realized value of its latest breaching window, {fingerprint id: {value,
    sample_size, reason}}: NULL with its reason ("not matured yet") until the window has
    been run again with its matured labels. Other alerts are not in the mapping."""
    out: dict[str, dict[str, Any]] = {}
    for a in alerts:
        fp, end = a.state.fingerprint, a.state.last_seen
        if not fp.metric.startswith("estimated_") or end is None:
            continue
        wanted = fp.metric.replace("estimated_", "realized_", 1)
        rows = store.metric_rows(fp.monitor, end - timedelta(microseconds=1), end)
        row = next(
            (r for r in rows
             if r["metric"] == wanted and r["segment"] == fp.segment and r["feature"] == fp.feature),
            None,
        )  # fmt: skip
        out[fp.id] = {
            "value": row["value"] if row else None,
            "sample_size": row["sample_size"] if row else None,
            "reason": (row["reason"] if row else f"the window has no {wanted} row"),
        }
    return out


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
