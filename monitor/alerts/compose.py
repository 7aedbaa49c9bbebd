"""What to say: one pass's decisions composed into messages for the receivers.

Thread receivers (Slack, a webhook, the console) get one post per monitor, run and
route for its new episodes, at the severity of its worst item; per thread, one
reply with the reminders, escalations and resolutions, and one update of the post
when an item of it resolved or escalated (both go where their post went). Alert
receivers (PagerDuty, Alertmanager) get one message per alert. Receivers see these
messages and nothing else (monitor/notify/).
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable
from datetime import datetime

from monitor.alerts.lifecycle import ACTIVE, AlertState, Decision, episode_level
from monitor.alerts.routing import ALERT_ACTIONS, route, severity_for
from monitor.config import Config, MonitorConfig
from monitor.cron import cron_schedule
from monitor.evidence import evidence_of
from monitor.notify.message import Item, ItemAction, Message, worst
from monitor.windows import Window

NOTIFYING = ("announce", "remind", "escalate")  # actions that notify the alert's level


def alert_messages(
    config: Config,
    decided: dict[str, tuple[AlertState, Decision]],
    monitor_of: dict[str, MonitorConfig],
    run_at: datetime,
    windows: dict[str, Window],
    enabled: tuple[str, ...],
    key_tag: str = "",
) -> list[tuple[str, Message]]:
    """What PagerDuty and Alertmanager are told: per alert receiver and alert, a message
    with that one alert (key `<monitor>@<T>/<fingerprint>`), routed at the episode's
    severity. Independent of the chat threads: a resolve reaches them even when no
    chat receiver ever got the post."""
    out: list[tuple[str, Message]] = []
    for fid, (state, decision) in decided.items():
        if not decision.notify:
            continue
        monitor = monitor_of[fid]
        item = item_of(state, decision.action, monitor)  # type: ignore[arg-type]  # notify
        assert item.severity is not None
        where = route(config, monitor, item.severity, item.segment, enabled)
        names = [r for r in where.alerts if decision.action in ALERT_ACTIONS[r]]
        if names:
            key = f"{monitor.name}{key_tag}@{stamp_of(run_at)}/{fid}"
            message = _post(config, monitor, [item], item.severity, run_at, windows, key, "")
            out += [(name, message) for name in names]
    return out


def item_of(state: AlertState, action: ItemAction, monitor: MonitorConfig | None = None) -> Item:
    """The alert as a message line; with its monitor, the line carries its severity."""
    fp = state.fingerprint
    severity = None
    if monitor is not None:
        severity = severity_for(monitor, episode_level(state, action in NOTIFYING))
    return Item(
        fingerprint=fp.id,
        kind=fp.kind,
        segment=fp.segment,
        feature=fp.feature,
        metric=fp.metric,
        state=state.state,
        level=state.level,
        action=action,
        first_seen=state.first_seen,
        last_seen=state.last_seen,
        peak_value=state.peak_value,
        breaching=state.breaches > 0,
        severity=severity,
        **evidence_of(state),
    )


def stamp_of(run_at: datetime) -> str:
    """A run's time in message keys: minutes, or seconds for a sub-minute schedule."""
    return f"{run_at:%Y-%m-%dT%H:%M:%SZ}" if run_at.second else f"{run_at:%Y-%m-%dT%H:%MZ}"


def renew_within(monitor: MonitorConfig, run_at: datetime) -> float:
    """Seconds this service may stay silent about a firing alert: a reminder comes
    within `repeat_interval` plus a schedule period, a recovery takes up to
    `keep_firing_for` periods, and a run may be `grace` late."""
    nxt = cron_schedule(monitor.schedule, monitor.timezone).next_fire(run_at)
    period = (nxt - run_at) if nxt is not None else monitor.window
    return (
        monitor.repeat_interval + monitor.keep_firing_for * period + monitor.grace
    ).total_seconds()


def _post(
    config: Config,
    monitor: MonitorConfig,
    items: list[Item],
    severity: str,
    run_at: datetime,
    windows: dict[str, Window],
    key: str,
    channel: str,
) -> Message:
    window = windows.get(monitor.name)
    items, unlisted = worst(items)
    return Message(
        key=key,
        action="post",
        parent_key=None,
        monitor=monitor.name,
        check=monitor.check,
        model=monitor.model,
        severity=severity,
        channel=channel,
        run_at=run_at,
        window_start=window.start if window else None,
        window_end=window.end if window else None,
        items=items,
        mention=list(monitor.owners) if severity == "page" else [],
        render_command=render_command(monitor.check, monitor.name, run_at),
        report_url=config.notify.report_url,
        renew_within=renew_within(monitor, run_at),
        more=len(unlisted),
        more_firing=len(unlisted),  # every announced item is pending or firing
        members=tuple(i.fingerprint for i in items + unlisted),
    )


