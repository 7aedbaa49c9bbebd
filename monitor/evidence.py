"""The numbers behind a judgement, shared by every stage that carries them.

A metric row is judged (monitor/evaluate.py), becomes an observation of an alert
(monitor/alerts/lifecycle.py), is kept in the alert's state and is shown as a line of
a message (monitor/notify/message.py). Each of those types extends `Evidence`, so
the fields are declared once and copied by name (`evidence_of`), never by position.
"""

from __future__ import annotations

import dataclasses
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
