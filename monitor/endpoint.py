"""The daemon's local HTTP endpoint: `GET /livez`, `GET /readyz`, `GET /healthz`,
`GET /metrics`, and a small
read-only JSON API over the state store: `GET /api/alerts` (what `monitor alerts
--json` prints) and `GET /api/metrics?monitor=M[&from=T][&to=T]` (the monitor's
recorded metric rows whose window ends in (from, to]).

`/livez` answers 200 while the process serves requests and, on the leader, its
scheduler runs (a liveness probe: restart only a hung process). `/readyz` answers 200 when the scheduler runs (or the daemon
stands by for the leader lock) and the state store answers (a readiness probe).
`/healthz` answers 200 only when the scheduler runs and no monitor is overdue (its
latest fire time more than the monitor's `grace` ago, and its window not yet run):
for alerting on, not for restarting, since a warehouse outage makes monitors
overdue. A standby daemon is healthy. Bodies say why, as JSON. `/metrics` is Prometheus' text format from a registry of the daemon's own:
runs by monitor and status, run duration, last success and last run per monitor,
jobs that could not run at all, alerts by state and severity, the outbox backlog,
config reloads, leadership and overdue monitors.

`/report` and `/api` can require a bearer token (`daemon.api_token_env`). The server
is waitress: requests are read by its event loop, so idle and slow connections hold
no thread, and at most `daemon.http_workers` requests are served at once.
"""

from __future__ import annotations

import functools
import gzip
import hmac
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from waitress import wasyncore
from waitress.server import MultiSocketServer, create_server

from monitor.config import Config
from monitor.cron import CronSchedule
from monitor.errors import MonitorError
from monitor.execute import RunResult
from monitor.report import html as report_html
from monitor.report import page as report_page
from monitor.report.data import active_alerts, alert_docs, json_value, realized_beside
from monitor.store import StateStore
from monitor.warehouse import state_database, state_missing

log = logging.getLogger(__name__)


