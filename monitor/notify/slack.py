"""Slack: Block Kit rendering and delivery through slack-sdk's WebClient.

A bot token is needed (threads and `chat.update` need a message ts, which incoming
webhooks do not return). slack-sdk's default retries cover almost nothing (one retry
on a reset connection), so the client gets explicit handlers: rate limits (429,
waiting Retry-After when it is short), server errors (500/502/503/504) and
connection errors including timeouts. Whatever still fails raises DeliveryError and
the outbox retries later.

Slack's limits are respected: header text 150 characters, section text 3000, at most
50 blocks; data values are escaped (`&`, `<`, `>`), so a slice value can neither
mention a channel nor break the markup.
"""

from __future__ import annotations

import random
import socket
import time
from http.client import RemoteDisconnected
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from monitor.config import SlackConfig
from monitor.notify import DeliveryError, Receipt
from monitor.notify.http import retry_after as parse_retry_after
from monitor.notify.message import (
    Item,
    Message,
    describe,
    plain_text,
    report_link,
    shown,
    where,
)
from monitor.windows import clock

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
TEXT_LIMIT = 3000  # the fallback `text`; Slack truncates at 40,000 but keep it short
MAX_BLOCKS = 50
IN_PROCESS_RETRIES = 2
MAX_INLINE_WAIT = 10.0  # seconds: a longer Retry-After is left to the outbox

EMOJI = {"alert": ":rotating_light:", "warn": ":warning:", "resolved": ":white_check_mark:"}


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: the three characters it reserves for entities and links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention(owner: str) -> str:
    """Slack's syntax that notifies: a user `<@U…>`, a user group `<!subteam^S…>`
    (written `<@S…>`, a group is shown but nobody is notified), `<!here>`, `<!channel>`."""
    if owner in ("here", "channel"):
        return f"<!{owner}>"
    if owner.startswith("S"):
        return f"<!subteam^{escape(owner)}>"
    return f"<@{escape(owner)}>"


def code(text: str) -> str:
    """An escaped inline code span (a backtick inside would end it early)."""
    return "`" + escape(text).replace("`", "'") + "`"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def item_line(item: Item, link: str | None = None) -> str:
    """One alert: mark, metric, where, how much; `link` goes to its card in the report."""
    mark = (
        ":white_check_mark:"
        if item.state in ("resolved", "ok")
        else EMOJI.get(item.level or "", "")
    )
    line = f"{mark} *{escape(item.metric)}* · {code(where(item))} — {escape(describe(item))}"
    if link:
        line += f" · <{escape(link)}|chart>"
    return line.strip()


def blocks(message: Message, top_k: int = 10) -> list[dict[str, Any]]:
    """The message as Block Kit blocks (at most MAX_BLOCKS)."""
    emoji = EMOJI["resolved"] if message.resolved else EMOJI[message.level]
    out: list[dict[str, Any]] = []
    if message.action != "reply":
        out.append(
            {
                "type": "header",
                "text": {"type": "plain_text", "text": clip(message.title(), HEADER_LIMIT)},
            }
        )
    context = [f"{emoji} *{escape(message.severity)}*", f"model {code(message.model)}",
               f"check {code(message.check)}"]  # fmt: skip
    if message.window_start and message.window_end:
        context.append(f"window {clock(message.window_start)}–{clock(message.window_end)} UTC")
    if message.action == "reply":
        context.insert(1, f"*{escape(message.title())}*")
    out.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": clip(" · ".join(context), SECTION_LIMIT)}],
        }
    )
    if message.mention:
        mentions = " ".join(mention(owner) for owner in message.mention)
        out.append(_section(f"{mentions} paging the owners of {code(message.monitor)}"))
    items, more = shown(message, top_k)
    # Leave room for the blocks around the items: header, context, mention, more, dig-in.
    room = MAX_BLOCKS - len(out) - 2
    if len(items) > room:
        more += len(items) - room
        items = items[:room]
    out.extend(_section(item_line(i, report_link(message, i))) for i in items)
    if more:
        out.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"+{more} more"}]})
    dig = []
    link = report_link(message)
    if link:
        dig.append(f"<{escape(link)}|report>")
    if message.render_command:
        dig.append(f"exact SQL: {code(message.render_command)}")
    if dig:
        out.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": clip(" · ".join(dig), SECTION_LIMIT)}],
            }
        )
    return out


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}}


