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
import fnmatch
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Kind = Literal["metric", "no_data", "error", "deadman"]
State = Literal["ok", "pending", "firing", "recovering", "resolved"]
Action = Literal["none", "announce", "remind", "escalate", "resolve"]
ObservedStatus = Literal["alert", "warn", "held", "ok", "no_data"]

ACTIVE: tuple[State, ...] = ("pending", "firing", "recovering")
# Families whose alerts are noise while the model's input is broken (inhibition).
INHIBITED_FAMILIES = frozenset({"drift", "performance", "guardrails", "shadow"})
INHIBITING_METRICS = frozenset({"freshness"})


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

    @property
    def id(self) -> str:
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


@dataclass(frozen=True)
class Observation:
    """What one run said about a fingerprint."""

    status: ObservedStatus  # alert|warn breach; held (hysteresis band); ok clear; no_data keep
    window_start: datetime
    window_end: datetime
    value: float | None = None
    threshold: float | None = None
    baseline_value: float | None = None
    sample_size: int | None = None
    p_value: float | None = None
    q_value: float | None = None
    reason: str | None = None
    measure: str | None = None  # the deciding rule's: value | delta | relative_delta
    direction: str | None = None  # above | below | both
    measured: float | None = None  # the number the rule compared with the threshold

    @property
    def breach(self) -> bool:
        return self.status in ("alert", "warn")


@dataclass(frozen=True)
class Lifecycle:
    """The settings the state machine reads (a monitor's `for`, `keep_firing_for`, ...)."""

    for_runs: int = 1
    keep_firing_for: int = 1
    repeat_interval: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class AlertState:
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
    value: float | None = None
    threshold: float | None = None
    baseline_value: float | None = None
    sample_size: int | None = None
    p_value: float | None = None
    q_value: float | None = None
    reason: str | None = None
    measure: str | None = None
    direction: str | None = None
    measured: float | None = None
    suppressed_by: str | None = None  # the silence or inhibiting alert muting it now

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


def _observed(state: AlertState, obs: Observation, run_at: datetime) -> AlertState:
    """The state with the run's numbers (value, threshold, evidence) written in; the
    threshold and rule of the latest breach stay while it is not breaching."""
    return dataclasses.replace(
        state,
        last_evaluated=run_at,
        value=obs.value,
        measured=obs.measured,
        threshold=obs.threshold if obs.breach else state.threshold,
        measure=obs.measure if obs.breach else state.measure,
        direction=obs.direction if obs.breach else state.direction,
        baseline_value=obs.baseline_value,
        sample_size=obs.sample_size,
        p_value=obs.p_value,
        q_value=obs.q_value,
        reason=obs.reason,
    )


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
    s = prev or AlertState(fingerprint)
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


# ------------------------------------------------------------------------ silences


SILENCE_FIELDS = ("segment", "feature", "metric", "check", "model", "kind")


@dataclass(frozen=True)
class Silence:
    """Mutes notifications (not the lifecycle) of matching alerts until `ends_at`.

    `monitor` is a glob; each matcher is `field=glob` for a fingerprint field
    (segment, feature, metric, check, model, kind) or `slice_column=glob`, which
    matches alerts whose segment has that column with a matching value.
    """

    id: str
    monitor: str
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    author: str
    reason: str
    created_at: datetime

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, fp: Fingerprint) -> bool:
        if not fnmatch.fnmatchcase(fp.monitor, self.monitor):
            return False
        pairs = dict(segment_pairs(fp.segment))
        for key, pattern in self.matchers.items():
            if key in SILENCE_FIELDS:
                value: str | None = str(getattr(fp, key))
            else:
                value = pairs.get(key)
            if value is None or not fnmatch.fnmatchcase(value, pattern):
                return False
        return True


def silenced_by(fp: Fingerprint, silences: list[Silence], now: datetime) -> str | None:
    for s in silences:
        if s.active(now) and s.matches(fp):
            return f"silence {s.id} ({s.author}: {s.reason})"
    return None


# ----------------------------------------------------------------------- inhibition


def inhibits(state: AlertState) -> bool:
    """An alert that says the model's input is broken: an error or no_data run, or
    stale data. While it is pending or firing, its model's drift and performance
    alerts are noise and are muted."""
    fp = state.fingerprint
    breaking = state.state in ("pending", "firing")
    return breaking and (fp.kind in ("error", "no_data") or fp.metric in INHIBITING_METRICS)


def inhibited_by(fp: Fingerprint, family: str, states: list[AlertState]) -> str | None:
    """The alert muting `fp` (same model, an inhibiting alert), if any."""
    if fp.kind != "metric" or family not in INHIBITED_FAMILIES:
        return None
    for s in states:
        src = s.fingerprint
        if src.model == fp.model and src != fp and inhibits(s):
            what = src.kind if src.kind != "metric" else src.metric
            return f"{what} of {src.monitor}"
    return None
