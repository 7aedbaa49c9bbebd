"""PagerDuty: Events API v2, one event per alert.

An alert of a listed severity (`notify.pagerduty.severities`, default `page`)
`trigger`s when it is announced or escalates, and `resolve`s when it resolves. The
alert's fingerprint is the `dedup_key`, so PagerDuty folds every event of one alert
into one incident: a repeated trigger (the at-least-once window) never opens a
second one, and a resolve closes it. Reminders are not sent: the incident stays
open, and PagerDuty's escalation policy re-notifies. Silenced alerts send nothing
(their resolve still does, so an incident on-call saw is closed).

https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
"""

from __future__ import annotations

from typing import Any

from monitor.config import PagerDutyConfig
from monitor.notify import Receipt
from monitor.notify.http import post_json
from monitor.notify.message import Item, Message, evidence, report_link, summary
from monitor.windows import to_utc

SUMMARY_LIMIT = 1024  # PagerDuty's limit for payload.summary
SEVERITY = {"page": "critical", "ticket": "error", "info": "info"}


class PagerDutyNotifier:
    name = "pagerduty"

    def __init__(self, settings: PagerDutyConfig, routing_key: str):
        self.url = settings.url
        self.timeout = settings.timeout
        self.routing_key = routing_key

    def deliver(self, message: Message, parent: Receipt | None) -> Receipt:
        (item,) = message.items  # the alert stage queues one alert per row
        post_json(self.url, event(message, item, self.routing_key), self.timeout, "PagerDuty")
        return Receipt(None, item.fingerprint)


def event(message: Message, item: Item, routing_key: str) -> dict[str, Any]:
    """The Events API v2 body for one alert: `resolve` once it is clear, else `trigger`."""
    if item.action == "resolve" or item.state in ("resolved", "ok"):
        return {
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": item.fingerprint,
        }
    text = summary(message, item)
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": item.fingerprint,
        "payload": {
            "summary": text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1] + "…",
            "source": f"model {message.model}",
            "severity": SEVERITY.get(item.severity or message.severity, "error"),
            "timestamp": to_utc(message.run_at).isoformat(),
            "component": item.feature or item.metric,
            "group": message.monitor,
            "class": f"{message.check}/{item.metric}",
            "custom_details": evidence(message, item),
        },
        "client": "SQL Drift Monitor",
    }
    link = report_link(message, item)
    if link:
        body["client_url"] = link
        body["links"] = [{"href": link, "text": "alert card in the monitoring report"}]
    return body
