"""Structured logs for the daemon: one JSON object per line on stderr.

Log calls pass their fields as ``extra={"fields": {...}}`` (the runner's one line per
run: monitor, window, run time, status, rows, duration, error); the formatter merges
them with the time, level and logger, so a log shipper needs no parsing rules.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        entry.setdefault("event", "log")
        entry["message"] = record.getMessage()
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def use_json_logs(level: int = logging.INFO) -> None:
    """Send every log record to stderr as JSON lines (replacing other handlers)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # APScheduler's per-job INFO lines ("Running job ...") repeat what our run lines say,
    # and its "skipped: maximum number of running instances" is by design: a job that
    # finds the worker busy is covered by the next, which runs every window still due.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    # slack-sdk narrates each retry at INFO; the outbox logs the outcome.
    logging.getLogger("slack_sdk").setLevel(logging.WARNING)
