"""Notifiers: where alert messages go (Slack, a generic webhook, the console,
PagerDuty, Alertmanager).

A notifier delivers one outbox row and returns where it landed; the sender
(monitor/alerts/delivery.py) drains the outbox through it. Which notifiers are active
is decided once, from `notify:` and the environment: Slack when its token variable is
set, the webhook when its URL variable is set, the console when neither is,
PagerDuty when its routing-key variable is set, Alertmanager when it is configured.
Which of them an alert goes to is monitor/alerts/routing.py's decision.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Protocol

from monitor.config import Config
from monitor.notify.message import Message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receipt:
    """Where a message landed: a reply or an update of it needs both."""

    channel: str | None
    ts: str | None


class DeliveryError(Exception):
    """A message could not be delivered now; the outbox retries it later."""

    def __init__(self, message: str, retry_after: float | None = None, unavailable: bool = False):
        super().__init__(message)
        self.retry_after = retry_after  # seconds, when the server said (429 Retry-After)
        # The service, not this message, is the problem (unreachable, 5xx, 429): the
        # sender tries nothing more on it in this drain, so an outage costs one attempt.
        self.unavailable = unavailable


class Notifier(Protocol):
    name: str

    def deliver(self, message: Message, parent: Receipt | None) -> Receipt:
        """Post, reply in `parent`'s thread, or update `parent`; raise DeliveryError."""
        ...


def notifiers_for(config: Config) -> list[Notifier]:
    """The notifiers this process can use: each one configured whose secret is set;
    the console when neither Slack nor the webhook is."""
    from monitor.notify.alertmanager import AlertmanagerNotifier
    from monitor.notify.console import ConsoleNotifier
    from monitor.notify.pagerduty import PagerDutyNotifier
    from monitor.notify.slack import SlackNotifier
    from monitor.notify.webhook import WebhookNotifier

    active: list[Notifier] = []
    notify = config.notify
    if notify.slack is not None:
        if token := os.environ.get(notify.slack.token_env):
            active.append(SlackNotifier(notify.slack, token, notify.top_k))
        else:
            log.warning("$%s is not set: Slack alerts go to the console", notify.slack.token_env)
    if notify.webhook is not None:
        if url := os.environ.get(notify.webhook.url_env):
            active.append(WebhookNotifier(url, notify.webhook.timeout))
        else:
            log.warning("$%s is not set: webhook notifications are off", notify.webhook.url_env)
    if not active:
        active.append(ConsoleNotifier(notify.top_k))
    if notify.pagerduty is not None:
        if key := os.environ.get(notify.pagerduty.routing_key_env):
            active.append(PagerDutyNotifier(notify.pagerduty, key))
        else:
            log.warning("$%s is not set: PagerDuty is off", notify.pagerduty.routing_key_env)
    if notify.alertmanager is not None:
        active.append(AlertmanagerNotifier(notify.alertmanager))
    return active
