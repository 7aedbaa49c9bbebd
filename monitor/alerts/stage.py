"""The alert stage: one pass's results → alert states → events → outbox, in one transaction.

A pass is every monitor run at one time T (a `monitor run`, a scheduler tick, one
step of a backfill). For each monitor the run's rows become observations per
fingerprint; the lifecycle (lifecycle.py) moves each state; inhibition and
silences are applied; and what to say is grouped into one message per monitor and
run (new episodes), one reply per thread (reminders, escalations, resolutions) and
one update per thread whose items changed. All of it is written in one transaction
with the new states, so a notification exists exactly when its state change does.

A monitor whose alerts were already evaluated at or after T (its watermark) is
skipped: re-running an old window replaces its metrics but never replays alerts, so
a re-run backfill sends nothing twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from monitor.alerts.compose import alert_messages, thread_messages
from monitor.alerts.inhibition import inhibited_by, inhibitors
from monitor.alerts.lifecycle import (
    ACTIVE,
    AlertState,
    Decision,
    Fingerprint,
    Kind,
    Lifecycle,
    Observation,
    ObservedStatus,
    decide,
    notified,
    transition,
)
from monitor.alerts.persistence import AlertStore, OutboxRow, StoredAlert
from monitor.alerts.routing import severity_for
from monitor.alerts.silences import silenced_by
from monitor.config import Config, MonitorConfig
from monitor.evidence import MetricRow, evidence_of
from monitor.notify.message import Message
from monitor.windows import Window

RUN_LEVEL: Literal["warn"] = (
    "warn"  # error and no_data alerts: the monitor is blind, nothing is on fire yet
)


@dataclass(frozen=True)
class MonitorOutcome:
    """One monitor's run, as the alert stage needs it."""

    monitor: MonitorConfig
    family: str  # the check's family (drift, quality, ...): decides inhibition
    window: Window
    status: str  # ok | error | no_data
    error: str | None
    rows: list[MetricRow]  # judged


@dataclass
class PassSummary:
    decisions: list[tuple[Fingerprint, Decision]] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    replayed: list[str] = field(default_factory=list)  # monitors already evaluated past T


def lifecycle(monitor: MonitorConfig, fp: Fingerprint) -> Lifecycle:
    if fp.kind != "metric":  # a run-level alert clears on the first good run
        return Lifecycle(1, 1, monitor.repeat_interval)
    return Lifecycle(monitor.for_, monitor.keep_firing_for, monitor.repeat_interval)


def run_fingerprint(monitor: MonitorConfig, kind: Kind) -> Fingerprint:
    return Fingerprint(kind, monitor.name, monitor.check, monitor.model, kind)


def observe(outcome: MonitorOutcome) -> tuple[dict[Fingerprint, Observation], bool]:
    """Observations per fingerprint, and whether active alerts missing from them clear
    (a series that vanished from a good run) or keep (the run could not judge them)."""
    m, w = outcome.monitor, outcome.window
    error_fp, no_data_fp = run_fingerprint(m, "error"), run_fingerprint(m, "no_data")
    clear = Observation(status="ok", window_start=w.start, window_end=w.end)
    if outcome.status != "error":  # a run that worked ends a dead-man alert
        found, clears_absent = _observe_run(outcome, error_fp, no_data_fp, clear)
        return {run_fingerprint(m, "deadman"): clear, **found}, clears_absent
    return _observe_run(outcome, error_fp, no_data_fp, clear)


def _observe_run(
    outcome: MonitorOutcome, error_fp: Fingerprint, no_data_fp: Fingerprint, clear: Observation
) -> tuple[dict[Fingerprint, Observation], bool]:
    m, w = outcome.monitor, outcome.window
    if outcome.status == "error":
        return {
            error_fp: _run_level(RUN_LEVEL, w, outcome.error),
            no_data_fp: _run_level("no_data", w),
        }, False
    if outcome.status == "no_data" and _window_empty(outcome):
        reason = _no_data_reason(outcome)
        if m.no_data == "alert":
            return {
                error_fp: clear,
                no_data_fp: _run_level(RUN_LEVEL, w, reason),
            }, False
        if m.no_data == "keep":
            return {error_fp: clear, no_data_fp: _run_level("no_data", w)}, False
        return {error_fp: clear, no_data_fp: clear}, True  # no_data: ok — the alerts clear
    found: dict[Fingerprint, Observation] = {error_fp: clear, no_data_fp: clear}
    for row in outcome.rows:
        fp = Fingerprint("metric", m.name, m.check, m.model, row.metric, row.feature, row.segment)
        status = cast(ObservedStatus, "held" if row.status == "ok" and row.held else row.status)
        obs = Observation(status=status, window_start=w.start, window_end=w.end, **evidence_of(row))
        if fp not in found or _worse(obs, found[fp]):  # a duplicated row: keep the worst
            found[fp] = obs
    return found, True


def _run_level(status: ObservedStatus, w: Window, reason: str | None = None) -> Observation:
    """An observation without numbers: of the run as a whole, or of a series it lacks."""
    return Observation(status=status, window_start=w.start, window_end=w.end, reason=reason)


