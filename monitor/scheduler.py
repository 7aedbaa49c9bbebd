"""`monitor daemon`: the scheduled service (docs/operations.md).

APScheduler decides *when* to look; the run ledger decides *what* to run. Each monitor
has one job from its cron expression (read as system cron reads it, monitor/cron.py);
a job runs every window the schedule produced up to now that the ledger does not have
as done, so a coalesced, skipped or late job never drops a window and two processes
never run one twice. The jobs are rebuilt from alerts.yaml at start and on SIGHUP
(no pickled job store).

- One worker thread: runs are serialised (DuckDB has one writer anyway), and at a
  shared fire time quality monitors run first, so a freshness alert exists before
  the drift run it inhibits (job ids sort that way).
- Leader lock: only the daemon holding it schedules; another waits as a standby and
  takes over when the lock frees (the kernel releases it when its holder dies).
- Start: missed windows back to `daemon.catch_up_horizon` run first, oldest first.
- SIGTERM/SIGINT: stop scheduling, let the in-flight run finish within
  `daemon.stop_timeout`, then cancel its query; windows not run are marked aborted in
  the ledger (the next start runs them); exit 0.
- SIGHUP: reload alerts.yaml; an invalid file is rejected with its errors and the old
  config keeps running.
- Watchdog (every `daemon.watchdog_interval`): the dead-man's switch (a monitor with no
  successful run for two schedule intervals raises a `deadman` alert), outbox retries,
  and the alert gauges.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from filelock import FileLock, Timeout

from monitor import plan
from monitor.alerts.lifecycle import Observation
from monitor.alerts.persistence import AlertStore
from monitor.alerts.stage import process_deadman
from monitor.checks import discover_checks
from monitor.config import Config, DuckDBWarehouse, MonitorConfig, load_config
from monitor.cron import cron_schedule
from monitor.durations import format_duration
from monitor.endpoint import Endpoint, Health, Telemetry
from monitor.errors import MonitorError
from monitor.runner import Runner
from monitor.store import StateStore
from monitor.warehouse import Warehouse, connect, state_database
from monitor.windows import clock, scheduled_runs

log = logging.getLogger(__name__)


def _fields(event: str, **values: Any) -> dict[str, Any]:
    return {"fields": {"event": event, **values}}


class PostgresLeaderLock:
    """A session advisory lock on the PostgreSQL state database: daemons on several
    hosts share it, and the server releases it when the holder's connection dies.
    Same interface as the FileLock used for DuckDB (`acquire` raises Timeout)."""

    def __init__(self, config: Config):
        self.config = config
        digest = hashlib.sha256(f"sql-drift-monitor:{config.state.schema_}".encode()).digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)
        self.lock_file = f"the PostgreSQL advisory lock {self.key}"
        self._held: Warehouse | None = None

    def acquire(self) -> None:
        con = connect(self.config.state_database)
        rows = con.execute("SELECT pg_try_advisory_lock(?) AS got", [self.key])
        if not rows[0]["got"]:
            con.close()
            raise Timeout(self.lock_file)
        self._held = con

    def release(self) -> None:
        if self._held is not None:
            self._held.close()  # closing the session releases the lock
            self._held = None


def leader_lock(config: Config) -> FileLock | PostgresLeaderLock:
    """Only one daemon schedules per state store: a lock file beside a DuckDB file (every
    process that can write it runs on this host), an advisory lock on PostgreSQL."""
    db = config.state_database
    if isinstance(db, DuckDBWarehouse):
        path = db.path.with_name(db.path.name + ".daemon.lock")
        return FileLock(path, timeout=0, thread_local=False, fallback_to_soft=False)
    return PostgresLeaderLock(config)


class Daemon:
    def __init__(self, config_path: Path, host: str | None = None, port: int | None = None):
        self.config_path = config_path
        self.config = load_config(config_path)
        self.runner = Runner(self.config)
        self.host = host or self.config.daemon.host
        self.port = self.config.daemon.port if port is None else port
        self.telemetry = Telemetry()
        self.health = Health()
        self.scheduler = BlockingScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={
                # A job that missed several fire times runs once; it then runs every
                # window the ledger lacks, so coalescing loses nothing.
                "coalesce": True,
                "max_instances": 1,
                # Never drop a late run under load: run it however late (None).
                "misfire_grace_time": None,
            },
        )
        self.health.scheduler_running = lambda: bool(self.scheduler.running)
        self.lock = leader_lock(self.config)
        self.stopping = threading.Event()
        self.cursor: dict[str, datetime] = {}  # per monitor: every window up to T is settled
        # When each monitor came under watch (start, or the reload that added it): the
        # dead-man's switch does not blame a monitor for time nobody scheduled it.
        self.watched: dict[str, datetime] = {}
        self._busy = threading.Condition()
        self._active = 0
        self._active_runner: Runner | None = None

    # ------------------------------------------------------------------ lifecycle

    def serve(self) -> int:
        """Run until SIGTERM/SIGINT; 0 on a clean stop."""
        settings = self.config.daemon
        token = api_token(settings.api_token_env)
        endpoint = Endpoint(
            self.host, self.port, self.health, self.telemetry, config=lambda: self.config,
            token=token, workers=settings.http_workers, idle_timeout=settings.http_idle_timeout,
            connections=settings.http_connections,
        )  # fmt: skip
        endpoint.start()
        log.info(
            "listening on http://%s:%s", endpoint.host, endpoint.port,
            extra=_fields("listening", host=endpoint.host, port=endpoint.port, pid=os.getpid()),
        )  # fmt: skip
        if not token and not is_loopback(self.host):
            log.warning(
                "serving /report and /api on %s:%s without a token: anyone who can reach "
                "this port reads every alert and metric. Set daemon.api_token_env, or put "
                "an authenticating proxy in front (docs/operations.md, \"Exposure\")",
                endpoint.host, endpoint.port,
                extra=_fields("exposed", host=endpoint.host, port=endpoint.port),
            )  # fmt: skip
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_reload)
        try:
            if not self._become_leader():
                return 0
            with self._busy:  # a SIGHUP now waits, then reschedules what we schedule here
                self.health.role = "leader"
                self._schedule(self.config)
            self.scheduler.add_job(self._catch_up, id="0:catch-up", name="catch-up")
            log.info(
                "leader: scheduling %d monitors", len(self.config.monitors),
                extra=_fields("leader", monitors=len(self.config.monitors)),
            )  # fmt: skip
            if self.stopping.is_set():
                return 0
            self.scheduler.start()  # blocks until _shutdown_scheduler stops it
            self._finish_in_flight()
        finally:
            endpoint.stop()
            with contextlib.suppress(Exception):
                self.lock.release()
        log.info("stopped", extra=_fields("stopped"))
        return 0

    def _become_leader(self) -> bool:
        """Take the leader lock, waiting as a standby while another daemon holds it."""
        announced = False
        while not self.stopping.is_set():
            try:
                self.lock.acquire()
                self.telemetry.leader.set(1)
                return True
            except Timeout:
                if not announced:
                    self.health.role = "standby"
                    log.info(
                        "standby: another daemon holds %s", self.lock.lock_file,
                        extra=_fields("standby", lock=str(self.lock.lock_file)),
                    )  # fmt: skip
                    announced = True
                self.stopping.wait(self.config.daemon.leader_poll.total_seconds())
        return False

    def _schedule(self, config: Config) -> None:
        """One job per monitor, plus the watchdog; replaces any jobs there were."""
        checks = discover_checks(config.check_dirs)
        for job in self.scheduler.get_jobs():
            if job.id != "0:catch-up":
                job.remove()
        schedules = {}
        now = datetime.now(UTC)
        for m in config.monitors:
            self.watched.setdefault(m.name, now)
            cron = cron_schedule(m.schedule, m.timezone)
            schedules[m.name] = (cron, m.grace)
            # Ids order jobs that share a fire time: quality checks first.
            self.scheduler.add_job(
                self._job, cron.trigger(), args=[m.name], id=f"{plan.rank(m, checks)}:{m.name}",
                name=m.name,
            )  # fmt: skip
        self.scheduler.add_job(
            self._watchdog,
            IntervalTrigger(seconds=config.daemon.watchdog_interval.total_seconds()),
            id="9:watchdog",
            name="watchdog",
        )
        with self.health.lock:
            self.health.schedules = schedules
            self.health.settled = {k: v for k, v in self.health.settled.items() if k in schedules}

    # ------------------------------------------------------------------ jobs

    def _catch_up(self) -> None:
        """Every monitor's missed windows (up to the horizon), oldest first, as passes."""
        self._run(None)

    def _job(self, name: str) -> None:
        self._run([name])

    def _run(self, names: list[str] | None) -> None:
        with self._working() as runner:
            if runner is None:
                return
            try:
                report = runner.run_scheduled(names, after=self.cursor)
            except MonitorError as exc:  # nothing ran (warehouse locked or down): retried
                for name in names or runner.config.monitor_names():
                    self.telemetry.job_failures.labels(name).inc()
                log.error(
                    "scheduled run of %s could not start: %s", ", ".join(names or ["all"]), exc,
                    extra=_fields("job_failed", monitors=names or "all", error=str(exc)),
                )  # fmt: skip
                return
            for result in report.runs:
                self.telemetry.record(result)
                if not result.recorded:
                    log.info(
                        "%s %s %s: %s", result.status, result.monitor, result.window, result.error,
                        extra=_fields(
                            result.status, monitor=result.monitor,
                            window_start=result.window.start.isoformat(),
                            window_end=result.window.end.isoformat(), reason=result.error,
                        ),
                    )  # fmt: skip
            for gap in report.gaps:
                log.warning(gap, extra=_fields("gap"))
            for error in report.errors:
                log.error(error, extra=_fields("alert_stage_failed"))
            self.cursor.update(report.settled_through)
            with self.health.lock:
                self.health.settled.update(report.settled_through)

    def _watchdog(self) -> None:
        """Dead-man's switch, outbox retries, alert gauges."""
        with self._working() as runner:
            if runner is None:
                return
            now = datetime.now(UTC)
            try:
                with state_database(runner.config) as db:
                    store = StateStore(db, runner.config.state.schema_)
                    alerts = AlertStore(store)
                    span = store.scheduled_span(runner.config.monitor_names())
                    observations = [
                        (m, _deadman(m, s.last_ok if (s := span.get(m.name)) else None,
                                     self.watched.get(m.name, now), now))
                        for m in runner.config.monitors
                    ]  # fmt: skip
                    names = [n.name for n in runner.notifiers]
                    summary = process_deadman(alerts, runner.config, observations, now, names)
                    for fp, decision in summary.decisions:
                        if not decision.notify:
                            continue
                        log.warning(
                            "dead-man %s: %s", fp.monitor, decision.reason,
                            extra=_fields("deadman", monitor=fp.monitor, action=decision.action,
                                          reason=decision.reason),
                        )  # fmt: skip
                    report = runner.deliver(store)
                    self._gauges(alerts)
            except MonitorError as exc:
                log.error(
                    "watchdog could not reach the state store: %s", exc,
                    extra=_fields("watchdog_failed", error=str(exc)),
                )  # fmt: skip
                return
            if report.sent or report.failed:
                log.info(
                    "outbox: %d sent, %d waiting", report.sent, report.waiting,
                    extra=_fields("outbox", sent=report.sent, waiting=report.waiting,
                                  errors=report.errors[:3]),
                )  # fmt: skip

    def _gauges(self, alerts: AlertStore) -> None:
        self.telemetry.alerts.clear()
        for (state, severity), n in alerts.count_by_state().items():
            self.telemetry.alerts.labels(state, severity).set(n)
        self.telemetry.outbox_pending.set(len(alerts.outbox("pending")))

    @contextlib.contextmanager
    def _working(self) -> Iterator[Runner | None]:
        """Count a job as in flight (the stop waits for it); None when stopping."""
        with self._busy:
            if self.stopping.is_set():
                yield None
                return
            self._active += 1
            runner = self._active_runner = self.runner
        try:
            yield runner
        finally:
            with self._busy:
                self._active -= 1
                self._busy.notify_all()

    # ------------------------------------------------------------------ signals

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping.is_set():
            log.warning("second stop signal: cancelling now", extra=_fields("cancel"))
            self.runner.cancel()
            return
        log.info(
            "stopping on %s", signal.Signals(signum).name,
            extra=_fields("stopping", signal=signal.Signals(signum).name),
        )  # fmt: skip
        self.health.role = "stopping"
        self.stopping.set()
        self.runner.stopping.set()
        # Signal handlers run on the main thread inside the scheduler's loop: do the
        # work on a thread of its own so the scheduler's locks are taken normally.
        threading.Thread(target=self._shutdown_scheduler, daemon=True).start()

    def _shutdown_scheduler(self) -> None:
        # A stop that lands while the scheduler is starting waits for it to run.
        for _ in range(100):
            if self.scheduler.running:
                self.scheduler.shutdown(wait=False)
                return
            time.sleep(0.05)

    def _finish_in_flight(self) -> None:
        """Let the running job finish within stop_timeout, then cancel its query."""
        deadline = self.config.daemon.stop_timeout.total_seconds()
        with self._busy:
            if self._busy.wait_for(lambda: self._active == 0, timeout=deadline):
                return
        log.warning(
            "in-flight run still going after %s: cancelling its query",
            format_duration(self.config.daemon.stop_timeout),
            extra=_fields("cancel", after_s=deadline),
        )  # fmt: skip
        if self._active_runner is not None:
            self._active_runner.cancel()
        with self._busy:
            if self._busy.wait_for(lambda: self._active == 0, timeout=10):
                return
        log.error("the run did not stop: exiting anyway", extra=_fields("forced_exit"))
        logging.shutdown()
        # Exit code 1: an orchestrator must tell this from a clean stop. The ledger still
        # says `running` under our dead pid: the next start runs the window again.
        os._exit(1)

    def _on_reload(self, signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=self._reload, daemon=True).start()

    def _reload(self) -> None:
        try:
            config = load_config(self.config_path)
        except MonitorError as exc:
            self.telemetry.reloads.labels("rejected").inc()
            log.error(
                "reload rejected, the running config stays: %s", exc,
                extra=_fields("reload_rejected", error=str(exc)),
            )  # fmt: skip
            return
        endpoint_keys = (
            "host", "port", "api_token_env", "http_workers", "http_connections",
            "http_idle_timeout",
        )  # fmt: skip
        changed = [
            k for k in endpoint_keys if getattr(config.daemon, k) != getattr(self.config.daemon, k)
        ]
        if changed:
            log.warning(
                "daemon.%s: changes take effect at the next start (the endpoint keeps its "
                "settings until then)", ", daemon.".join(changed),
                extra=_fields("reload_note", keys=changed),
            )  # fmt: skip
        runner = Runner(config, stopping=self.runner.stopping)
        with self._busy:
            self.config, self.runner = config, runner
            self.cursor = {}  # schedules may have changed: look over the horizon again
            if self.health.role == "leader":
                self._schedule(config)
                # A monitor added or renamed runs its latest window now, as at start,
                # rather than at its next fire time (until then /healthz calls it
                # overdue); the others find nothing missing in the ledger.
                self.scheduler.add_job(
                    self._catch_up, id="0:catch-up", name="catch-up", replace_existing=True
                )
        self.telemetry.reloads.labels("applied").inc()
        log.info(
            "reloaded %s: %d monitors", self.config_path, len(config.monitors),
            extra=_fields("reloaded", monitors=config.monitor_names()),
        )  # fmt: skip


