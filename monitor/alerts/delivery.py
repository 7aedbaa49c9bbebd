"""Drain the outbox: deliver every pending notification, in order per thread.

Rows are read in id order (the order the alert stage wrote them). A thread is a
top-level post and the replies and updates that follow it (for PagerDuty and
Alertmanager, one alert's events); once one row of a thread fails, the rest of that
thread waits for the next drain, so a resolve never lands before its announcement.
A failed row gets `attempts`, `last_error` and a `next_attempt_at` with exponential
backoff (30 s, 1 min, 2 min, ... capped by `notify.max_backoff`; a 429's
Retry-After instead, capped the same way). A forced drain ignores this service's
backoff, never a server's Retry-After: a receiver that asked to wait gets no request
before then.

Drains take turns: on a PostgreSQL state store, a drain that finds another one running
(an advisory lock) leaves the rows to it.

Delivery is at-least-once: a crash after a receiver accepted a message but before
the row was marked sent repeats that one message on the next drain, and only that one.

One-shot verbs (`monitor run`, `backfill --notify`, `send`, `demo`) have no later
drain of their own before the next invocation, so they keep draining
(`drain_until`): again after 1 s, 2 s, 4 s … (30 s at most, and never sooner than a
429's Retry-After) until nothing waits or `notify.deliver_within` has passed.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from monitor.alerts.persistence import AlertStore, OutboxRow
from monitor.alerts.routing import ALERT_RECEIVERS
from monitor.notify import DeliveryError, Notifier, Receipt
from monitor.notify.message import Message

log = logging.getLogger(__name__)
FIRST_BACKOFF = timedelta(seconds=30)
RATE_LIMITED = "Retry-After"  # in a row's last_error: the wait was the server's
FIRST_PAUSE = 1.0  # seconds: a one-shot verb's first wait before it drains again
MAX_PAUSE = 30.0


@dataclass
class DrainReport:
    sent: int = 0
    failed: int = 0  # attempts that failed this drain
    waiting: int = 0  # rows left pending (failed, backing off, or behind a failed row)
    errors: list[str] = field(default_factory=list)
    busy: bool = False  # another process was draining: its rows are left to it
    # Rows for a receiver this process does not have (its secret is not set here):
    # waiting, but no retry in this process can deliver them.
    unroutable: dict[str, int] = field(default_factory=dict)
    unreadable: int = 0  # rows this version cannot read, or stuck behind one
    held: int = 0  # rows of receivers that asked to wait (429 Retry-After)
    retry_after: float | None = None  # seconds until the last of those waits ends
    seconds: float = 0.0  # how long the one-shot retries went on

    @property
    def retryable(self) -> int:
        """Rows a later drain of this process may still deliver."""
        return self.waiting - sum(self.unroutable.values()) - self.unreadable

    def then(self, later: DrainReport) -> DrainReport:
        """This drain followed by `later`: what was sent in all, what waits now."""
        # Each distinct error once, at its latest place: the last one is the newest.
        errors = list(reversed(dict.fromkeys(reversed(self.errors + later.errors))))
        return dataclasses.replace(
            later, sent=self.sent + later.sent, failed=self.failed + later.failed, errors=errors
        )

    def why_waiting(self) -> str:
        """Why rows still wait, for the person reading cron's mail."""
        reasons = [f"last error: {self.errors[-1]}"] if self.errors else []
        for name, n in sorted(self.unroutable.items()):
            reasons.append(f"{n} for {name}, which is not enabled in this process")
        if self.unreadable:
            reasons.append(
                f"{self.unreadable} with a payload this version cannot read, or behind one"
            )
        if self.held and self.retry_after:
            reasons.append(f"a receiver asked to wait {self.retry_after:.0f}s more (Retry-After)")
        if self.busy:
            reasons.append("another process is delivering the outbox")
        return "; ".join(reasons) or "backing off after earlier failures"


def thread_of(row: OutboxRow) -> tuple[str, str]:
    """The rows that go out in order: a post and its replies and updates; for PagerDuty
    and Alertmanager, one alert's events (their keys end in `/<fingerprint>`)."""
    if row.notifier in ALERT_RECEIVERS:
        return row.notifier, row.message_key.rsplit("/", 1)[-1]
    return row.notifier, row.parent_key or row.message_key


def backoff(attempts: int, cap: timedelta) -> timedelta:
    """The wait before attempt `attempts + 1` (attempts made so far, >= 1)."""
    wait: timedelta = FIRST_BACKOFF * (2 ** max(0, attempts - 1))
    return wait if wait < cap else cap


def drain(
    alerts: AlertStore,
    notifiers: Sequence[Notifier],
    max_backoff: timedelta,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    force: bool = False,
) -> DrainReport:
    """Deliver what is due (everything pending when `force`); return what happened."""
    with alerts.delivery_turn() as mine:
        if not mine:
            log.info("outbox: another process is delivering; its rows are left to it")
            return DrainReport(waiting=len(alerts.outbox("pending")), busy=True)
        return _drain(alerts, notifiers, max_backoff, now, force)