def _worse(a: Observation, b: Observation) -> bool:
    rank = {"alert": 4, "warn": 3, "held": 2, "ok": 1, "no_data": 0}
    return rank[a.status] > rank[b.status]


def _window_empty(outcome: MonitorOutcome) -> bool:
    """No row had enough samples of the *current* window (a thin baseline is warm-up,
    not missing data)."""
    sized = [r.sample_size for r in outcome.rows if r.sample_size is not None]
    if not outcome.rows:
        return True
    return bool(sized) and all(n < outcome.monitor.min_samples for n in sized)


def _no_data_reason(outcome: MonitorOutcome) -> str:
    if not outcome.rows:
        return f"the check returned no rows for {outcome.window}"
    largest = max(r.sample_size for r in outcome.rows if r.sample_size is not None)
    return (
        f"largest sample {largest} < min_samples {outcome.monitor.min_samples} in {outcome.window}"
    )


def process_pass(
    store: AlertStore,
    config: Config,
    outcomes: Sequence[MonitorOutcome],
    run_at: datetime,
    actor: str,
    notifiers: Sequence[str] | None,
    wall_now: datetime,
) -> PassSummary:
    """Apply one pass to the alert state; queue its notifications for `notifiers`
    (None: record decisions only, e.g. a backfill without --notify)."""
    summary = PassSummary()
    marks = store.watermarks()
    live = []
    for o in outcomes:
        mark = marks.get(o.monitor.name)
        if mark is not None and mark >= run_at:
            summary.replayed.append(o.monitor.name)
        else:
            live.append(o)
    if not live:
        return summary

    # The pass's monitors' alerts (resolved ones too: they carry the episode count),
    # and the active alerts of every other monitor, which may inhibit.
    names = {o.monitor.name for o in live}
    context = _Context.load(store, names)
    for o in live:
        for state in advance(o, context.previous_of(o.monitor.name), run_at).values():
            context.add(state, o.family, o.monitor)
    windows = {o.monitor.name: o.window for o in live}
    marks_now = {o.monitor.name: run_at for o in live}
    _settle(store, config, context, run_at, actor, notifiers, wall_now, windows, summary, marks_now)
    return summary


def advance(
    outcome: MonitorOutcome, previous: dict[str, AlertState], run_at: datetime
) -> dict[str, AlertState]:
    """One monitor's run applied to its alert states (`previous`, by fingerprint id):
    the new state of every fingerprint the run observed or that was active. Pure, so
    `monitor backtest` replays history with exactly the live rules."""
    found, clears_absent = observe(outcome)
    new: dict[str, AlertState] = {}
    for fp, obs in found.items():
        prev = previous.get(fp.id)
        if prev is None and not obs.breach:
            continue  # never alerted, still fine: nothing to keep
        new[fp.id] = transition(prev, fp, obs, lifecycle(outcome.monitor, fp), run_at)
    for absent in previous.values():  # active, not in this run's rows
        fp = absent.fingerprint
        if not absent.active or fp.id in new or fp.kind == "deadman":
            continue
        gone: ObservedStatus = "ok" if clears_absent else "no_data"
        w = outcome.window
        obs = _run_level(gone, w, "not in this run's rows")
        new[fp.id] = transition(absent, fp, obs, lifecycle(outcome.monitor, fp), run_at)
    return new


def process_deadman(
    store: AlertStore,
    config: Config,
    observations: Sequence[tuple[MonitorConfig, Observation]],
    run_at: datetime,
    notifiers: Sequence[str] | None,
) -> PassSummary:
    """The daemon's dead-man's switch: a monitor with no successful run for two
    schedule intervals gets an alert of its own (kind `deadman`), announced like any
    other; `ok` observations resolve it. Watermarks do not move: the windows the
    monitor missed are still run, and alerted, when it catches up."""
    summary = PassSummary()
    names = {m.name for m, _ in observations}
    context = _Context.load(store, names)
    for monitor, obs in observations:
        fp = run_fingerprint(monitor, "deadman")
        prev = context.previous.get(fp.id)
        if prev is None and not obs.breach:
            continue
        family = ""  # not inhibited: a blind monitor is news whatever else fires
        context.add(transition(prev, fp, obs, lifecycle(monitor, fp), run_at), family, monitor)
    if context.new:
        _settle(
            store, config, context, run_at, "daemon", notifiers, run_at, {}, summary, {}, "/deadman"
        )
    return summary


@dataclass
class _Context:
    """What one alert-stage step reads and changes: the stored states of its monitors,
    the active states of all others (possible inhibitors), and the new states."""

    stored: dict[str, StoredAlert]
    previous: dict[str, AlertState]
    others: list[AlertState]
    new: dict[str, AlertState] = field(default_factory=dict)
    family_of: dict[str, str] = field(default_factory=dict)
    monitor_of: dict[str, MonitorConfig] = field(default_factory=dict)

    @classmethod
    def load(cls, store: AlertStore, names: set[str]) -> _Context:
        stored = {a.state.fingerprint.id: a for a in store.alerts(monitors=sorted(names))}
        others = [
            a.state for a in store.alerts(states=ACTIVE) if a.state.fingerprint.monitor not in names
        ]
        return cls(stored, {k: a.state for k, a in stored.items()}, others)

    def previous_of(self, monitor: str) -> dict[str, AlertState]:
        return {k: s for k, s in self.previous.items() if s.fingerprint.monitor == monitor}

    def add(self, state: AlertState, family: str, monitor: MonitorConfig) -> None:
        fid = state.fingerprint.id
        self.new[fid], self.family_of[fid], self.monitor_of[fid] = state, family, monitor