def _deadman(
    monitor: MonitorConfig, last_ok: datetime | None, watched: datetime, now: datetime
) -> Observation:
    """`alert` when two scheduled windows have come due (plus grace) since the last
    successful run's (or since the daemon started watching the monitor), `ok` when a
    run succeeded since, `no_data` (nothing changes) when it cannot tell yet, e.g.
    right after a restart."""
    recent = last_ok is not None and last_ok >= watched
    since = last_ok if recent and last_ok is not None else watched
    # Windows, not cron fires: an hourly schedule with a 1d window is due once a day.
    due = [t for _, t in scheduled_runs(monitor, since, now) if t > since]
    if len(due) < 2 or due[1] + monitor.grace > now:
        return Observation(status="ok" if recent else "no_data", window_start=since, window_end=now)
    what = f"the last at {last_ok:%Y-%m-%d %H:%M:%S} UTC" if last_ok else "none so far"
    return Observation(
        status="alert",
        window_start=since,
        window_end=now,
        value=(now - since).total_seconds(),
        threshold=(due[1] - since).total_seconds(),
        reason=(
            f"no successful run for two scheduled windows ({what}; runs were due at "
            f"{clock(due[0])} and {clock(due[1])} UTC)"
        ),
    )


def api_token(env: str | None) -> str | None:
    """The token `/report` and `/api` require, from the variable `daemon.api_token_env`
    names: a name given but unset is an error at start, never an open endpoint."""
    if env is None:
        return None
    token = os.environ.get(env, "").strip()
    if not token:
        raise MonitorError(
            f"daemon.api_token_env names ${env}, which is not set (or empty) here: set it, "
            "or remove daemon.api_token_env to serve /report and /api without a token"
        )
    return token


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def run_daemon(config_path: Path, host: str | None, port: int | None) -> int:
    return Daemon(config_path, host, port).serve()
