"""The numbers behind a judgement, shared by every stage that carries them.

A metric row (`MetricRow`, what a check returned) is judged (monitor/evaluate.py),
becomes an observation of an alert (monitor/alerts/lifecycle.py), is kept in the
alert's state and is shown as a line of a message (monitor/notify/message.py). Each
of those types extends `Evidence`, so the fields are declared once and copied by
name (`evidence_of`), never by position.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Evidence:
    value: float | None = None
    threshold: float | None = None  # the deciding rule's level (warn or alert)
    baseline_value: float | None = None
    sample_size: int | None = None
    p_value: float | None = None
    q_value: float | None = None  # Benjamini-Hochberg across the run's tested rows
    reason: str | None = None  # why not judged, or why a breach did not count
    measure: str | None = None  # the deciding rule's: value | delta | relative_delta
    direction: str | None = None  # above | below | both
    measured: float | None = None  # the number the rule compared with the threshold


EVIDENCE_FIELDS = tuple(f.name for f in dataclasses.fields(Evidence))


def evidence_of(source: Any) -> dict[str, Any]:
    """The evidence fields of any object (or mapping) that has them, for `**` copying."""
    if isinstance(source, dict):
        return {name: source.get(name) for name in EVIDENCE_FIELDS}
    return {name: getattr(source, name) for name in EVIDENCE_FIELDS}


@dataclass(frozen=True, kw_only=True)
class MetricRow(Evidence):
    """One row a check returned, in the contract's shape (monitor.checks.RESULT_COLUMNS),
    typed as it leaves the warehouse; `fill_p_values` and `judge` return new rows with
    the p-value and the rules' verdict (status, threshold, q_value, the deciding rule)."""

    segment: str = "all"
    feature: str = ""
    metric: str
    baseline_size: int | None = None
    statistic: float | None = None  # the test statistic when it is not the value (a z score)
    test: str | None = None  # the test its p-value comes from (monitor.stats)
    dof: int | None = None
    histogram: str | None = None  # JSON: bins and counts (drift checks)
    detail: str | None = None  # JSON facts for people (e.g. a column's old and new type)
    status: str | None = None  # ok | warn | alert | no_data once judged; None before
    held: bool = False  # not breaching, but past a rule's `clear` level (hysteresis)

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> MetricRow:
        """A row read back from a mapping (the metrics table, a test's fixture): the
        fields it has, the rest at their defaults; other keys are left out."""
        return cls(**{k: row[k] for k in METRIC_ROW_FIELDS if k in row and row[k] is not None})

    def as_dict(self) -> dict[str, Any]:
        # Every field is a scalar: no deep copy (dataclasses.asdict took most of the time
        # to record a run of 10,000 rows).
        return {name: getattr(self, name) for name in METRIC_ROW_FIELDS}


METRIC_ROW_FIELDS = tuple(f.name for f in dataclasses.fields(MetricRow))