def fallback_text(message: Message, top_k: int = 10) -> str:
    """Plain text for notifications and clients without blocks (escaped: it is mrkdwn)."""
    return clip(escape(plain_text(message, top_k)), TEXT_LIMIT)


# --------------------------------------------------------------------------- retries


class CappedRateLimitHandler(RetryHandler):
    """Retry a 429 after its Retry-After, only when that is short (else the outbox waits)."""

    def __init__(self, max_retry_count: int, max_wait: float):
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return (
            response is not None
            and response.status_code == 429
            and retry_after(response.headers) <= self.max_wait
        )

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        assert response is not None
        state.next_attempt_requested = True
        time.sleep(retry_after(response.headers) + random.random() * 0.1)
        state.increment_current_attempt()


class ServerErrorHandler(RetryHandler):
    """5xx: Slack's own outages and a proxy's bad gateway alike."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in (500, 502, 503, 504)


def retry_after(headers: Any) -> float:
    """Seconds from a Retry-After header (slack-sdk gives header values as lists); 1 s
    when it is missing or not a number of seconds."""
    for key, value in dict(headers or {}).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            seconds = parse_retry_after(str(raw))
            return 1.0 if seconds is None else seconds
    return 1.0


def retry_handlers() -> list[RetryHandler]:
    return [
        CappedRateLimitHandler(IN_PROCESS_RETRIES, MAX_INLINE_WAIT),
        ServerErrorHandler(max_retry_count=IN_PROCESS_RETRIES),
        ConnectionErrorRetryHandler(
            max_retry_count=IN_PROCESS_RETRIES,
            # A dropped connection is worth a quick second try; an outage is the
            # outbox's to wait out, without holding up the runs behind it.
            interval_calculator=FixedValueRetryIntervalCalculator(0.2),
            error_types=[
                URLError,
                ConnectionError,
                RemoteDisconnected,
                TimeoutError,
                socket.timeout,
            ],
        ),
    ]


# ---------------------------------------------------------------------------- sender


class SlackNotifier:
    name = "slack"

    def __init__(self, settings: SlackConfig, token: str, top_k: int = 10):
        kwargs: dict[str, Any] = {"token": token, "timeout": int(max(1, settings.timeout))}
        if settings.base_url:
            kwargs["base_url"] = settings.base_url.rstrip("/") + "/"
        self.client = WebClient(**kwargs)
        self.client.retry_handlers = retry_handlers()
        self.top_k = top_k

    def deliver(self, message: Message, parent: Receipt | None) -> Receipt:
        text, body = fallback_text(message, self.top_k), blocks(message, self.top_k)
        try:
            if message.action == "post" or (message.action == "reply" and parent is None):
                # A reply without a post in Slack (the post was never queued for Slack)
                # is said at the top level rather than not at all.
                response = self.client.chat_postMessage(
                    channel=message.channel, text=text, blocks=body
                )
            elif message.action == "update" and parent is None:
                return Receipt(None, None)  # no post in Slack: nothing to update
            elif parent is None or not parent.channel or not parent.ts:
                raise DeliveryError(f"{message.key}: the thread's post has no Slack ts")
            elif message.action == "update":
                response = self.client.chat_update(
                    channel=parent.channel, ts=parent.ts, text=text, blocks=body
                )
            else:
                response = self.client.chat_postMessage(
                    channel=parent.channel, thread_ts=parent.ts, text=text, blocks=body
                )
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            wait = retry_after(exc.response.headers) if status == 429 else None
            busy = status == 429 or status >= 500
            raise DeliveryError(f"Slack HTTP {status}: {error or exc}", wait, busy) from None
        except (URLError, OSError, RemoteDisconnected) as exc:
            raise DeliveryError(
                f"Slack unreachable: {type(exc).__name__}: {exc}", unavailable=True
            ) from None
        except ValueError as exc:  # a proxy's non-JSON error page
            raise DeliveryError(f"Slack answered something other than JSON: {exc}") from None
        return Receipt(str(response.get("channel") or message.channel), str(response.get("ts")))
