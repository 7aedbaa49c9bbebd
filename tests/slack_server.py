"""A Slack-Web-API-compatible HTTP server on 127.0.0.1 for tests.

slack-sdk's real WebClient talks to it through `base_url`. It implements
`chat.postMessage` (top-level and threaded) and `chat.update` the way Slack answers
them (`ok`, `channel` id, `ts`), keeps the resulting conversation so tests can read
threads, records every request, and injects faults on demand: 429 with Retry-After,
500/503, a slow answer, a dropped connection, or no server at all (`stop()`: the
port refuses connections until `start()`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.local_server import LocalServer


@dataclass
class Fault:
    kind: str  # "429" | "500" | "503" | "slow" | "drop" | "error"
    retry_after: int = 1
    seconds: float = 0.0
    error: str = "channel_not_found"


@dataclass
class Posted:
    channel: str  # Slack's channel id
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    updates: list[dict[str, Any]] = field(default_factory=list)


class FakeSlack(LocalServer):
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []  # every request, answered or not
        self.messages: list[Posted] = []  # accepted posts, in order
        self.faults: deque[Fault] = deque()
        self.lock = threading.Lock()
        self._clock = 1_790_000_000
        self.start()

    # ---------------------------------------------------------------- control

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def fail(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    # --------------------------------------------------------------- reading

    def top_level(self) -> list[Posted]:
        return [m for m in self.messages if m.thread_ts is None]

    def thread(self, ts: str) -> list[Posted]:
        return [m for m in self.messages if m.thread_ts == ts]

    def calls(self, method: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == method and r["answered"]]

    # -------------------------------------------------------------- handling

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        method = h.path.rstrip("/").rsplit("/", 1)[-1]
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length).decode() if length else ""
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            from urllib.parse import parse_qsl

            body = dict(parse_qsl(raw))
        record = {
            "method": method,
            "body": body,
            "auth": h.headers.get("Authorization"),
            "at": time.monotonic(),
            "answered": False,
        }
        with self.lock:
            self.requests.append(record)
            fault = self.faults.popleft() if self.faults else None
        if fault is not None:
            if fault.kind == "drop":  # close without a word
                h.close_connection = True
                h.connection.shutdown(2)
                return
            if fault.kind == "slow":
                time.sleep(fault.seconds)
            elif fault.kind == "429":
                self._reply(h, 429, {"ok": False, "error": "ratelimited"},
                            {"Retry-After": str(fault.retry_after)})  # fmt: skip
                return
            elif fault.kind in ("500", "503"):
                self._reply(h, int(fault.kind), None)
                return
            elif fault.kind == "error":
                self._reply(h, 200, {"ok": False, "error": fault.error})
                return
        if h.headers.get("Authorization", "") != "Bearer xoxb-test":
            self._reply(h, 200, {"ok": False, "error": "invalid_auth"})
            return
        with self.lock:
            answer = self._apply(method, body)
            record["answered"] = answer.get("ok", False)
        self._reply(h, 200, answer)

    def _apply(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "chat.postMessage":
            channel = str(body.get("channel", ""))
            if not channel:
                return {"ok": False, "error": "channel_not_found"}
            self._clock += 1
            ts = f"{self._clock}.000100"
            thread_ts = body.get("thread_ts")
            cid = channel if channel.startswith("C") else _channel_id(channel)
            self.messages.append(
                Posted(cid, ts, body.get("text", ""), body.get("blocks", []), thread_ts)
            )
            return {"ok": True, "channel": cid, "ts": ts, "message": {"text": body.get("text")}}
        if method == "chat.update":
            for m in self.messages:
                if m.ts == body.get("ts") and m.channel == body.get("channel"):
                    m.updates.append({"text": body.get("text"), "blocks": body.get("blocks")})
                    return {"ok": True, "channel": m.channel, "ts": m.ts}
            return {"ok": False, "error": "message_not_found"}
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "team": "test"}
        return {"ok": False, "error": "unknown_method"}

    @staticmethod
    def _reply(
        h: BaseHTTPRequestHandler,
        status: int,
        body: dict[str, Any] | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(body).encode() if body is not None else b"<html>upstream error</html>"
        h.send_response(status)
        h.send_header("Content-Type", "application/json" if body is not None else "text/html")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
            h.wfile.write(data)


def _channel_id(name: str) -> str:
    """A stable Slack-like channel id for a channel name."""
    return "C" + hashlib.sha1(name.encode()).hexdigest()[:8].upper()
