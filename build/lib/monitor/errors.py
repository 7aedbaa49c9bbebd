"""The errors a person can act on.

Every error the product raises on purpose derives from ``MonitorError``; the CLI's one
error boundary prints its message on one line and exits non-zero. Anything else is a
bug and shows a traceback with ``--debug``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' — did you mean 'x'?' for the closest choice, or '' when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" — did you mean {close[0]!r}?" if close else ""


class MonitorError(Exception):
    """An error with a message written for the person who has to fix it."""


class ConfigError(MonitorError):
    """alerts.yaml is invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        head = f"{len(problems)} problem(s) in the configuration:"
        super().__init__("\n".join([head, *(f"  - {p}" for p in problems)]))


class CheckError(MonitorError):
    """A check file is malformed, does not render, or does not parse."""


class WarehouseError(MonitorError):
    """The warehouse refused a query or could not be reached."""


class WarehouseLockedError(WarehouseError):
    """Another process holds the database file's write lock."""


class DbtError(MonitorError):
    """A dbt build failed; the message carries dbt's own words."""
