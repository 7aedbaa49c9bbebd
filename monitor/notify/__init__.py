"""Notifiers: where alert messages go (Slack, a generic webhook, the console).

A notifier delivers one outbox message and returns where it landed; the sender
(monitor/notify/sender.py) drains the outbox through it. Which notifiers are active
is decided once, from `notify:` and the environment: Slack when its token variable is
set, the webhook when its URL variable is set, and the console when neither is.
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
    """The notifiers this process can use, in the order they are written to the outbox."""
    from monitor.notify.console import ConsoleNotifier
    from monitor.notify.slack import SlackNotifier
    from monitor.notify.webhook import WebhookNotifier

    active: list[Notifier] = []
    slack = config.notify.slack
    if slack is not None:
        token = os.environ.get(slack.token_env)
        if token:
            active.append(SlackNotifier(slack, token, config.notify.top_k))
        else:
            log.warning("$%s is not set: Slack alerts go to the console", slack.token_env)
    hook = config.notify.webhook
    if hook is not None:
        url = os.environ.get(hook.url_env)
        if url:
            active.append(WebhookNotifier(url, hook.timeout))
        else:
            log.warning("$%s is not set: webhook notifications are off", hook.url_env)
    if not active:
        active.append(ConsoleNotifier(config.notify.top_k))
    return active
