"""The alert lifecycle, modelled on Prometheus Alertmanager: pure functions, no I/O.

Per fingerprint (what is alerting, never its value or time)::

    ok ──breach──▶ pending ──`for` breaching runs──▶ firing ──clear──▶ recovering
     ▲                │                               ▲  │                │
     └────clear───────┘                               └──┼──breach────────┘
                                                         │ `keep_firing_for` clear runs
    resolved ◀───────────────────────────────────────────┘ (a later breach: new episode)

A value past a rule's `clear` level but no longer breaching (hysteresis) neither
breaches nor clears: a firing alert stays firing. `no_data` and `error` are alert
kinds of their own, one per monitor, and so is `deadman` (the daemon saw no
successful run for two schedule intervals). Whether to notify is a separate pure decision
(`decide`) from the previous and new state, the settings, `now`, and whether a
silence or an inhibiting alert mutes it; it returns a named reason, so every
"why was I (not) paged" has an answer in `monitor.alert_events`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from monitor.evidence import Evidence, evidence_of

Kind = Literal["metric", "no_data", "error", "deadman"]
State = Literal["ok", "pending", "firing", "recovering", "resolved"]
Action = Literal["none", "announce", "remind", "escalate", "resolve"]
ObservedStatus = Literal["alert", "warn", "held", "ok", "no_data"]

ACTIVE: tuple[State, ...] = ("pending", "firing", "recovering")


def segment_pairs(segment: str) -> list[tuple[str, str]]:
    """`country=FR,device=ios` as sorted (key, value) pairs; `all` has none."""
    if segment in ("", "all"):
        return []
    pairs = []
    for part in segment.split(","):
        key, _, value = part.partition("=")
        pairs.append((key, value))
    return sorted(pairs)


@dataclass(frozen=True)
class Fingerprint:
    """An alert's identity: which monitor, check, metric, model, feature and slice."""

    kind: Kind
    monitor: str
    check: str
    model: str
    metric: str
    feature: str = ""
    segment: str = "all"

    @functools.cached_property
    def id(self) -> str:
        # Cached: a pass with thousands of alerts asks for each id many times.
        identity = [
            self.kind,
            self.monitor,
            self.check,
            self.metric,
            self.model,
            self.feature,
            segment_pairs(self.segment),
        ]
        return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:20]

    def where(self) -> str:
        """Where, for people: `device=ios · amount` or the monitor for run-level kinds."""
        if self.kind != "metric":
            return self.monitor
        parts = [] if self.segment == "all" else [self.segment]
        if self.feature:
            parts.append(self.feature)
        return " · ".join(parts) or "all"


@dataclass(frozen=True, kw_only=True)
class Observation(Evidence):
    """What one run said about a fingerprint."""

    status: ObservedStatus  # alert|warn breach; held (hysteresis band); ok clear; no_data keep
    window_start: datetime
    window_end: datetime

    @property
    def breach(self) -> bool:
        return self.status in ("alert", "warn")


@dataclass(frozen=True)
class Lifecycle:
    """The settings the state machine reads (a monitor's `for`, `keep_firing_for`, ...)."""

    for_runs: int = 1
    keep_firing_for: int = 1
    repeat_interval: timedelta = timedelta(hours=24)


@dataclass(frozen=True, kw_only=True)
class AlertState(Evidence):
    """An alert's place in the lifecycle, with the evidence of the run that last judged
    it (the threshold and rule are the latest breach's while it is not breaching)."""

    fingerprint: Fingerprint
    state: State = "ok"
    level: str | None = None  # warn | alert: the latest breach's level
    episode: int = 0  # increments when a breach starts a new pending/firing run
    breaches: int = 0  # consecutive breaching runs
    clears: int = 0  # consecutive clear runs while recovering
    first_seen: datetime | None = None  # window start of the episode's first breach
    last_seen: datetime | None = None  # window end of its latest breach
    last_evaluated: datetime | None = None  # run time T of the latest run that judged it
    fired_at: datetime | None = None  # run time it started firing
    resolved_at: datetime | None = None
    last_notified: datetime | None = None  # run time of the episode's latest notification
    notified_level: str | None = None
    # The highest level notified in the episode: PagerDuty and Alertmanager keep one
    # severity per episode, so its resolve goes where its page went.
    peak_level: str | None = None
    message_key: str | None = None  # the episode's top-level message (its thread)
    peak_value: float | None = None
    suppressed_by: str | None = None  # the silence or inhibiting alert muting it now

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


def _observed(state: AlertState, obs: Observation, run_at: datetime) -> AlertState:
    """The state with the run's evidence written in; the threshold and rule of the
    latest breach stay while it is not breaching."""
    evidence = evidence_of(obs)
    if not obs.breach:
        for kept in ("threshold", "measure", "direction"):
            evidence[kept] = getattr(state, kept)
    return dataclasses.replace(state, last_evaluated=run_at, **evidence)