def thread_messages(
    config: Config,
    stored_thread: Callable[[str], tuple[Message, tuple[str, ...]] | None],
    decided: dict[str, tuple[AlertState, Decision]],
    latest: dict[str, AlertState],
    monitor_of: dict[str, MonitorConfig],
    run_at: datetime,
    windows: dict[str, Window],
    enabled: tuple[str, ...],
    key_tag: str = "",
) -> list[tuple[Message, tuple[str, ...]]]:
    """The chat messages and the thread receivers of each: one post per monitor (and
    route, when a rule sends some segments elsewhere) for its new episodes, at the
    severity of its worst item; per thread, one reply with the reminders,
    escalations and resolutions, and one update of the post when an item of it
    resolved or escalated (both go where their post went)."""
    stamp = stamp_of(run_at)
    announced: dict[str, list[Item]] = {}
    replies: dict[str, list[Item]] = {}
    changed_threads: set[str] = set()
    for state, decision in decided.values():
        monitor = monitor_of[state.fingerprint.id]
        if decision.action == "announce":
            announced.setdefault(monitor.name, []).append(item_of(state, "announce", monitor))
        elif decision.notify and state.message_key:
            action: ItemAction = decision.action  # type: ignore[assignment]  # never "none" here
            replies.setdefault(state.message_key, []).append(item_of(state, action, monitor))
            if decision.action in ("resolve", "escalate"):
                changed_threads.add(state.message_key)

    out: list[tuple[Message, tuple[str, ...]]] = []
    for name, items in sorted(announced.items()):
        monitor = monitor_of[items[0].fingerprint]
        severity = severity_for(
            monitor, "alert" if any(i.level == "alert" for i in items) else "warn"
        )
        groups: dict[tuple[str, tuple[str, ...]], list[Item]] = {}
        for item in items:
            where = route(config, monitor, severity, item.segment, enabled)
            groups.setdefault((where.channel, where.threads), []).append(item)
        # Alerts that route apart get a post per route, worst first; the first keeps
        # the plain key `<monitor>@<T>`, the others `~2`, `~3`, ...
        ordered = sorted(groups.items(), key=lambda kv: min(i.sort_key() for i in kv[1]))
        for n, ((channel, threads), group) in enumerate(ordered):
            key = f"{name}{key_tag}@{stamp}" + (f"~{n + 1}" if n else "")
            out.append(
                (_post(config, monitor, group, severity, run_at, windows, key, channel), threads)
            )
    for parent_key in sorted(replies):
        found = _parent(stored_thread, out, parent_key)
        if found is None:
            continue  # no chat receiver got the post: nothing to thread under
        parent, threads = found
        threads = tuple(r for r in threads if r in enabled)
        window = windows.get(parent.monitor)
        if window is not None:
            parent = dataclasses.replace(parent, window_start=window.start, window_end=window.end)
        # Replies and updates speak of this run: its window and its exact SQL.
        parent = dataclasses.replace(
            parent, render_command=render_command(parent.check, parent.monitor, run_at)
        )
        reply_items, reply_unlisted = worst(replies[parent_key])
        reply = dataclasses.replace(
            parent,
            key=f"{parent_key}/reply@{stamp}",
            action="reply",
            items=reply_items,
            more=len(reply_unlisted),
            more_firing=sum(i.action != "resolve" for i in reply_unlisted),
            parent_key=parent_key,
            run_at=run_at,
            mention=[],
        )
        out.append((reply, threads))
        if parent_key in changed_threads:
            listed = {i.fingerprint for i in parent.items}
            # Each item as it is now; one that has moved on to a later episode ended here.
            items = [
                item_of(latest[i.fingerprint], "status", monitor_of.get(i.fingerprint))
                if i.fingerprint in latest and latest[i.fingerprint].message_key == parent_key
                else dataclasses.replace(i, action="status", state="resolved")
                for i in parent.items
            ]
            update = dataclasses.replace(
                parent,
                key=f"{parent_key}/update@{stamp}",
                action="update",
                items=items,
                # The post's unlisted alerts, from their states: those of this
                # thread that are still active.
                more_firing=sum(
                    1
                    for f, st in latest.items()
                    if st.message_key == parent_key and st.state in ACTIVE and f not in listed
                ),
                parent_key=parent_key,
                run_at=run_at,
                mention=[],
            )
            out.append((update, threads))
    return out


def render_command(check: str, monitor: str, run_at: datetime) -> str:
    """The command that prints the exact SQL a run executed, each word shell-quoted: a
    monitor named `a b` or `x; rm -rf ~` is one argument when on-call pastes it."""
    words = ["monitor", "render", check, "--monitor", monitor, "--at", f"{run_at:%Y-%m-%dT%H:%M}"]
    return shlex.join(words)


def _parent(
    stored_thread: Callable[[str], tuple[Message, tuple[str, ...]] | None],
    queued: list[tuple[Message, tuple[str, ...]]],
    key: str,
) -> tuple[Message, tuple[str, ...]] | None:
    """A thread's post and the thread receivers it was queued for: from this pass, or
    from the outbox (`stored_thread`)."""
    for m, threads in queued:
        if m.key == key:
            return m, threads
    return stored_thread(key)
