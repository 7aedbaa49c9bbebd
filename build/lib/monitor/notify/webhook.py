"""A generic webhook: each notification is POSTed as one JSON object.

The body is the platform-neutral message (monitor/notify/message.py) plus a
plain-text rendering under `text`, so a receiver can forward it anywhere (Teams, an
internal bus). Replies and updates carry `parent_key`: the receiver threads them
itself. Errors follow monitor/notify/http.py: the outbox retries them.
"""

from __future__ import annotations

import json

from monitor.notify import Receipt
from monitor.notify.http import post_json
from monitor.notify.message import Message, plain_text


class WebhookNotifier:
    name = "webhook"

    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url
        self.timeout = timeout

    def deliver(self, message: Message, parent: Receipt | None) -> Receipt:
        body = json.loads(message.to_json())
        body["text"] = plain_text(message)
        post_json(self.url, body, self.timeout, "webhook")
        return Receipt(None, message.key)
