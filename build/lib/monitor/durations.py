"""Durations as written in alerts.yaml: ``30m``, ``1h``, ``1d``, ``7d``, ``2w``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PATTERN = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


def parse_duration(text: object) -> timedelta:
    """Parse '1d'-style text; a bare 0 is allowed and means no duration."""
    if isinstance(text, timedelta):
        return text
    if text == 0 or text == "0":
        return timedelta(0)
    if not isinstance(text, str) or not (m := _PATTERN.match(text)):
        raise ValueError(f"expected a duration like 30m, 1h, 1d, 7d or 2w, got {text!r}")
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling, e.g. 14 days -> '2w', 36 hours -> '36h'."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0"
    for unit in ("w", "d", "h", "m", "s"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"
