"""Turn metric rows into states (ok | warn | alert | no_data) with the monitor's rules.

Pure functions over small rows: no warehouse, no clock. docs/configuration.md, `rules`, fixes the
vocabulary: `warn`/`alert` thresholds, `direction`, `measure`, `max_p_value`,
`max_q_value` (Benjamini–Hochberg across every row the run tested),
`segment`/`feature` globs, and `min_samples` (a thin row is no_data, never a breach).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from monitor.config import MonitorSettings, Rule
from monitor.evidence import Evidence, MetricRow

SEVERITY = {"ok": 0, "no_data": 1, "warn": 2, "alert": 3}


@dataclass(frozen=True)
class Verdict:
    status: str
    threshold: float | None
    reason: str | None
    q_value: float | None = None
    # Not breaching, but not clear either: beyond a rule's `clear` level (hysteresis),
    # so a firing alert stays firing rather than starting to recover.
    held: bool = False
    # The deciding rule's measure and direction, and the number it compared, so an
    # alert can say "Δ −0.38 < −0.1" rather than set a value against a delta threshold.
    measure: str | None = None
    direction: str | None = None
    measured: float | None = None


def _num(value: Any) -> float | None:
    if value is None:
        return None
    f = float(value)
    return None if math.isnan(f) else f


def rule_matches(rule: Rule, metric: str, segment: str, feature: str) -> bool:
    """Whether a rule judges this series (its metric, and its segment and feature globs)."""
    return (
        rule.metric == metric
        and fnmatch.fnmatchcase(segment, rule.segment)
        and fnmatch.fnmatchcase(feature, rule.feature)
    )


def _judges(rule: Rule, row: MetricRow) -> bool:
    return rule_matches(rule, row.metric, row.segment, row.feature)


def measured(rule: Rule, row: Evidence) -> float | None:
    """The number a rule compares: the value, or its change against the baseline."""
    value, base = _num(row.value), _num(row.baseline_value)
    if value is None:
        return None
    if rule.measure == "value":
        return value
    if base is None:
        return None
    if rule.measure == "delta":
        return value - base
    return (value - base) / abs(base) if base != 0 else None


def beyond(rule: Rule, x: float, limit: float) -> bool:
    """Whether `x` is strictly past `limit` in the rule's direction."""
    if rule.direction == "above":
        return x > limit
    if rule.direction == "below":
        return x < limit
    return abs(x) > abs(limit)


def breach_level(rule: Rule, x: float) -> tuple[str, float | None]:
    """'alert', 'warn' or 'ok' with the threshold that decided it (strictly beyond)."""
    if rule.alert is not None and beyond(rule, x, rule.alert):
        return "alert", rule.alert
    if rule.warn is not None and beyond(rule, x, rule.warn):
        return "warn", rule.warn
    return "ok", rule.warn if rule.warn is not None else rule.alert


def holds(rule: Rule, x: float) -> bool:
    """A value that does not breach but has not cleared either: past the rule's `clear`."""
    return rule.clear is not None and beyond(rule, x, rule.clear)


def lacks_evidence(rule: Rule, p: float | None, q: float | None, metric: str) -> str | None:
    """Why a breach of `rule` does not count for want of significance, or None."""
    if rule.max_p_value is None and rule.max_q_value is None:
        return None
    if p is None:
        return f"the check gives no p_value for {metric}"
    if rule.max_p_value is not None and p > rule.max_p_value:
        return f"not significant: p={p:.3g} > {rule.max_p_value}"
    if rule.max_q_value is not None and q is not None and q > rule.max_q_value:
        return f"not significant: q={q:.3g} > {rule.max_q_value}"
    return None


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """BH adjusted p-values (q-values), monotone, capped at 1; same order as input."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        q[i] = running
    return q


def evaluate(rows: Sequence[MetricRow], settings: MonitorSettings) -> list[Verdict]:
    """One verdict per row: the worst over the rules that match it."""
    # q-values across every row the run tests for significance: each row with a p_value
    # that a rule with max_q_value judges and that has the samples to be judged at all.
    # One family per run, so testing more slices or metrics (a guardrail check tests
    # slice × metric) never multiplies the false alarms; rows that can never breach
    # (too thin, undefined) or that no significance rule reads do not dilute it.
    tested = [
        i
        for i, r in enumerate(rows)
        if _num(r.p_value) is not None
        and _num(r.value) is not None
        and _thin(r, settings) is None
        and any(rule.max_q_value is not None and _judges(rule, r) for rule in settings.rules)
    ]
    qs = benjamini_hochberg([float(rows[i].p_value or 0.0) for i in tested])
    q_values = dict(zip(tested, qs, strict=True))
    return [_verdict(row, settings, q_values.get(i)) for i, row in enumerate(rows)]


def judge(rows: Sequence[MetricRow], settings: MonitorSettings) -> tuple[list[MetricRow], str]:
    """The rows with their verdicts (status, threshold, reason, q_value, held and the
    deciding rule's measure), and the run's status: ok, or no_data when no row could
    be judged. The runner judges fresh rows this way and the backtest stored ones."""
    judged = [
        dataclasses.replace(
            row,
            status=v.status,
            threshold=v.threshold,
            reason=v.reason,
            q_value=v.q_value,
            held=v.held,
            measure=v.measure,
            direction=v.direction,
            measured=v.measured,
        )
        for row, v in zip(rows, evaluate(rows, settings), strict=True)
    ]
    return judged, "ok" if any(r.status != "no_data" for r in judged) else "no_data"


def _thin(row: MetricRow, settings: MonitorSettings) -> str | None:
    """Why the row has too few samples to be judged, or None. A NULL sample_size means
    the value is not a sample statistic (freshness, schema): min_samples does not apply."""
    n, nb = row.sample_size, row.baseline_size
    if n is not None and n < settings.min_samples:
        return f"sample_size {n} < min_samples {settings.min_samples}"
    if nb is not None and nb < settings.min_samples:
        return f"baseline_size {nb} < min_samples {settings.min_samples}"
    return None


def _verdict(row: MetricRow, settings: MonitorSettings, q: float | None) -> Verdict:
    if _num(row.value) is None and row.reason:  # the check says why
        return Verdict("no_data", None, row.reason, q)
    thin = _thin(row, settings)
    if thin:
        return Verdict("no_data", None, thin, q)
    if _num(row.value) is None:
        return Verdict("no_data", None, row.reason or "value undefined", q)

    best = Verdict("ok", None, None, q)
    held = False
    for rule in settings.rules:
        if not _judges(rule, row):
            continue
        x = measured(rule, row)
        if x is None:
            v = Verdict("no_data", None, f"{rule.measure} needs a baseline_value", q)
        else:
            level, threshold = breach_level(rule, x)
            veto = lacks_evidence(rule, _num(row.p_value), q, row.metric)
            reason = None
            if level != "ok" and veto:
                level, reason = "ok", f"beyond {threshold} but {veto}"
            held = held or (level == "ok" and not veto and holds(rule, x))
            v = Verdict(level, threshold, reason, q, False, rule.measure, rule.direction, x)
        if SEVERITY[v.status] > SEVERITY[best.status] or (
            best.threshold is None and v.status == best.status
        ):
            best = v
    return dataclasses.replace(best, held=held) if best.status == "ok" else best