def _peak(state: AlertState | None, obs: Observation) -> float | None:
    """The most extreme measured number of the episode, in the rule's direction."""
    x = obs.measured if obs.measured is not None else obs.value
    best = state.peak_value if state is not None else None
    if x is None:
        return best
    if best is None:
        return x
    worse = {"below": x < best, "above": x > best}.get(obs.direction or "", abs(x) > abs(best))
    return x if worse else best


def transition(
    prev: AlertState | None,
    fingerprint: Fingerprint,
    obs: Observation,
    settings: Lifecycle,
    run_at: datetime,
) -> AlertState:
    """The state after one run's observation (see the module docstring's diagram)."""
    s = prev or AlertState(fingerprint=fingerprint)
    if obs.status == "no_data":  # cannot judge: nothing changes
        return dataclasses.replace(s, last_evaluated=run_at)
    nxt = _observed(s, obs, run_at)
    if obs.breach:
        nxt = dataclasses.replace(nxt, level=obs.status, last_seen=obs.window_end)
        if s.state in ("ok", "resolved"):  # a new episode
            fires = settings.for_runs <= 1
            return dataclasses.replace(
                nxt,
                state="firing" if fires else "pending",
                episode=s.episode + 1,
                breaches=1,
                clears=0,
                first_seen=obs.window_start,
                fired_at=run_at if fires else None,
                resolved_at=None,
                last_notified=None,
                notified_level=None,
                peak_level=None,
                message_key=None,
                peak_value=_peak(None, obs),
            )
        nxt = dataclasses.replace(nxt, breaches=s.breaches + 1, peak_value=_peak(s, obs))
        if s.state == "pending":
            fires = nxt.breaches >= settings.for_runs
            return dataclasses.replace(
                nxt, state="firing" if fires else "pending", fired_at=run_at if fires else None
            )
        # firing or recovering: the same episode goes on
        return dataclasses.replace(nxt, state="firing", clears=0)

    # Not breaching: `held` keeps a firing alert firing, `ok` clears.
    if s.state == "pending":
        return dataclasses.replace(nxt, state="ok", breaches=0)
    if s.state == "firing" and obs.status == "held":
        return dataclasses.replace(nxt, breaches=0)
    if s.state == "recovering" and obs.status == "held":
        return dataclasses.replace(nxt, clears=0, breaches=0)
    if s.state in ("firing", "recovering") and obs.status == "ok":
        clears = s.clears + 1
        if clears >= settings.keep_firing_for:
            return dataclasses.replace(
                nxt, state="resolved", clears=clears, breaches=0, resolved_at=run_at
            )
        return dataclasses.replace(nxt, state="recovering", clears=clears, breaches=0)
    return nxt  # ok or resolved, and still clear


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str

    @property
    def notify(self) -> bool:
        return self.action != "none"


def decide(
    prev: AlertState | None,
    new: AlertState,
    settings: Lifecycle,
    now: datetime,
    silenced_by: str | None = None,
    inhibited_by: str | None = None,
) -> Decision:
    """Notify or not, and why. `now` is the run time T (not the clock), so a replayed
    history decides exactly as the live runs did."""
    was_active = prev is not None and prev.state in ("firing", "recovering")
    if new.state == "resolved":
        if not was_active:
            return Decision("none", "ok")
        if new.message_key is None:
            return Decision("none", "resolved before it was announced")
        # Updating the message on-call already saw is never noise, silenced or not.
        return Decision("resolve", "resolved")
    if new.state == "pending":
        return Decision("none", f"pending ({new.breaches} of {settings.for_runs} runs)")
    if new.state == "ok":
        return Decision("none", "ok")
    if silenced_by:
        return Decision("none", f"silenced by {silenced_by}")
    if inhibited_by:
        return Decision("none", f"inhibited by {inhibited_by}")
    if new.message_key is None:
        return Decision("announce", "new episode")
    if new.state == "recovering":
        return Decision("none", "recovering")
    if new.level == "alert" and new.notified_level == "warn":
        return Decision("escalate", "escalated from warn to alert")
    if new.last_notified is None or now - new.last_notified >= settings.repeat_interval:
        return Decision("remind", "repeat interval elapsed")
    return Decision("none", "notified within the repeat interval")


def notified(state: AlertState, decision: Decision, now: datetime, message_key: str) -> AlertState:
    """The state after its notification was queued (the repeat clock restarts)."""
    if decision.action == "announce":
        return dataclasses.replace(
            state,
            last_notified=now,
            notified_level=state.level,
            peak_level=state.level,
            message_key=message_key,
        )
    if decision.action in ("remind", "escalate"):
        return dataclasses.replace(
            state,
            last_notified=now,
            notified_level=state.level,
            peak_level=episode_level(state),
        )
    return state


def episode_level(state: AlertState, notifying: bool = True) -> str | None:
    """The episode's level for receivers that keep one per episode: the highest level
    notified in it, counting the one being notified now (`notifying`: an announcement,
    reminder or escalation; a resolve notifies no new level)."""
    notified = state.peak_level or state.notified_level
    if not notifying:
        return notified or state.level
    return "alert" if "alert" in (state.level, notified) else state.level
