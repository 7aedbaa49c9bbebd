"""Prometheus Alertmanager: alerts POSTed to `<url>/api/v2/alerts`, one per alert.

Labels identify the alert the way the team's Alertmanager routes it: `alertname`
(the monitor), `monitor`, `model`, `check`, `segment`, `feature`, `metric`, `kind`
and `severity`; annotations carry the summary and the evidence. A firing alert is
sent with `startsAt` (the start of its first breaching window) and an `endsAt` twice
the longest this service may stay silent about a firing alert ahead (`repeat_interval`
plus `keep_firing_for` schedule periods plus `grace`): each reminder renews it, and an
alert this service stops talking about (its monitor deleted, or silenced) expires by
itself instead of firing forever. A
resolve sends the same labels with `endsAt` now. An escalation from warn to alert
changes the `severity` label, so the alert under the old label is ended with it.

https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.config import AlertmanagerConfig
from monitor.notify import Receipt
from monitor.notify.http import post_json
from monitor.notify.message import (
    LOWER_SEVERITY,
    Item,
    Message,
    evidence,
    report_link,
    summary,
)
from monitor.windows import to_utc

DEFAULT_KEEP = timedelta(hours=25)  # a message queued without renew_within


class AlertmanagerNotifier:
    name = "alertmanager"

    def __init__(self, settings: AlertmanagerConfig):
        self.url = settings.url.rstrip("/") + "/api/v2/alerts"
        self.timeout = settings.timeout

    def deliver(self, message: Message, parent: Receipt | None) -> Receipt:
        (item,) = message.items  # the alert stage queues one alert per row
        post_json(self.url, alerts(message, item, datetime.now(UTC)), self.timeout, "Alertmanager")
        return Receipt(None, item.fingerprint)


def alerts(message: Message, item: Item, now: datetime) -> list[dict[str, Any]]:
    """The postable alerts for one alert's event (two for an escalation)."""
    starts = to_utc(item.first_seen or message.run_at)
    if item.action == "resolve" or item.state in ("resolved", "ok"):
        ends = max(starts, min(to_utc(message.run_at), now))
    else:
        keep = timedelta(seconds=message.renew_within) if message.renew_within else DEFAULT_KEEP
        ends = now + 2 * keep
    out = [_alert(message, item, starts, ends)]
    severity = item.severity or message.severity
    if item.action == "escalate" and LOWER_SEVERITY[severity] != severity:
        before = dataclasses.replace(item, severity=LOWER_SEVERITY[severity])
        out.append(_alert(message, before, starts, max(starts, now)))
    return out


LABELS = ("monitor", "model", "check", "segment", "feature", "metric", "kind", "severity")


def _alert(message: Message, item: Item, starts: datetime, ends: datetime) -> dict[str, Any]:
    facts = evidence(message, item)
    # An empty label is no label in Alertmanager: a run-level alert has no feature.
    labels = {"alertname": message.monitor, **{k: str(facts[k]) for k in LABELS if k in facts}}
    annotations = {k: str(v) for k, v in facts.items() if k not in labels}
    annotations["summary"] = summary(message, item)
    body: dict[str, Any] = {
        "labels": labels,
        "annotations": annotations,
        "startsAt": starts.isoformat(),
        "endsAt": ends.isoformat(),
    }
    link = report_link(message, item)
    if link:
        body["generatorURL"] = link
    return body
