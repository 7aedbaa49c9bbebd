"""PagerDuty- and Alertmanager-compatible HTTP servers on 127.0.0.1 for tests.

`FakePagerDuty` speaks Events API v2 (`POST /v2/enqueue`): it validates each event as
PagerDuty does (routing key, action, dedup key; a trigger's summary, source and
severity), answers 202 with the dedup key or 400 with the errors, and keeps the
incidents it would have opened: one per dedup key while open, closed by a resolve.

`FakeAlertmanager` speaks API v2 (`POST /api/v2/alerts`): a JSON array of alerts
with non-empty labels, RFC 3339 `startsAt`/`endsAt` (end not before start); it keeps
the latest of each label set, as Alertmanager merges them, and answers 200 or 400.

Both record every request and inject faults on demand: an HTTP status (429 with
Retry-After, 500, 503), or no server at all (`stop()` until `start()`).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.local_server import LocalServer

PD_SEVERITIES = ("critical", "error", "warning", "info")


@dataclass
class Incident:
    dedup_key: str
    status: str  # triggered | resolved
    summary: str
    severity: str
    custom_details: dict[str, Any]
    links: list[dict[str, str]]
    triggers: int = 1  # trigger events folded into this incident


@dataclass
class StoredAlert:
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    generator_url: str | None
    posts: int = 1

    def firing(self, now: datetime | None = None) -> bool:
        return self.ends_at > (now or datetime.now(UTC))


@dataclass
class FakeService(LocalServer):
    """What both fakes share: the request log and the faults."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: deque[tuple[int, int | None]] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.start()

    def fail(self, status: int, times: int = 1, retry_after: int | None = None) -> None:
        """Answer the next `times` requests with `status` (and Retry-After)."""
        self.faults.extend([(status, retry_after)] * times)

    def accepted(self) -> list[Any]:
        """The bodies of the requests that were accepted, in order."""
        return [r["body"] for r in self.requests if r["status"] < 300]

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length).decode() if length else ""
        record: dict[str, Any] = {"path": h.path, "body": None, "status": 0}
        with self.lock:
            self.requests.append(record)
            fault = self.faults.popleft() if self.faults else None
            if fault is not None:
                status, wait = fault
                record["status"] = status
                headers = {"Retry-After": str(wait)} if wait is not None else {}
                _reply(h, status, {"status": "throttled" if status == 429 else "error"}, headers)
                return
            try:
                record["body"] = json.loads(raw, parse_constant=_not_json)
            except (json.JSONDecodeError, ValueError) as exc:
                record["status"] = 400
                _reply(h, 400, {"status": "invalid event", "errors": [str(exc)]})
                return
            status, answer = self.apply(h.path, record["body"])
            record["status"] = status
        _reply(h, status, answer)

    def apply(self, path: str, body: Any) -> tuple[int, Any]:
        raise NotImplementedError


def _not_json(token: str) -> Any:
    """NaN and Infinity: Python writes and reads them, JSON (and these APIs) do not."""
    raise ValueError(f"invalid JSON token {token}")


def _reply(
    h: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None
) -> None:
    data = json.dumps(body).encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(data)))
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.end_headers()
    h.wfile.write(data)


@dataclass
class FakePagerDuty(FakeService):
    routing_key: str = "R0UTINGKEY0123456789012345678901"
    incidents: list[Incident] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2/enqueue"

    def open_incidents(self) -> list[Incident]:
        return [i for i in self.incidents if i.status == "triggered"]

    def apply(self, path: str, body: Any) -> tuple[int, Any]:
        if path != "/v2/enqueue":
            return 404, {"status": "not found"}
        errors = _pd_errors(body, self.routing_key)
        if errors:
            return 400, {"status": "invalid event", "message": "Event object is invalid",
                         "errors": errors}  # fmt: skip
        key = body["dedup_key"]
        open_one = next((i for i in self.open_incidents() if i.dedup_key == key), None)
        if body["event_action"] == "trigger":
            if open_one is not None:
                open_one.triggers += 1
            else:
                p = body["payload"]
                self.incidents.append(
                    Incident(key, "triggered", p["summary"], p["severity"],
                             p.get("custom_details") or {}, body.get("links") or [])
                )  # fmt: skip
        elif body["event_action"] == "resolve" and open_one is not None:
            open_one.status = "resolved"
        return 202, {"status": "success", "message": "Event processed", "dedup_key": key}


def _pd_errors(body: Any, routing_key: str) -> list[str]:
    if not isinstance(body, dict):
        return ["Event object must be a JSON object."]
    errors = []
    if body.get("routing_key") != routing_key:
        errors.append("'routing_key' is invalid.")
    if body.get("event_action") not in ("trigger", "acknowledge", "resolve"):
        errors.append("'event_action' is invalid (must be one of trigger, acknowledge, resolve).")
    if not body.get("dedup_key") or len(str(body.get("dedup_key"))) > 255:
        errors.append("'dedup_key' is required and at most 255 characters.")
    if body.get("event_action") == "trigger":
        p = body.get("payload") or {}
        if not p.get("summary") or len(p["summary"]) > 1024:
            errors.append("'payload.summary' is required and at most 1024 characters.")
        if not p.get("source"):
            errors.append("'payload.source' is required.")
        if p.get("severity") not in PD_SEVERITIES:
            errors.append("'payload.severity' must be one of critical, error, warning, info.")
    return errors


@dataclass
class FakeAlertmanager(FakeService):
    alerts: dict[tuple[tuple[str, str], ...], StoredAlert] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def firing(self) -> list[StoredAlert]:
        return [a for a in self.alerts.values() if a.firing()]

    def apply(self, path: str, body: Any) -> tuple[int, Any]:
        if path != "/api/v2/alerts":
            return 404, {"error": "not found"}
        if not isinstance(body, list):
            return 400, "body must be a JSON array of alerts"
        parsed = []
        for alert in body:
            labels = alert.get("labels") or {}
            if not labels or not all(isinstance(v, str) and v for v in labels.values()):
                return 400, "labels must be a non-empty map of non-empty strings"
            try:
                starts = datetime.fromisoformat(alert["startsAt"])
                ends = datetime.fromisoformat(alert["endsAt"])
            except (KeyError, ValueError) as exc:
                return 400, f"startsAt/endsAt: {exc}"
            if ends < starts:
                return 400, "start time must be before end time"
            parsed.append((labels, alert, starts, ends))
        for labels, alert, starts, ends in parsed:
            key = tuple(sorted(labels.items()))
            before = self.alerts.get(key)
            self.alerts[key] = StoredAlert(
                labels, alert.get("annotations") or {}, starts, ends,
                alert.get("generatorURL"), before.posts + 1 if before else 1,
            )  # fmt: skip
        return 200, None
