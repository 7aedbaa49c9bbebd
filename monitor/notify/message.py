"""Platform-neutral notification messages, and their plain-text rendering.

The alert stage builds a `Message` per monitor and run (and per thread for replies
and updates) and stores it in the outbox as JSON; each notifier renders it its own
way (Block Kit for Slack, JSON for a webhook, text for the console). A message says
what (check, metric), where (model, slice, feature), how much (value against
threshold and baseline, n, p/q), since when (`first_seen`), how bad (severity) and
how to dig in (the `monitor render` command, or the report link).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from monitor.evidence import Evidence
from monitor.windows import clock, to_utc

ItemAction = Literal["announce", "remind", "escalate", "resolve", "status"]
# The severity ladder: a warning goes one step lower than the monitor's severity
# (monitor/alerts/routing.py), so an escalation came from the step below.
LOWER_SEVERITY = {"page": "ticket", "ticket": "info", "info": "info"}
LEVEL_ORDER = {"alert": 0, "warn": 1, None: 2}
STATE_ORDER = {"firing": 0, "recovering": 1, "pending": 2, "resolved": 3, "ok": 4}


@dataclass(frozen=True, kw_only=True)
class Item(Evidence):
    """One alert in a message: where, its state, and the evidence (value, threshold, ...)."""

    fingerprint: str
    kind: str  # metric | no_data | error | deadman
    segment: str
    feature: str
    metric: str
    state: str
    level: str | None
    action: ItemAction
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    peak_value: float | None = None
    breaching: bool = True  # False: firing, back within the threshold but not yet clear
    severity: str | None = None  # page | ticket | info (None in messages queued before it)

    def sort_key(self) -> tuple[Any, ...]:
        """Worst first: state, level, then the largest excess over the threshold, in
        the rule's direction and relative to the threshold (so 0.1 is worse than 0.4
        against `below 0.5`, and −0.3 worse than −0.1 against `below −0.05`)."""
        excess = 0.0
        x = self.measured if self.measured is not None else self.value
        t = self.threshold
        if x is not None and t is not None and t != 0 and math.isfinite(x):
            if self.direction == "below":
                excess = (t - x) / abs(t)
            elif self.direction == "both":
                excess = (abs(x) - abs(t)) / abs(t)
            else:
                excess = (x - t) / abs(t)
        return (
            STATE_ORDER.get(self.state, 9),
            LEVEL_ORDER.get(self.level, 2),
            -excess,
            self.metric,
            self.segment,
            self.feature,
        )


@dataclass(frozen=True)
class Message:
    key: str  # unique per notifier: the outbox key
    action: Literal["post", "reply", "update"]
    parent_key: str | None  # the thread (post) a reply or update belongs to
    monitor: str
    check: str
    model: str
    severity: str  # page | ticket | info
    channel: str
    run_at: datetime
    window_start: datetime | None
    window_end: datetime | None
    items: list[Item] = field(default_factory=list)
    mention: list[str] = field(default_factory=list)  # owners' Slack ids (page severity)
    render_command: str = ""
    report_url: str | None = None
    # Seconds this service may stay silent about a firing alert (repeat_interval, a
    # recovery, grace): how long a receiver that forgets silent alerts (Alertmanager)
    # should keep one.
    renew_within: float | None = None
    # Items left out to keep a message bounded (MAX_ITEMS, the worst listed): counted
    # in the title and the "+N more" line. `more_firing`: how many of them are still
    # pending or firing (an update counts them from the alert states).
    more: int = 0
    more_firing: int = 0
    # Every alert a post announces, listed or not: the alert stage gives each the
    # post's key as its thread. Not stored (the alert states keep it).
    members: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def to_json(self) -> str:
        fields = dataclasses.asdict(self)
        del fields["members"]
        return json.dumps(fields, default=_iso, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Message:
        """A stored message; keys this version does not know (written by a newer one
        sharing the outbox) are ignored, ones it expects but lacks take defaults."""
        raw = json.loads(text)
        for k in ("run_at", "window_start", "window_end"):
            raw[k] = _time(raw.get(k))
        items = []
        for it in raw.pop("items"):
            for k in ("first_seen", "last_seen"):
                it[k] = _time(it.get(k))
            items.append(Item(**_known(Item, it)))
        return cls(items=items, **_known(cls, raw))

    @property
    def resolved(self) -> bool:
        return self.more_firing == 0 and all(i.state in ("resolved", "ok") for i in self.items)

    @property
    def level(self) -> str:
        return "alert" if any(i.level == "alert" for i in self.items) else "warn"

    def title(self) -> str:
        """One line: what happened to which monitor (also Slack's header)."""
        firing = [i for i in self.items if i.state not in ("resolved", "ok")]
        more = f", +{self.more:,} more" if self.more else ""
        if self.action == "update":
            # Every item of the post: the listed ones as they are now, and the unlisted
            # ones counted from their alert states.
            total = len(self.items) + self.more
            breaching = len(firing) + self.more_firing
            if not breaching:
                return f"RESOLVED {self.monitor}: all {total:,} clear"
            return (
                f"{self.level.upper()} {self.monitor}: {breaching:,} breaching"
                f" ({total - breaching:,} of {total:,} resolved)"
            )
        if self.action == "reply":
            counts: dict[str, int] = {}
            for i in self.items:
                counts[i.action] = counts.get(i.action, 0) + 1
            words = {"remind": "still firing", "escalate": "escalated", "resolve": "resolved"}
            return ", ".join(f"{n} {words[a]}" for a, n in sorted(counts.items())) + more
        return f"{self.level.upper()} {self.monitor}: {len(firing) + self.more_firing:,} breaching"


def _known(kind: type, raw: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(kind)}
    return {k: v for k, v in raw.items() if k in names}


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_utc(value).isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _time(value: str | None) -> datetime | None:
    return to_utc(datetime.fromisoformat(value)) if value else None


def number(x: float | None) -> str:
    """4 significant digits, readable (1.5e-05, 0.8231, 1,234)."""
    if x is None:
        return "–"
    if not math.isfinite(x):
        return str(x)
    if x == int(x) and abs(x) < 1e9:
        return f"{int(x):,}"
    return f"{x:.4g}"


def describe(item: Item) -> str:
    """How much, on what evidence, since when: `0.82 > 0.25 · baseline 0.03 · n=1,234`."""
    if item.kind == "error":
        return f"the check failed: {item.reason or 'unknown error'}"
    if item.kind == "no_data":
        return f"no data to judge: {item.reason or 'the window is empty'}"
    if item.kind == "deadman":
        if item.state in ("resolved", "ok"):
            return f"running again: {item.reason or 'a run succeeded'}"
        return f"no successful run: {item.reason or 'for two schedule intervals'}"
    parts = []
    delta = item.measure in ("delta", "relative_delta")
    if item.state in ("resolved", "ok"):
        parts.append(f"back to {number(item.value)}")
    else:
        x = item.measured if item.measured is not None else item.value
        label = {"delta": "Δ ", "relative_delta": "relative Δ "}.get(item.measure or "", "")
        text = label + number(x)
        if item.threshold is not None:
            if not item.breaching:
                text += f", back within {number(item.threshold)} but not yet clear"
            elif item.direction == "both":
                text += f" beyond ±{number(abs(item.threshold))}"
            else:
                text += (" < " if item.direction == "below" else " > ") + number(item.threshold)
        if item.level:
            text += f" ({item.level})"
        parts.append(text)
        if delta:
            parts.append(f"{number(item.value)} vs baseline {number(item.baseline_value)}")
    if item.baseline_value is not None and not (delta and item.state not in ("resolved", "ok")):
        parts.append(f"baseline {number(item.baseline_value)}")
    if item.sample_size is not None:
        parts.append(f"n={number(item.sample_size)}")
    if item.q_value is not None:
        parts.append(f"q={item.q_value:.2g}")
    elif item.p_value is not None:
        parts.append(f"p={item.p_value:.2g}")
    if item.first_seen is not None:
        parts.append(f"since {item.first_seen:%Y-%m-%d %H:%M} UTC")
    return " · ".join(parts)


def where(item: Item) -> str:
    parts = [] if item.segment in ("", "all") else [item.segment]
    if item.feature:
        parts.append(item.feature)
    return " · ".join(parts) or "all"


def report_link(message: Message, item: Item | None = None) -> str | None:
    """Where the report shows this: the item's alert card (`#alert-<fingerprint>`), or
    the monitor's section; None when no report URL is configured."""
    if not message.report_url:
        return None
    anchor = f"alert-{item.fingerprint}" if item else f"monitor-{quote(message.monitor)}"
    return f"{message.report_url.split('#')[0]}#{anchor}"


# The most items one message carries: a run with thousands of breaching segments
# still queues a message of bounded size (the rest are counted in `Message.more`).
MAX_ITEMS = 50


def worst(items: list[Item], limit: int = MAX_ITEMS) -> tuple[list[Item], list[Item]]:
    """The `limit` worst items, worst first, and the ones left out."""
    ordered = sorted(items, key=Item.sort_key)
    return ordered[:limit], ordered[limit:]


def shown(message: Message, top_k: int) -> tuple[list[Item], int]:
    """The top-k items of a message, worst first, and how many more there are (those
    beyond top-k and those the message left out)."""
    items, rest = worst(message.items, top_k)
    return items, len(rest) + message.more


def plain_text(message: Message, top_k: int = 10) -> str:
    """The message as text (the console notifier, and the base of Slack's fallback)."""
    lines = [f"[{message.severity}] {message.title()}"]
    lines.append(
        f"  model {message.model} · check {message.check}"
        + (
            f" · window {clock(message.window_start)}..{clock(message.window_end)} UTC"
            if message.window_start and message.window_end
            else ""
        )
    )
    items, more = shown(message, top_k)
    for i in items:
        mark = {"resolved": "ok ", "ok": "ok "}.get(i.state, "!! ")
        lines.append(f"  {mark}{i.metric} [{where(i)}] {describe(i)}")
    if more:
        lines.append(f"  +{more} more")
    if message.mention:
        lines.append("  owners: " + ", ".join(message.mention))
    if message.render_command:
        lines.append(f"  dig in: {message.render_command}")
    link = report_link(message, items[0] if items else None)
    if link:
        lines.append(f"  report: {link}")
    return "\n".join(lines)


def summary(message: Message, item: Item) -> str:
    """One alert in one line, for receivers that page per alert (PagerDuty,
    Alertmanager): monitor, where, metric, how much against what threshold."""
    return (
        f"[{item.severity or message.severity}] {message.monitor}: {item.metric} "
        f"at {where(item)} (model {message.model}) — {describe(item)}"
    )


def evidence(message: Message, item: Item) -> dict[str, Any]:
    """An alert's facts as a flat mapping (PagerDuty's custom_details, Alertmanager's
    annotations), with the ways to dig in."""
    facts: dict[str, Any] = {
        "monitor": message.monitor,
        "model": message.model,
        "check": message.check,
        "segment": item.segment,
        "feature": item.feature,
        "metric": item.metric,
        "kind": item.kind,
        "state": item.state,
        "level": item.level,
        "severity": item.severity or message.severity,
        "value": item.value,
        "threshold": item.threshold,
        "baseline_value": item.baseline_value,
        "measure": item.measure,
        "direction": item.direction,
        "measured": item.measured,
        "sample_size": item.sample_size,
        "p_value": item.p_value,
        "q_value": item.q_value,
        "reason": item.reason,
        "first_seen": item.first_seen.isoformat() if item.first_seen else None,
        "window": (
            f"{clock(message.window_start)}..{clock(message.window_end)} UTC"
            if message.window_start and message.window_end
            else None
        ),
        "render_command": message.render_command or None,
        "report": report_link(message, item),
    }
    return {k: v for k, v in facts.items() if v is not None and v != ""}
