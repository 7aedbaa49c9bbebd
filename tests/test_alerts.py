"""The alert lifecycle and the notify decision: pure functions, tested table-driven."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from monitor.alerts.inhibition import inhibited_by
from monitor.alerts.lifecycle import (
    AlertState,
    Fingerprint,
    Lifecycle,
    Observation,
    decide,
    notified,
    transition,
)
from monitor.alerts.silences import Silence, silenced_by

FP = Fingerprint("metric", "drift", "numeric_drift", "fraud", "psi", "amount", "device=ios")
T0 = datetime(2026, 10, 1, 6, tzinfo=UTC)
DAY = timedelta(days=1)


def obs(status: str, value: float | None = 0.3, day: int = 0) -> Observation:
    start = T0 - DAY + day * DAY
    return Observation(
        status=status,  # type: ignore[arg-type]
        window_start=start,
        window_end=start + DAY,
        value=value,
        threshold=0.25,
    )


def replay(statuses: str, settings: Lifecycle) -> list[AlertState]:
    """Run a series: A alert, w warn, h held (hysteresis band), . ok, - no_data."""
    code = {"A": "alert", "w": "warn", "h": "held", ".": "ok", "-": "no_data"}
    out, state = [], None
    for day, c in enumerate(statuses):
        state = transition(state, FP, obs(code[c], day=day), settings, T0 + day * DAY)
        out.append(state)
    return out


# ------------------------------------------------------------------ fingerprint


def test_fingerprint_is_identity_only_and_ignores_slice_order() -> None:
    a = Fingerprint("metric", "m", "c", "model", "psi", "x", "country=FR,device=ios")
    b = Fingerprint("metric", "m", "c", "model", "psi", "x", "device=ios,country=FR")
    assert a.id == b.id
    # Value, threshold and time are not part of it: they live in the state, not the key.
    assert {f.name for f in dataclasses.fields(Fingerprint)} == {
        "kind", "monitor", "check", "model", "metric", "feature", "segment"
    }  # fmt: skip
    for other in (
        dataclasses.replace(a, metric="ks"),
        dataclasses.replace(a, feature="y"),
        dataclasses.replace(a, segment="country=FR"),
        dataclasses.replace(a, model="other"),
        dataclasses.replace(a, monitor="m2"),
        dataclasses.replace(a, kind="error"),
    ):
        assert other.id != a.id


# -------------------------------------------------------------------- lifecycle

# (series, for, keep_firing_for, expected states) — one line per case.
LIFECYCLE_CASES = [
    # `for: 1` fires on the first breach; one clear run resolves.
    ("A.", 1, 1, ["firing", "resolved"]),
    # `for: 3`: pending until the third consecutive breach.
    ("AAA", 3, 1, ["pending", "pending", "firing"]),
    # A pending alert that clears goes back to ok: it never fired.
    ("AA.A", 3, 1, ["pending", "pending", "ok", "pending"]),
    # keep_firing_for: 2 — recovering for one clear run, resolved after the second.
    ("A..", 1, 2, ["firing", "recovering", "resolved"]),
    # A breach while recovering is the same episode firing again.
    ("A.A..", 1, 2, ["firing", "recovering", "firing", "recovering", "resolved"]),
    # Hysteresis: a value past `clear` but under the threshold keeps it firing.
    ("AhhA.", 1, 1, ["firing", "firing", "firing", "firing", "resolved"]),
    # ... and resets a recovery in progress.
    ("A.h..", 1, 2, ["firing", "recovering", "recovering", "recovering", "resolved"]),
    # no_data changes nothing, in any state.
    ("A-A", 2, 1, ["pending", "pending", "firing"]),
    ("A-.", 1, 1, ["firing", "firing", "resolved"]),
    # A clear series never creates anything.
    ("..h", 1, 1, ["ok", "ok", "ok"]),
    # warn counts as a breach like alert.
    ("w.", 1, 1, ["firing", "resolved"]),
]


@pytest.mark.parametrize(("series", "for_runs", "keep", "expected"), LIFECYCLE_CASES)
def test_lifecycle(series: str, for_runs: int, keep: int, expected: list[str]) -> None:
    states = replay(series, Lifecycle(for_runs, keep))
    assert [s.state for s in states] == expected


def test_a_breach_after_resolve_opens_a_new_episode() -> None:
    states = replay("A.A", Lifecycle())
    assert [s.episode for s in states] == [1, 1, 2]
    assert states[2].first_seen == obs("alert", day=2).window_start
    assert states[2].message_key is None and states[2].last_notified is None


def test_the_state_keeps_first_seen_peak_and_the_latest_numbers() -> None:
    s = None
    for day, (status, value) in enumerate([("warn", 0.2), ("alert", 0.9), ("alert", 0.5)]):
        s = transition(s, FP, obs(status, value, day), Lifecycle(), T0 + day * DAY)
    assert s is not None
    assert s.first_seen == T0 - DAY
    assert s.last_seen == T0 + 2 * DAY
    assert (s.peak_value, s.value, s.level, s.breaches) == (0.9, 0.5, "alert", 3)
    assert s.last_evaluated == T0 + 2 * DAY


# --------------------------------------------------------------------- decision

FIRING = AlertState(
    fingerprint=FP, state="firing", level="warn", episode=1, breaches=1, clears=0, message_key=None
)
ANNOUNCED = dataclasses.replace(
    FIRING, message_key="drift@x", last_notified=T0, notified_level="warn"
)
SETTINGS = Lifecycle(2, 1, timedelta(hours=24))

# (case, previous, new, now, silenced_by, inhibited_by, expected action, expected reason)
DECISIONS = [
    ("breach not yet fired", None, dataclasses.replace(FIRING, state="pending"), T0, None, None,
     "none", "pending (1 of 2 runs)"),
    ("first firing run announces", None, FIRING, T0, None, None, "announce", "new episode"),
    ("already announced, within the repeat interval", ANNOUNCED, ANNOUNCED, T0 + timedelta(hours=23),
     None, None, "none", "notified within the repeat interval"),
    ("repeat interval elapsed: a reminder", ANNOUNCED, ANNOUNCED, T0 + DAY, None, None,
     "remind", "repeat interval elapsed"),
    ("warn became alert: escalate at once", ANNOUNCED, dataclasses.replace(ANNOUNCED, level="alert"),
     T0 + timedelta(hours=1), None, None, "escalate", "escalated from warn to alert"),
    ("resolved after being announced", ANNOUNCED, dataclasses.replace(ANNOUNCED, state="resolved"),
     T0 + DAY, None, None, "resolve", "resolved"),
    ("resolved but never announced: nothing to take back", FIRING,
     dataclasses.replace(FIRING, state="resolved"), T0, None, None, "none",
     "resolved before it was announced"),
    ("resolved even while silenced: the message on-call saw is updated", ANNOUNCED,
     dataclasses.replace(ANNOUNCED, state="resolved"), T0, "silence s1", None, "resolve", "resolved"),
    ("silenced", None, FIRING, T0, "silence s1", None, "none", "silenced by silence s1"),
    ("inhibited", None, FIRING, T0, None, "no_data of traffic", "none",
     "inhibited by no_data of traffic"),
    ("announced late once a silence ends", FIRING, FIRING, T0 + DAY, None, None,
     "announce", "new episode"),
    ("recovering: no reminder", ANNOUNCED, dataclasses.replace(ANNOUNCED, state="recovering"),
     T0 + 2 * DAY, None, None, "none", "recovering"),
    ("still resolved", dataclasses.replace(ANNOUNCED, state="resolved"),
     dataclasses.replace(ANNOUNCED, state="resolved"), T0, None, None, "none", "ok"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "prev", "new", "now", "silence", "inhibitor", "action", "reason"),
    DECISIONS,
    ids=[c[0] for c in DECISIONS],
)
def test_decide(case, prev, new, now, silence, inhibitor, action, reason) -> None:
    d = decide(prev, new, SETTINGS, now, silence, inhibitor)
    assert (d.action, d.reason) == (action, reason)


def test_a_notification_restarts_the_repeat_clock() -> None:
    d = decide(None, FIRING, SETTINGS, T0)
    s = notified(FIRING, d, T0, "drift@2026-10-01")
    assert (s.message_key, s.last_notified, s.notified_level) == ("drift@2026-10-01", T0, "warn")
    assert decide(s, s, SETTINGS, T0 + timedelta(hours=1)).action == "none"


# ---------------------------------------------------------- silences, inhibition


def silence(monitor: str = "drift", **matchers: str) -> Silence:
    return Silence("s1", monitor, matchers, T0, T0 + timedelta(hours=4), "ana", "deploy", T0)


@pytest.mark.parametrize(
    ("s", "matches"),
    [
        (silence(), True),
        (silence("dr*"), True),
        (silence("other"), False),
        (silence(metric="psi"), True),
        (silence(metric="ks"), False),
        (silence(device="ios"), True),  # a slice column of the segment
        (silence(device="android"), False),
        (silence(country="FR"), False),  # the segment has no country
        (silence(feature="amo*", segment="device=*"), True),
    ],
)
def test_silence_matching(s: Silence, matches: bool) -> None:
    assert s.matches(FP) is matches


def test_a_silence_applies_only_while_active() -> None:
    s = silence()
    assert silenced_by(FP, [s], T0 + timedelta(hours=1)) is not None
    assert silenced_by(FP, [s], T0 + timedelta(hours=4)) is None
    assert silenced_by(FP, [s], T0 - timedelta(seconds=1)) is None


def test_inhibition_mutes_drift_of_the_same_model_only() -> None:
    no_data = AlertState(
        fingerprint=Fingerprint("no_data", "traffic", "row_count", "fraud", "no_data"),
        state="firing",
    )
    stale = AlertState(
        fingerprint=Fingerprint("metric", "fresh", "freshness", "fraud", "freshness"),
        state="pending",
    )
    other_model = AlertState(
        fingerprint=Fingerprint("error", "x", "c", "other", "error"), state="firing"
    )
    resolved = dataclasses.replace(no_data, state="resolved")
    assert inhibited_by(FP, "drift", [no_data]) == "no_data of traffic"
    assert inhibited_by(FP, "performance", [stale]) == "freshness of fresh"
    assert inhibited_by(FP, "quality", [no_data]) is None  # quality alerts are the cause
    assert inhibited_by(FP, "drift", [other_model, resolved]) is None
    run_level = Fingerprint("error", "drift", "numeric_drift", "fraud", "error")
    assert inhibited_by(run_level, "drift", [no_data]) is None  # never mutes an error


def test_episode_level_is_the_highest_notified() -> None:
    """PagerDuty and Alertmanager keep one severity per episode: the highest level
    notified in it. A resolve notifies no new level; an alert that rose to `alert`
    while silenced and then resolved was only ever notified at `warn`."""
    from monitor.alerts.lifecycle import AlertState, episode_level

    fp = Fingerprint("metric", "drift", "numeric_drift", "m", "ks")
    state = AlertState(
        fingerprint=fp, state="firing", level="warn", notified_level="warn", peak_level="warn"
    )
    assert episode_level(dataclasses.replace(state, level="alert")) == "alert"  # escalating
    assert episode_level(dataclasses.replace(state, level="alert"), notifying=False) == "warn"
    paged = dataclasses.replace(state, peak_level="alert")  # paged, now warn again
    assert episode_level(paged) == "alert" and episode_level(paged, notifying=False) == "alert"
    # Stored before peak_level existed: the last notified level stands in.
    old = dataclasses.replace(state, level="alert", peak_level=None)
    assert episode_level(old, notifying=False) == "warn"


def test_inhibition_follows_the_configured_rules() -> None:
    """`notify.inhibit_rules` replaces the default: here a firing volume alert mutes the
    drift of the same model only, an empty list mutes nothing, and `equal` can widen a
    rule to every model."""
    from monitor.config import InhibitRule

    volume = AlertState(
        fingerprint=Fingerprint("metric", "traffic", "volume", "fraud", "row_count"),
        state="firing",
    )
    no_data = AlertState(
        fingerprint=Fingerprint("no_data", "traffic", "row_count", "fraud", "no_data"),
        state="firing",
    )
    rule = InhibitRule.model_validate(
        {"source": {"metric": ["row_*"]}, "target": {"family": ["drift"]}}
    )
    assert inhibited_by(FP, "drift", [volume], [rule]) == "row_count of traffic"
    assert inhibited_by(FP, "performance", [volume], [rule]) is None
    assert inhibited_by(FP, "drift", [no_data], [rule]) is None  # the default no longer applies
    assert inhibited_by(FP, "drift", [no_data], []) is None
    other = dataclasses.replace(FP, model="churn")
    assert inhibited_by(other, "drift", [volume], [rule]) is None  # equal: [model]
    anywhere = rule.model_copy(update={"equal": []})
    assert inhibited_by(other, "drift", [volume], [anywhere]) == "row_count of traffic"


def test_inhibit_rules_refuse_unknown_fields_and_empty_matchers() -> None:
    from pydantic import ValidationError

    from monitor.config import InhibitRule

    with pytest.raises(ValidationError, match="source"):
        InhibitRule.model_validate({"source": {}, "target": {"family": ["drift"]}})
    with pytest.raises(ValidationError, match="colour"):
        InhibitRule.model_validate({"source": {"colour": ["red"]}, "target": {"kind": ["x"]}})
    with pytest.raises(ValidationError, match="family"):  # family is the target's only
        InhibitRule.model_validate({"source": {"family": ["quality"]}, "target": {"kind": ["x"]}})


def test_the_exact_sql_command_is_shell_quoted() -> None:
    """A monitor name with a space or a `;` stays one argument when on-call pastes the
    command from a page (it was pasted in as it was: a broken or dangerous line)."""
    import shlex

    from monitor.alerts.compose import render_command

    command = render_command("numeric_drift", "card fraud; rm -rf ~", datetime(2026, 9, 6, 6))
    assert shlex.split(command) == [
        "monitor", "render", "numeric_drift", "--monitor", "card fraud; rm -rf ~",
        "--at", "2026-09-06T06:00",
    ]  # fmt: skip
