"""Routing: the severity of an alert's notification, its receivers and its Slack channel.

Decided in one place, per alert, from its monitor, model, severity and segment:

1. Severity: the monitor's `severity` for an `alert`-level alert, one step lower
   (page → ticket → info) for a `warn`-level one.
2. The first rule of `notify.routes` whose globs (monitor, model, severity, segment)
   all match names the receivers (default: every enabled one) and may name a channel.
   No rule matching means every enabled receiver.
3. Channel: the rule's `channel`, else the monitor's `channel`, else
   `notify.slack.routes[severity]`, else `notify.slack.default_channel`.
4. Receivers are cut to those enabled in this process (their secret is set; the
   console stands in for Slack and the webhook when neither is), and PagerDuty and
   Alertmanager to their own `severities`.

Thread receivers (Slack, webhook, console) get one message per monitor, run and
route, and its replies and updates go where the post went. Alert receivers
(PagerDuty, Alertmanager) get one event per alert, for the actions in ALERT_ACTIONS.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection
from dataclasses import dataclass

from monitor.config import Config, MonitorConfig, RouteConfig
from monitor.notify.message import LOWER_SEVERITY

THREAD_RECEIVERS = ("slack", "webhook", "console")
ALERT_RECEIVERS = ("pagerduty", "alertmanager")
# What each alert receiver is told. PagerDuty keeps an incident open until it is
# resolved and re-notifies by its own escalation policy, so a reminder would only add
# noise; Alertmanager expires an alert it is not told about again (docs/alerts.md), so
# each reminder renews it.
ALERT_ACTIONS = {
    "pagerduty": ("announce", "escalate", "resolve"),
    "alertmanager": ("announce", "escalate", "remind", "resolve"),
}
FALLBACK_CHANNEL = "#ml-alerts"


@dataclass(frozen=True)
class Route:
    channel: str
    threads: tuple[str, ...]  # thread receivers: one message per route
    alerts: tuple[str, ...]  # alert receivers: one event per alert


def severity_for(monitor: MonitorConfig, level: str | None) -> str:
    """The monitor's severity at `alert` level, one step lower for a warning."""
    return monitor.severity if level == "alert" else LOWER_SEVERITY[monitor.severity]


def matching_rule(
    config: Config, monitor: MonitorConfig, severity: str, segment: str
) -> RouteConfig | None:
    """The first `notify.routes` rule whose every glob matches, or None."""
    for rule in config.notify.routes:
        wanted = (
            (rule.monitor, monitor.name),
            (rule.model, monitor.model),
            (rule.severity, severity),
            (rule.segment, segment),
        )
        if all(fnmatch.fnmatchcase(value, glob) for glob, value in wanted):
            return rule
    return None


def route(
    config: Config,
    monitor: MonitorConfig,
    severity: str,
    segment: str,
    enabled: Collection[str],
) -> Route:
    """Where one alert's notification goes (the module docstring gives the order)."""
    rule = matching_rule(config, monitor, severity, segment)
    notify = config.notify
    channel = (
        (rule.channel if rule else None)
        or monitor.channel
        or (
            {str(k): v for k, v in notify.slack.routes.items()}.get(severity)
            if notify.slack
            else None
        )
        or (notify.slack.default_channel if notify.slack else FALLBACK_CHANNEL)
    )
    wanted = set(rule.receivers if rule and rule.receivers else enabled)
    threads = tuple(r for r in THREAD_RECEIVERS if r in wanted and r in enabled)
    if not threads and wanted & {"slack", "webhook"} and "console" in enabled:
        threads = ("console",)  # their secret is not set here: the console stands in
    severities = {
        "pagerduty": notify.pagerduty.severities if notify.pagerduty else [],
        "alertmanager": notify.alertmanager.severities if notify.alertmanager else [],
    }
    alerts = tuple(
        r for r in ALERT_RECEIVERS if r in wanted and r in enabled and severity in severities[r]
    )
    return Route(channel, threads, alerts)
