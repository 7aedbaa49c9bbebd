"""Silences: an operator's "I know, stop telling me" for matching alerts, until a time.

A silence mutes notifications, never the lifecycle: a silenced alert keeps firing,
recovering and resolving, and is announced when the silence ends if it still fires.
`monitor silence` builds one from the command's words (`make_silence`), checked
against the config so a typo cannot silence nothing, silently.
"""

from __future__ import annotations

import fnmatch
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.alerts.lifecycle import Fingerprint, segment_pairs
from monitor.config import Config
from monitor.errors import MonitorError, did_you_mean

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


def make_silence(
    config: Config,
    monitor: str,
    matches: Sequence[str],
    duration: timedelta,
    reason: str,
    author: str,
    now: datetime,
) -> Silence:
    """A silence from the CLI's words, checked against the config: the monitor glob must
    match a monitor, and each `key=glob` must name a fingerprint field or a slice column
    of a matched monitor's model (a typo would otherwise silence nothing, silently)."""
    matched = [m for m in config.monitors if fnmatch.fnmatchcase(m.name, monitor)]
    if not matched:
        raise MonitorError(
            f"no monitor matches {monitor!r}{did_you_mean(monitor, config.monitor_names())}"
        )
    if duration <= timedelta(0):
        raise MonitorError("--for must be longer than zero (e.g. 4h)")
    if not reason.strip():
        raise MonitorError("--reason is required: say why, for whoever finds the silence later")
    columns = {c for m in matched for c in config.models[m.model].slices}
    for m in matched:  # slice columns the monitor's params name (`by`, `slices`)
        for key in ("by", "slices"):
            for group in m.params.get(key) or []:
                columns.update(c for c in group if isinstance(c, str))
    valid = sorted(set(SILENCE_FIELDS) | columns)
    matchers: dict[str, str] = {}
    for text in matches:
        key, sep, pattern = text.partition("=")
        if not sep or not key or not pattern:
            raise MonitorError(f"--match {text!r}: write key=value, e.g. country=PT or metric=psi")
        if key not in valid:
            raise MonitorError(
                f"--match {text!r}: unknown key {key!r}{did_you_mean(key, valid)} "
                f"(keys: {', '.join(valid)})"
            )
        matchers[key] = pattern
    return Silence(
        id=uuid.uuid4().hex[:8],
        monitor=monitor,
        matchers=matchers,
        starts_at=now,
        ends_at=now + duration,
        author=author,
        reason=reason.strip(),
        created_at=now,
    )