class Telemetry:
    """The daemon's Prometheus metrics."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.runs = Counter(
            "monitor_runs",
            "Recorded runs by monitor and status.",
            ["monitor", "status"],
            registry=r,
        )
        self.duration = Histogram(
            "monitor_run_duration_seconds",
            "How long a run took (check, evaluation, recording).",
            ["monitor"],
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
            registry=r,
        )
        self.last_success = Gauge(
            "monitor_last_success_timestamp_seconds",
            "When the monitor's last ok or no_data run finished (Unix time).",
            ["monitor"],
            registry=r,
        )
        self.last_run = Gauge(
            "monitor_last_run_timestamp_seconds",
            "When the monitor's last run finished, whatever its status (Unix time).",
            ["monitor"],
            registry=r,
        )
        self.job_failures = Counter(
            "monitor_job_failures",
            "Scheduled jobs that could not run at all (warehouse locked or down).",
            ["monitor"],
            registry=r,
        )
        self.alerts = Gauge(
            "monitor_alerts", "Alerts by state and severity.", ["state", "severity"], registry=r
        )
        self.outbox_pending = Gauge(
            "monitor_outbox_pending", "Notifications waiting to be delivered.", registry=r
        )
        self.reloads = Counter(
            "monitor_config_reloads", "SIGHUP reloads by result.", ["result"], registry=r
        )
        self.leader = Gauge(
            "monitor_daemon_leader", "1 while this daemon holds the leader lock.", registry=r
        )
        self.scheduler_up = Gauge(
            "monitor_scheduler_up", "1 while this daemon's scheduler runs.", registry=r
        )
        self.overdue = Gauge(
            "monitor_overdue",
            "1 when the monitor's latest scheduled run is later than its grace.",
            ["monitor"],
            registry=r,
        )

    def record(self, result: RunResult) -> None:
        if not result.recorded:
            return
        finished = datetime.now(UTC).timestamp()
        self.runs.labels(result.monitor, result.status).inc()
        self.duration.labels(result.monitor).observe(result.seconds)
        self.last_run.labels(result.monitor).set(finished)
        if result.status != "error":
            self.last_success.labels(result.monitor).set(finished)


@dataclass
class Health:
    """What /healthz judges, kept current by the daemon's threads."""

    role: str = "starting"  # starting | standby | leader | stopping
    scheduler_running: Callable[[], bool] = lambda: False
    schedules: dict[str, tuple[CronSchedule, timedelta]] = field(default_factory=dict)
    settled: dict[str, datetime] = field(default_factory=dict)  # every window up to T ran
    lock: threading.Lock = field(default_factory=threading.Lock)

    def overdue(self, now: datetime) -> dict[str, datetime]:
        """Monitors whose latest fire time more than `grace` ago has not run: since when."""
        with self.lock:
            schedules, settled = dict(self.schedules), dict(self.settled)
        late = {}
        for name, (cron, grace) in schedules.items():
            due = cron.latest_fire(now - grace)
            if due is not None and (name not in settled or settled[name] < due):
                late[name] = due
        return late

    def liveness(self) -> tuple[bool, dict[str, Any]]:
        """Alive: the process answers, and a leader's scheduler has not died under it.
        Nothing about the warehouse: a restart would not bring it back."""
        with self.lock:
            role = self.role
        if role == "leader" and not self.scheduler_running():
            return False, {"status": "scheduler stopped", "role": role}
        return True, {"status": "alive", "role": role}

    def report(self, now: datetime) -> tuple[bool, dict[str, Any]]:
        with self.lock:
            role = self.role
        running = self.scheduler_running()
        body: dict[str, Any] = {"role": role, "scheduler": "running" if running else "stopped"}
        if role == "standby":
            return True, {**body, "status": "ok", "note": "another daemon holds the leader lock"}
        late = self.overdue(now) if role == "leader" else {}
        body["overdue"] = [{"monitor": m, "since": t.isoformat()} for m, t in sorted(late.items())]
        healthy = role == "leader" and running and not late
        body["status"] = "ok" if healthy else "unhealthy"
        return healthy, body


# What /report and /api may show without a token: anyone who can reach the port.
OPEN_PATHS = ("/livez", "/readyz", "/healthz", "/metrics")
STATUS_TEXT = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
               405: "Method Not Allowed", 503: "Service Unavailable"}  # fmt: skip