def _drain(
    alerts: AlertStore,
    notifiers: Sequence[Notifier],
    max_backoff: timedelta,
    now: Callable[[], datetime],
    force: bool,
) -> DrainReport:
    by_name = {n.name: n for n in notifiers}
    report = DrainReport()
    rows = alerts.outbox("pending")
    blocked: set[tuple[str, str]] = set()
    dead: set[tuple[str, str]] = set()  # threads behind a row this version cannot read
    down: set[str] = set()  # notifiers whose service failed in this drain
    # Receivers that asked to be left alone (a 429's Retry-After): none of their rows
    # is tried before then, forced or not.
    held: dict[str, datetime] = {}
    for row in rows:
        if row.next_attempt_at > now() and RATE_LIMITED in (row.last_error or ""):
            held[row.notifier] = max(
                held.get(row.notifier, row.next_attempt_at), row.next_attempt_at
            )
    for row in rows:
        thread = thread_of(row)
        if thread in dead:
            report.unreadable += 1
            report.waiting += 1
            continue
        try:
            message = Message.from_json(row.payload)
            if row.notifier in ALERT_RECEIVERS and len(message.items) != 1:
                raise ValueError(f"{len(message.items)} alerts in an event for {row.notifier}")
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # another version's
            dead.add(thread)
            report.unreadable += 1
            report.waiting += 1
            report.errors.append(f"{row.notifier} {row.message_key}: unreadable payload: {exc}")
            continue
        notifier = by_name.get(row.notifier)
        if notifier is None:
            report.unroutable[row.notifier] = report.unroutable.get(row.notifier, 0) + 1
            report.waiting += 1
            continue
        if row.notifier in held:
            report.held += 1
            report.waiting += 1
            continue
        if thread in blocked or row.notifier in down:
            report.waiting += 1
            continue
        if not force and row.next_attempt_at > now():  # a forced drain ignores the backoff
            blocked.add(thread)
            report.waiting += 1
            continue
        parent: Receipt | None = None
        if row.parent_key:
            sent = alerts.delivered(row.notifier, row.parent_key)
            if sent is not None:
                parent = Receipt(sent.remote_channel, sent.remote_ts)
            elif row.notifier in alerts.receivers_of(row.parent_key):
                blocked.add(thread)  # the post has not gone out: keep the thread's order
                report.waiting += 1
                continue
            # else: its post was never queued for this receiver (a row from before
            # replies followed their post's receivers): delivered without a thread.
        try:
            receipt = notifier.deliver(message, parent)
        except DeliveryError as exc:
            error = str(exc)
            retry_at = now() + backoff(row.attempts + 1, max_backoff)
            if exc.retry_after is not None:  # the server's word: exactly its wait
                retry_at = now() + min(timedelta(seconds=exc.retry_after), max_backoff)
                held[row.notifier] = retry_at
                error += f" ({RATE_LIMITED} {exc.retry_after:.0f}s)"
                report.held += 1
            alerts.mark_failed(row, error, retry_at)
            log.warning("outbox %s (%s) not delivered: %s", row.id, row.message_key, error)
            blocked.add(thread)
            if exc.unavailable:
                down.add(row.notifier)
            report.failed += 1
            report.waiting += 1
            report.errors.append(f"{row.notifier} {row.message_key}: {error}")
            continue
        alerts.mark_sent(row, receipt.channel, receipt.ts, now())
        report.sent += 1
    if held:
        report.retry_after = max((t - now()).total_seconds() for t in held.values())
    return report


def drain_until(
    drain_once: Callable[[bool], DrainReport],
    within: timedelta,
    first: DrainReport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> DrainReport:
    """Drain until nothing this process can deliver waits, or `within` has passed:
    what a one-shot verb does, since its next drain is the next invocation.

    `drain_once(force)` opens the store and drains it (force: ignore this service's
    stored backoff, which paces the daemon's background retries); `first` is a drain that
    already ran. Between drains: 1 s, then doubling to 30 s, and at least the longest
    Retry-After when only rate-limited rows are left; the last drain starts at the
    deadline, unless such a Retry-After reaches past it."""
    deadline = clock() + within.total_seconds()
    report = first if first is not None else drain_once(True)
    pause = FIRST_PAUSE
    while report.retryable > 0 and not report.busy:
        left = deadline - clock()
        # Rows of receivers that asked to wait set the pace only when nothing else can go.
        wait_for = (report.retry_after or 0.0) if report.retryable <= report.held else 0.0
        if left <= 0 or wait_for > left:
            break
        sleep(min(max(pause, wait_for), left))
        report = report.then(drain_once(True))
        pause = min(pause * 2, MAX_PAUSE)
    report.seconds = within.total_seconds() - max(0.0, deadline - clock())
    return report


def pending_summary(rows: Sequence[OutboxRow]) -> str:
    """`3 pending (oldest 2026-10-01 06:00, last error: Slack HTTP 503)` for people."""
    if not rows:
        return "outbox empty"
    oldest = min(r.created_at for r in rows)
    errors = [r.last_error for r in rows if r.last_error]
    text = f"{len(rows)} pending (oldest queued {oldest:%Y-%m-%d %H:%M} UTC"
    return text + (f", last error: {errors[-1]})" if errors else ")")