def _settle(
    store: AlertStore,
    config: Config,
    context: _Context,
    run_at: datetime,
    actor: str,
    notifiers: Sequence[str] | None,
    wall_now: datetime,
    windows: dict[str, Window],
    summary: PassSummary,
    watermarks: dict[str, datetime],
    key_tag: str = "",
) -> None:
    """Decide, compose and write: the new states, their events, their outbox rows and
    the watermarks, in one transaction, so a notification exists exactly when its
    state change does."""
    previous, new = context.previous, context.new
    # Inhibitors: this step's states, and the active ones of monitors not in it.
    rules = config.notify.inhibit_rules
    states = inhibitors([*{**previous, **new}.values(), *context.others], rules)
    silences = store.silences()
    decided: dict[str, tuple[AlertState, Decision]] = {}
    for fid, state in new.items():
        fp, monitor = state.fingerprint, context.monitor_of[fid]
        muted_by = silenced_by(fp, silences, wall_now)
        blocked_by = inhibited_by(fp, context.family_of[fid], states, rules)
        decision = decide(
            previous.get(fid), state, lifecycle(monitor, fp), run_at, muted_by, blocked_by
        )
        if decision.notify and notifiers is None:
            decision = Decision(
                "none", f"{decision.reason}; not sent: notifications are off for this run"
            )
        state = dataclasses.replace(state, suppressed_by=muted_by or blocked_by)
        decided[fid] = (state, decision)
        summary.decisions.append((fp, decision))

    latest = {**previous, **{fid: st for fid, (st, _) in decided.items()}}
    enabled = tuple(notifiers or ())
    monitor_of = context.monitor_of
    messages = thread_messages(
        config, store.thread, decided, latest, monitor_of, run_at, windows, enabled, key_tag
    )
    alert_events = alert_messages(config, decided, monitor_of, run_at, windows, enabled, key_tag)
    post_of = {fid: m.key for m, _ in messages if m.action == "post" for fid in m.members}
    for fid, (state, decision) in list(decided.items()):
        decided[fid] = (notified(state, decision, run_at, post_of.get(fid, "")), decision)
    summary.messages = [m for m, _ in messages]

    saved = [
        _stored(state, monitor_of[fid], context.stored.get(fid), wall_now)
        for fid, (state, _) in decided.items()
    ]
    events = [
        _event(previous.get(fid), state, decision, run_at, wall_now, actor)
        for fid, (state, decision) in decided.items()
        if decision.notify or previous.get(fid) is None or previous[fid].state != state.state
    ]
    queued = [(name, m) for m, threads in messages for name in threads] + alert_events
    with store.wh.transaction():
        first_id = store.next_outbox_id()
        rows = [_outbox_row(first_id + n, name, m, wall_now) for n, (name, m) in enumerate(queued)]
        store.save_alerts(saved)
        store.add_events(events)
        store.enqueue(rows)
        store.set_watermarks(watermarks)


def _outbox_row(row_id: int, notifier: str, message: Message, wall_now: datetime) -> OutboxRow:
    return OutboxRow(
        id=row_id,
        notifier=notifier,
        message_key=message.key,
        parent_key=message.parent_key,
        action=message.action,
        channel=message.channel,
        payload=message.to_json(),
        status="pending",
        attempts=0,
        last_error=None,
        created_at=wall_now,
        next_attempt_at=wall_now,
    )


def _stored(
    state: AlertState, monitor: MonitorConfig, before: StoredAlert | None, wall_now: datetime
) -> StoredAlert:
    """The row to write; the Slack ts stays while the episode keeps its message."""
    same_thread = before is not None and before.state.message_key == state.message_key
    return StoredAlert(
        state,
        severity_for(monitor, state.level),
        before.slack_channel if same_thread and before else None,
        before.slack_ts if same_thread and before else None,
        wall_now,
    )


def _event(
    prev: AlertState | None,
    state: AlertState,
    decision: Decision,
    run_at: datetime,
    wall_now: datetime,
    actor: str,
) -> dict[str, Any]:
    return {
        "fingerprint": state.fingerprint.id,
        "monitor": state.fingerprint.monitor,
        "episode": state.episode,
        "run_at": run_at,
        "recorded_at": wall_now,
        "actor": actor,
        "from_state": prev.state if prev else "ok",
        "to_state": state.state,
        "action": decision.action,
        "reason": decision.reason,
        "level": state.level,
        "value": state.value,
        "threshold": state.threshold,
        "first_seen": state.first_seen,
        "last_seen": state.last_seen,
        "peak_value": state.peak_value,
    }