class Endpoint:
    """The daemon's HTTP endpoint on `host:port` (port 0: any free port), served by
    waitress: requests are read by its event loop and only complete ones reach one of
    `workers` threads, so idle or slow connections hold no thread; a connection idle
    for `idle_timeout` is closed, and at most `connections` are open at once."""

    def __init__(
        self,
        host: str,
        port: int,
        health: Health,
        telemetry: Telemetry,
        config: Callable[[], Config] | None = None,
        token: str | None = None,
        workers: int = 16,
        idle_timeout: timedelta = timedelta(seconds=10),
        connections: int = 256,
    ):
        self.health, self.telemetry = health, telemetry
        self.config = config  # the daemon's current config (it may be reloaded)
        self.token = token  # /report and /api need `Authorization: Bearer <token>`
        self._report_lock = threading.Lock()  # one report built at a time, then cached
        self._report_cache: tuple[Any, bytes] | None = None
        idle = max(1, round(idle_timeout.total_seconds()))
        try:
            self.server = create_server(
                self.wsgi, host=host, port=port, threads=workers, channel_timeout=idle,
                cleanup_interval=max(1, idle // 2), connection_limit=connections,
                ident="sql-drift-monitor", expose_tracebacks=False,
            )  # fmt: skip
        except OSError as exc:
            raise MonitorError(
                f"cannot listen on {host}:{port}: {exc.strerror} (another daemon on this "
                "port? set daemon.port in alerts.yaml or pass --port)"
            ) from None
        # One listening socket, or several for a name such as localhost (IPv4 and IPv6).
        bound = getattr(self.server, "effective_port", None)
        if bound is None:
            bound = self.server.effective_listen[0][1]  # type: ignore[union-attr]
        self.host, self.port = host, int(bound)
        # One socket map, or one shared by several listening sockets (MultiSocketServer).
        if isinstance(self.server, MultiSocketServer):
            self._sockets = self.server.map
        else:
            self._sockets = self.server._map  # type: ignore[attr-defined]  # a dispatcher's map
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="http")

    def start(self) -> None:
        self.thread.start()

    def _loop(self) -> None:
        """waitress's event loop, one poll at a time until `stop`; the sockets are closed
        here, in the loop's own thread (closing them under a running poll from another
        thread makes it fail on a bad descriptor)."""
        while not self._stopping.is_set() and self._sockets:
            wasyncore.loop(timeout=0.25, map=self._sockets, count=1)
        wasyncore.close_all(self._sockets)

    def stop(self) -> None:
        """Stop listening and answering: the event loop ends and closes every socket,
        requests not started are dropped, and the worker threads end."""
        self._stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)
        else:
            wasyncore.close_all(self._sockets)
        self.server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        """The WSGI application: every answer, headers and body."""
        status, headers, payload = self.answer(
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("PATH_INFO", "/"),
            environ.get("QUERY_STRING", ""),
            environ.get("HTTP_AUTHORIZATION", ""),
            environ.get("HTTP_ACCEPT_ENCODING", ""),
        )
        headers = [*headers, ("Content-Length", str(len(payload)))]
        start_response(f"{status} {STATUS_TEXT.get(status, '')}".strip(), headers)
        return [payload]

    def answer(
        self, method: str, path: str, query_string: str, authorization: str, encodings: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, headers, body) of one request."""
        now = datetime.now(UTC)
        query = parse_qs(query_string)
        if method not in ("GET", "HEAD"):
            return 405, [("Allow", "GET"), ("Content-Type", "text/plain")], b"GET only\n"
        if self.token and path not in OPEN_PATHS and not self._authorized(authorization):
            return (
                401,
                [("WWW-Authenticate", 'Bearer realm="sql-drift-monitor"'),
                 ("Content-Type", "text/plain")],
                b"unauthorized: send Authorization: Bearer <daemon.api_token_env's token>\n",
            )  # fmt: skip
        if path in ("/healthz", "/livez", "/readyz"):
            if path == "/livez":
                healthy, body = self.health.liveness()
            elif path == "/readyz":
                healthy, body = self.readiness()
            else:
                healthy, body = self.health.report(now)
            return (
                200 if healthy else 503,
                [("Content-Type", "application/json")],
                json.dumps(body).encode(),
            )
        if path == "/metrics":
            late = self.health.overdue(now) if self.health.role == "leader" else {}
            for name in self.health.schedules:
                self.telemetry.overdue.labels(name).set(1 if name in late else 0)
            self.telemetry.scheduler_up.set(1 if self.health.scheduler_running() else 0)
            payload = generate_latest(self.telemetry.registry)
            return 200, [("Content-Type", CONTENT_TYPE_PLAIN_0_0_4)], payload
        if path in ("/report", "/report.html") and self.config is not None:
            status, payload, ctype = self.report(query)
            headers = [("Content-Type", ctype)]
            if status == 200 and "gzip" in encodings:
                payload = gzip.compress(payload, compresslevel=6)
                headers.append(("Content-Encoding", "gzip"))
            return status, headers, payload
        if path.startswith("/api/") and self.config is not None:
            status, body = self.api(path, query)
            payload = json.dumps(body, default=json_value).encode()
            return status, [("Content-Type", "application/json")], payload
        return (
            404,
            [("Content-Type", "text/plain")],
            b"not found: try /livez, /readyz, /healthz, /metrics, /report, /api/alerts "
            b"or /api/metrics\n",
        )

    def _authorized(self, authorization: str) -> bool:
        """The request carries the token (compared in constant time)."""
        assert self.token is not None
        scheme, _, given = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self.token.encode()
        )

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Ready: the scheduler runs (or this daemon stands by for the leader lock) and
        the state store answers a query. Overdue monitors do not count: a warehouse
        that is down makes monitors late, and restarting the daemon would not help."""
        role = self.health.role
        running = self.health.scheduler_running()
        body: dict[str, Any] = {"role": role, "scheduler": "running" if running else "stopped"}
        ready = role == "standby" or (role == "leader" and running)
        if self.config is not None:
            config = self.config()
            try:
                if not state_missing(config):
                    with state_database(config) as db:
                        db.execute("SELECT 1 AS ok")
                body["state_store"] = "ok"
            except MonitorError as exc:
                body["state_store"] = f"unavailable: {exc}"
                ready = False
        body["status"] = "ready" if ready else "not ready"
        return ready, body

    def report(self, query: dict[str, list[str]]) -> tuple[int, bytes, str]:
        """The HTML report (`monitor report`) of the current state, built on request and
        kept until the state changes: a run finished or an alert moved."""
        assert self.config is not None
        config = self.config()
        model = (query.get("model") or [""])[0] or None
        try:
            since, until = _period(query)
            key = (model, since, until, report_page.state_version(config))
            with self._report_lock:
                if self._report_cache is None or self._report_cache[0] != key:
                    page = report_html.render(report_page.build(config, model, since, until))
                    self._report_cache = (key, page.encode())
                return 200, self._report_cache[1], "text/html; charset=utf-8"
        except ValueError as exc:
            return 400, f"{exc}\n".encode(), "text/plain; charset=utf-8"
        except MonitorError as exc:
            status = 404 if model is not None and model not in config.models else 503
            return status, f"no report: {exc}\n".encode(), "text/plain; charset=utf-8"

    def api(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        """(status, JSON body) of a read-only API call. The state store is opened per
        request: the daemon's own runs hold it only while they write."""
        assert self.config is not None
        config = self.config()
        if path == "/api/alerts":
            reader: Callable[[StateStore], Any] = _alerts_json
        elif path == "/api/metrics":
            monitor = (query.get("monitor") or [""])[0]
            names = config.monitor_names()
            if not monitor:
                return 400, {
                    "error": "name a monitor: /api/metrics?monitor=NAME",
                    "monitors": names,
                }
            if monitor not in names:
                return 404, {"error": f"no monitor {monitor!r}", "monitors": names}
            try:
                since, until = _period(query)
            except ValueError as exc:
                return 400, {"error": str(exc)}

            reader = functools.partial(
                StateStore.metric_rows, monitor=monitor, since=since, until=until
            )
        else:
            return 404, {"error": f"no API {path}: try /api/alerts or /api/metrics"}
        if state_missing(config):
            return 200, []
        try:
            with state_database(config) as db:
                return 200, reader(StateStore(db, config.state.schema_, create=False))
        except MonitorError as exc:
            return 503, {"error": f"state store unavailable: {exc}"}


def _alerts_json(store: StateStore) -> list[dict[str, Any]]:
    alerts = active_alerts(store)
    return alert_docs(alerts, realized_beside(store, alerts))


def _period(query: dict[str, list[str]]) -> tuple[datetime | None, datetime | None]:
    """The `from` and `to` parameters; a `from` after `to` is the caller's mistake (400),
    not a report the server failed to build."""
    since, until = _time(query, "from"), _time(query, "to")
    if since is not None and until is not None and since > until:
        raise ValueError(f"from={since.isoformat()} is after to={until.isoformat()}")
    return since, until


def _time(query: dict[str, list[str]], key: str) -> datetime | None:
    """A `from`/`to` parameter: ISO 8601, UTC when it names no zone."""
    text = (query.get(key) or [""])[0]
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{key}={text!r} is not an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
