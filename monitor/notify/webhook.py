"""A generic webhook: each notification is POSTed as one JSON object.

The body is the platform-neutral message (monitor/notify/message.py) plus a
plain-text rendering under `text`, so a receiver can forward it anywhere (PagerDuty
bridges, Teams, an internal bus). Replies and updates carry `parent_key`: the
receiver threads them itself. Any non-2xx answer, refused connection or timeout is a
DeliveryError, and the outbox retries it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from monitor.notify import DeliveryError, Receipt
from monitor.notify.message import Message, plain_text


class WebhookNotifier:
    name = "webhook"

    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url
        self.timeout = timeout

    def deliver(self, message: Message, parent: Receipt | None) -> Receipt:
        body = json.loads(message.to_json())
        body["text"] = plain_text(message)
        request = urllib.request.Request(
            self.url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            wait = exc.headers.get("Retry-After") if exc.code == 429 else None
            raise DeliveryError(
                f"webhook HTTP {exc.code}",
                float(wait) if wait and wait.isdigit() else None,
                exc.code == 429 or exc.code >= 500,
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise DeliveryError(
                f"webhook unreachable: {type(exc).__name__}: {exc}", unavailable=True
            ) from None
        return Receipt(None, message.key)
