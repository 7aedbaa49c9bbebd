"""Inhibition: alerts that mute others while they are active, as configured.

`notify.inhibit_rules` (docs/alerts.md) lists the rules; the default says that an
alert about a model's broken input (an error or no_data run, stale data) mutes that
model's drift, performance, guardrail and shadow alerts, which the broken input
would make noise. Muting is of notifications only: the muted alerts keep their
lifecycle and are announced if still firing once the cause clears.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence

from monitor.alerts.lifecycle import AlertState, Fingerprint
from monitor.config import DEFAULT_INHIBIT_RULES, InhibitRule

DEFAULT_RULES = tuple(InhibitRule.model_validate(r) for r in DEFAULT_INHIBIT_RULES)


def _matches(globs: Iterable[tuple[str, list[str]]], fp: Fingerprint, family: str | None) -> bool:
    """Every field given matches one of its globs (`family`: the check's family)."""
    for field, patterns in globs:
        value = family if field == "family" else str(getattr(fp, field))
        if value is None or not any(fnmatch.fnmatchcase(value, p) for p in patterns):
            return False
    return True


def inhibits(rule: InhibitRule, source: AlertState) -> bool:
    """Whether `source` mutes others under `rule`: it matches and is pending or firing."""
    return source.state in ("pending", "firing") and _matches(
        rule.source.items(), source.fingerprint, None
    )


def inhibitors(
    states: Iterable[AlertState], rules: Sequence[InhibitRule] = DEFAULT_RULES
) -> list[AlertState]:
    """The states that mute others under some rule: found once per pass, so judging
    each of thousands of alerts looks at the few sources, not at every alert."""
    return [s for s in states if any(inhibits(rule, s) for rule in rules)]


def inhibited_by(
    fp: Fingerprint,
    family: str,
    states: Sequence[AlertState],
    rules: Sequence[InhibitRule] = DEFAULT_RULES,
) -> str | None:
    """The alert muting `fp` (of a check of `family`), if any, named for people
    (`states`: all of them, or only their `inhibitors`)."""
    muting = [r for r in rules if _matches(r.target.items(), fp, family)]
    if not muting:
        return None
    for s in states:
        src = s.fingerprint
        for rule in muting:
            same = all(getattr(src, f) == getattr(fp, f) for f in rule.equal)
            if same and src != fp and inhibits(rule, s):
                what = src.kind if src.kind != "metric" else src.metric
                return f"{what} of {src.monitor}"
    return None
