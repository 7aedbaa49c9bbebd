"""One JSON POST with the outbox's error rules, for the receivers that speak plain
HTTP (webhook, PagerDuty, Alertmanager).

Any non-2xx answer, refused connection or timeout is a DeliveryError. A 429 or a
5xx, or no answer at all, marks the service unavailable (the sender tries nothing
more on it in this drain); a 429's Retry-After (seconds) is passed on.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
from typing import Any

from monitor.notify import DeliveryError


def post_json(url: str, body: Any, timeout: float, service: str) -> bytes:
    """POST `body` as JSON to `url`; the answer's body, or DeliveryError."""
    request = urllib.request.Request(
        url,
        data=json.dumps(json_safe(body), allow_nan=False).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "sql-drift-monitor"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        detail = _detail(exc)
        raise DeliveryError(
            f"{service} HTTP {exc.code}" + (f": {detail}" if detail else ""),
            retry_after(exc.headers.get("Retry-After")) if exc.code == 429 else None,
            exc.code == 429 or exc.code >= 500,
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(
            f"{service} unreachable: {type(reason).__name__}: {reason}", unavailable=True
        ) from None


def json_safe(value: Any) -> Any:
    """`value` with NaN and infinities as strings ("nan", "inf"): JSON has no such
    numbers, and a receiver rejects the token Python would write for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header; None when absent or an HTTP date."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _detail(exc: urllib.error.HTTPError) -> str:
    """The first 200 characters of an error answer: PagerDuty and Alertmanager say
    there what was wrong with the event."""
    try:
        return exc.read(200).decode("utf-8", "replace").strip()
    except OSError:
        return ""
