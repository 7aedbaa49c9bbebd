"""A pass: claim → execute → record → alert stage → deliver, returned as a `PassReport`.

A pass is every monitor run at one fire time T (a `monitor run`, a scheduler job, one
step of a backfill). The plan (monitor/plan.py) says which windows, in which order;
each is executed (monitor/execute.py), recorded in the state store, and the pass's
results go through the alert stage (monitor/alerts/stage.py) before the next pass, so
the lifecycle sees history as it happened. After the last pass the outbox is drained.

One warehouse connection per call, closed afterwards, so the DuckDB file is free
between runs. A monitor that fails is recorded as an `error` run and never stops the
others. The CLI and the daemon only call this module.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from monitor import dbt, plan
from monitor.alerts.delivery import DrainReport, drain, drain_until
from monitor.alerts.persistence import AlertStore
from monitor.alerts.stage import MonitorOutcome, PassSummary, process_pass
from monitor.checks import Check, discover_checks, find_check
from monitor.compile_cache import CompileCache
from monitor.config import Config, MonitorConfig
from monitor.errors import MonitorError
from monitor.execute import QueryGuard, RunResult, execute_monitor
from monitor.ledger import OWNER, LedgerEntry, settled
from monitor.notify import Notifier, notifiers_for
from monitor.plan import TICK, Planned
from monitor.segments import SpanBudgets
from monitor.store import LedgerMark, RunRecord, StateStore
from monitor.warehouse import Warehouse, connect, state_database
from monitor.windows import Window

log = logging.getLogger(__name__)


@dataclass
class PassReport:
    """What one call did: every run, what the alert stage decided, what was delivered,
    and what a person should hear about (alert stages that failed, missed windows)."""

    runs: list[RunResult] = field(default_factory=list)
    alerts: list[PassSummary] = field(default_factory=list)  # per fire time
    delivery: DrainReport | None = None  # the outbox drain after the last pass
    errors: list[str] = field(default_factory=list)  # alert stages that failed
    gaps: list[str] = field(default_factory=list)  # missed windows beyond the catch-up horizon
    # Per monitor: every scheduled window up to this T is done or aborted-and-noted.
    settled_through: dict[str, datetime] = field(default_factory=dict)

    @property
    def statuses(self) -> dict[str, int]:
        """How many runs ended in each status (a matured window run again counts as
        `rerun`, or `unrecorded` when it failed)."""
        counts: dict[str, int] = {}
        for r in self.runs:
            status = "rerun" if r.rerun and r.recorded else r.status
            counts[status] = counts.get(status, 0) + 1
        return counts

    @property
    def replayed(self) -> list[str]:
        """Monitors whose alerts were already evaluated past a pass's T."""
        return sorted({m for p in self.alerts for m in p.replayed})


class Runner:
    def __init__(
        self,
        config: Config,
        notifiers: Sequence[Notifier] | None = None,
        stopping: threading.Event | None = None,
    ):
        """`notifiers` default to those `notify:` and the environment enable; `stopping`
        (the daemon's stop event) makes passes start nothing new once set."""
        self.config = config
        self._checks: dict[str, Check] | None = None
        self._notifiers = list(notifiers) if notifiers is not None else None
        self.stopping = stopping or threading.Event()
        self.guard = QueryGuard()  # `cancel()` stops the running query
        self._built_for: datetime | None = None  # the latest T a dbt build ran for

    @property
    def notifiers(self) -> list[Notifier]:
        if self._notifiers is None:
            self._notifiers = notifiers_for(self.config)
        return self._notifiers

    @property
    def checks(self) -> dict[str, Check]:
        if self._checks is None:
            self._checks = discover_checks(self.config.check_dirs)
        return self._checks

    # ------------------------------------------------------------------ entry points

    def run(
        self,
        monitors: Iterable[str] | None = None,
        at: datetime | None = None,
        trigger: str = "manual",
        build: bool = True,
        notify: bool = True,
    ) -> PassReport:
        """One pass at time `at` (default: now) over the selected monitors."""
        at = at or datetime.now(UTC)
        runs = plan.at_time(plan.select(self.config, monitors), at)
        return self._execute(runs, trigger, build, notify=notify)

    def run_scheduled(
        self,
        monitors: Iterable[str] | None = None,
        now: datetime | None = None,
        horizon: timedelta | None = None,
        after: dict[str, datetime] | None = None,
        force: bool = False,
        build: bool = True,
        notify: bool = True,
    ) -> PassReport:
        """Scheduled runs (the daemon's jobs, cron's `monitor run`): every window the
        schedule produced up to `now` that the run ledger does not have as done, back
        to `horizon` (default `daemon.catch_up_horizon`), oldest first, each claimed
        before it runs so that no window runs twice. A monitor that never ran on a
        schedule starts with its latest window. `after` narrows the search per
        monitor (the daemon's cursor); `force` runs the latest window again even if
        it is done."""
        now = now or datetime.now(UTC)
        horizon = horizon or self.config.daemon.catch_up_horizon
        selected = plan.select(self.config, monitors)
        names = [m.name for m in selected]
        with state_database(self.config) as db:
            store = StateStore(db, self.config.state.schema_)
            candidates, gaps = plan.scheduled_candidates(
                selected, store.scheduled_span(names), now, horizon, after or {}, force
            )
            if candidates and not force:
                since = min(p.run_at for p in candidates) - TICK
                candidates = plan.not_done(candidates, store.ledger(names, since))
        due = plan.ordered(candidates, self.checks)
        if not due:
            return PassReport(gaps=gaps, settled_through={m.name: now for m in selected})
        latest = max(p.run_at for p in due)
        build = build and (self._built_for is None or latest > self._built_for)
        report = self._execute(due, "schedule", build, notify=notify, claim=True, force=force)
        if build:
            self._built_for = latest
        report.gaps = gaps
        for m in selected:  # the oldest window left for later (run elsewhere, aborted)
            left = [  # (a matured window whose second run failed is tried again anyway)
                r.run_at
                for r in report.runs
                if r.monitor == m.name and not r.recorded and r.run_at and not r.rerun
            ]
            report.settled_through[m.name] = min(left) - TICK if left else now
        return report

    def backfill(
        self,
        first_day: date,
        last_day: date,
        monitors: Iterable[str] | None = None,
        build: bool = True,
        progress: Callable[[RunResult], None] | None = None,
        notify: bool = False,
    ) -> PassReport:
        """Every window starting within [first_day, last_day], as scheduled: pass by pass
        in fire-time order, so the alert lifecycle sees history as it happened. Alert
        states are kept either way; notifications only with `notify`."""
        selected = plan.select(self.config, monitors)
        runs = plan.backfill_plan(selected, first_day, last_day, self.checks)
        return self._execute(runs, "backfill", build, progress, notify)

    def cancel(self) -> None:
        """Stop the running query now (the daemon's stop deadline passed)."""
        self.guard.cancel()

    def deliver(self, store: StateStore, force: bool = False) -> DrainReport:
        """Drain the outbox through this runner's notifiers."""
        return drain(AlertStore(store), self.notifiers, self.config.notify.max_backoff, force=force)

    def deliver_patiently(
        self, force: bool = False, first: DrainReport | None = None
    ) -> DrainReport:
        """Keep draining until nothing waits that this process could deliver, or
        `notify.deliver_within` has passed: what one-shot verbs do, since their next
        drain is the next invocation (the daemon retries in the background instead).
        The state store is opened per attempt, so a daemon beside it can write between;
        an attempt that cannot open it (locked by a backfill, a blip of the server)
        counts as one more failed attempt, after the first: that one raises, so a store
        that is simply not there is an error at once, not after deliver_within.
        `first` is the drain a pass already made (its report counts as the first try)."""
        last: list[DrainReport] = []

        def once(forced: bool) -> DrainReport:
            try:
                with state_database(self.config) as db:
                    report = self.deliver(StateStore(db, self.config.state.schema_), forced)
            except MonitorError as exc:
                if not last:
                    raise
                error = f"the outbox could not be read: {exc}"
                report = DrainReport(waiting=max(1, last[-1].waiting), errors=[error])
            last.append(report)
            return report

        first = None if force else first
        if first is not None:
            last.append(first)
        return drain_until(once, self.config.notify.deliver_within, first)

    # ------------------------------------------------------------------ execution

    def _execute(
        self,
        runs: list[Planned],
        trigger: str,
        build: bool,
        progress: Callable[[RunResult], None] | None = None,
        notify: bool = True,
        claim: bool = False,
        force: bool = False,
    ) -> PassReport:
        """Run the plan pass by pass (one fire time each); after each pass, the alert
        stage; after all of them, deliver what the outbox holds. With `claim`, each
        window is claimed in the run ledger first and skipped if it is taken."""
        build_error: str | None = None
        if build and self.config.dbt and self.config.dbt.build_before_checks:
            try:
                dbt.build(self.config)
            except MonitorError as exc:
                build_error = str(exc)
        report = PassReport()
        ledgered = trigger in ("schedule", "backfill")
        cache = CompileCache()  # a monitor's later windows reuse its first one's SQL
        budgets = SpanBudgets.of([(p.monitor, p.window) for p in runs])
        with (
            connect(self.config.warehouse) as wh,
            state_database(self.config, warehouse=wh) as db,
            contextlib.closing(_Workers(self.config, wh, self.cancel)) as workers,
        ):
            store = StateStore(db, self.config.state.schema_)
            for run_at, group in itertools.groupby(runs, key=lambda p: p.run_at):
                # Each window is claimed and computed, one after another or
                # `warehouse.connections` at a time; then the pass's runs are recorded in
                # one write (_record).
                slots = [
                    _Slot(m, w, LedgerMark(run_at, trigger, OWNER) if ledgered else None)
                    for m, w, _ in group
                ]
                compute = functools.partial(
                    self._compute, store=store, run_at=run_at, trigger=trigger, claim=claim,
                    force=force, build_error=build_error, cache=cache, budgets=budgets,
                )  # fmt: skip
                workers.run(compute, slots)
                # A cancelled run (aborted) is not recorded.
                done = [s for s in slots if s.started is not None and s.outcome.status != "aborted"]
                recorded = self._record(
                    store, [(s.outcome, s.monitor, s.started or 0.0) for s in done], run_at, trigger
                )
                for slot, result in zip(done, recorded, strict=True):
                    slot.result = result
                outcomes = []
                ran: list[tuple[str, Window, LedgerMark, str, str]] = []
                for slot in slots:
                    monitor, window, mark = slot.monitor, slot.window, slot.mark
                    if slot.result is None:  # stopped before it was claimed
                        result = self._abort(store, monitor, window, run_at, mark, False)
                    else:
                        result = slot.result
                        if slot.started is not None and not result.recorded:
                            # cancelled, or its results not written: it runs again
                            self._abort(store, monitor, window, run_at, mark, slot.claimed, result)
                    result.run_at = run_at
                    report.runs.append(result)
                    if result.recorded:
                        outcomes.append(self._outcome(monitor, result))
                        if mark is not None and result.run_id:
                            ran.append((monitor.name, window, mark, result.run_id, result.status))
                    if progress:
                        progress(result)
                if outcomes and self._alert(store, outcomes, run_at, trigger, notify, report):
                    store.finish(ran, datetime.now(UTC))
                else:  # the alerts were not evaluated: the next start runs these again
                    for name, window, mark, _, _ in ran:
                        store.abort(
                            name, window, mark, "alert stage failed", datetime.now(UTC), claim
                        )
                for monitor, window in self._matured(store, report.runs, run_at):
                    if self.stopping.is_set():
                        break
                    result = self._rerun(wh, store, monitor, window, run_at, trigger, cache)
                    report.runs.append(result)
                    if progress:
                        progress(result)
            if notify:
                report.delivery = self.deliver(store)
        return report

    def _compute(
        self,
        slot: _Slot,
        warehouse: Callable[[], Warehouse],
        *,
        store: StateStore,
        run_at: datetime,
        trigger: str,
        claim: bool,
        force: bool,
        build_error: str | None,
        cache: CompileCache,
        budgets: SpanBudgets,
    ) -> None:
        """Claim a slot's window (with `claim`) and execute its monitor on the warehouse
        it is given, not recorded yet. A stop leaves it unclaimed (result None); a
        window taken elsewhere is skipped; a failed dbt build fails every monitor; a
        connection of its own that cannot be opened aborts it (it runs again)."""
        monitor, window = slot.monitor, slot.window
        if self.stopping.is_set():
            return
        if claim:
            with store.lock:  # claims from several threads take turns
                taken = self._claim(store, monitor, window, slot.mark, force)
            if taken:
                slot.result = RunResult(monitor.name, window, "skipped", taken)
                return
            slot.claimed = True
        slot.started = time.time()
        if build_error:
            slot.result = RunResult(monitor.name, window, "error", build_error)
            return
        try:
            wh = warehouse()
        except MonitorError as exc:
            error = f"no connection of its own to run on: {exc}"
            slot.result = RunResult(monitor.name, window, "aborted", error)
            return
        result = execute_monitor(
            self.config, self.checks, wh, store, monitor, window, run_at, trigger, self.guard,
            cache, budgets,
        )  # fmt: skip
        result.seconds = time.time() - slot.started
        slot.result = result

    def _matured(
        self, store: StateStore, results: list[RunResult], run_at: datetime
    ) -> list[tuple[MonitorConfig, Window]]:
        """The windows to run again at `run_at`: for each monitor of this pass whose check
        is `rerun_when_mature`, every window that has matured by run_at (its end at least
        label_maturity before), within the catch-up horizon, whose latest run recorded
        rows before it had. A window that never ran is not run this way; one whose run
        again failed is tried at the next pass."""
        out = []
        horizon = self.config.daemon.catch_up_horizon
        ours = (r for r in results if r.run_at == run_at and r.recorded and not r.rerun)
        for name in dict.fromkeys(r.monitor for r in ours):
            monitor = self.config.monitor(name)
            try:
                check = find_check(self.checks, monitor.check)
            except MonitorError:  # recorded as an error run already
                continue
            maturity = self.config.models[monitor.model].label_maturity
            # With lag >= label_maturity a window has matured when it first runs.
            if not check.rerun_when_mature or monitor.lag >= maturity:
                continue
            matured_by = run_at - maturity
            for window in store.unripe_windows(name, matured_by - horizon, matured_by, maturity):
                out.append((monitor, window))
        return out

    def _rerun(
        self,
        wh: Warehouse,
        store: StateStore,
        monitor: MonitorConfig,
        window: Window,
        run_at: datetime,
        trigger: str,
        cache: CompileCache,
    ) -> RunResult:
        """Run a past window again with its matured labels and replace its rows. It does
        not alert (the window alerted, or not, when it ran) and a failure keeps the rows
        it had."""
        started = time.time()
        result = execute_monitor(
            self.config, self.checks, wh, store, monitor, window, run_at, trigger, self.guard,
            cache,
        )  # fmt: skip
        result.seconds = time.time() - started
        result.rerun = True
        if result.status == "error":
            log.warning("%s: the matured window %s was not run again: %s",
                        monitor.name, window, result.error)  # fmt: skip
            result.status = "unrecorded"
            result.error = f"the matured window was not run again (its rows kept): {result.error}"
        elif result.status != "aborted":
            (result,) = self._record(store, [(result, monitor, started)], run_at, trigger)
            result.rerun = True
        result.run_at = run_at
        return result

    def _claim(
        self,
        store: StateStore,
        monitor: MonitorConfig,
        window: Window,
        mark: LedgerMark | None,
        force: bool,
    ) -> str | None:
        """Claim the window; None when claimed, else why it is not ours to run."""
        assert mark is not None
        now = datetime.now(UTC)
        entry = store.ledger_entry(monitor.name, window)
        rerun = force and entry is not None and entry.status == "done"
        if entry is not None and settled(entry, now, 2 * monitor.query_timeout) and not rerun:
            return _taken(entry)
        if not store.claim(monitor.name, window, mark, entry, now):
            latest = store.ledger_entry(monitor.name, window)
            return _taken(latest) if latest else "claimed by another process"
        return None

    def _abort(
        self,
        store: StateStore,
        monitor: MonitorConfig,
        window: Window,
        run_at: datetime,
        mark: LedgerMark | None,
        claimed: bool,
        result: RunResult | None = None,
    ) -> RunResult:
        """A window that did not complete: the next start (or job) runs it again."""
        if result is None:
            result = RunResult(
                monitor.name, window, "aborted", "the daemon stopped before this window ran"
            )
        if mark is not None and (claimed or mark.trigger == "schedule"):
            store.abort(monitor.name, window, mark, result.error or "", datetime.now(UTC), claimed)
        return result

    def _outcome(self, monitor: MonitorConfig, result: RunResult) -> MonitorOutcome:
        try:
            family = find_check(self.checks, monitor.check).family
        except MonitorError:  # an unknown check: its error alert is all there is
            family = ""
        return MonitorOutcome(
            monitor, family, result.window, result.status, result.error, result.rows
        )

    def _alert(
        self,
        store: StateStore,
        outcomes: list[MonitorOutcome],
        run_at: datetime,
        trigger: str,
        notify: bool,
        report: PassReport,
    ) -> bool:
        """The alert stage of one pass; a failure is reported (False), and the pass's
        metrics stay recorded (the window runs again, and its alerts are evaluated)."""
        names = [n.name for n in self.notifiers] if notify else None
        try:
            summary = process_pass(
                AlertStore(store), self.config, outcomes, run_at, trigger, names, datetime.now(UTC)
            )
        except MonitorError as exc:
            log.error("alert stage at %s failed: %s", run_at, exc)
            report.errors.append(f"alert stage at {run_at:%Y-%m-%d %H:%M}: {exc}")
            return False
        report.alerts.append(summary)
        return True

    def _record(
        self,
        store: StateStore,
        runs: list[tuple[RunResult, MonitorConfig, float]],
        run_at: datetime,
        trigger: str,
    ) -> list[RunResult]:
        """Record runs (result, monitor, start time) in one write and log their lines. If
        the write fails, each run is written on its own, so one bad run leaves the others
        recorded; one that still fails comes back `unrecorded` (its claim is then
        aborted, so it runs again)."""
        if not runs:
            return []
        writes = []
        for result, monitor, started in runs:
            run_id = uuid.uuid4().hex
            metric_rows = None
            if result.status != "error":
                metric_rows = [
                    {
                        **row.as_dict(),
                        "run_id": run_id,
                        "monitor": monitor.name,
                        "check": monitor.check,
                        "model": monitor.model,
                        "window_start": result.window.start,
                        "window_end": result.window.end,
                    }
                    for row in result.rows
                ]
            record = RunRecord(
                run_id=run_id,
                monitor=result.monitor,
                window_start=result.window.start,
                window_end=result.window.end,
                started_at=datetime.fromtimestamp(started, UTC),
                finished_at=datetime.fromtimestamp(started + result.seconds, UTC),
                status=result.status,
                error=result.error,
                trigger=trigger,
                row_count=len(result.rows),
                run_at=run_at,
            )
            writes.append(
                (record, metric_rows, result.bin_specs if metric_rows is not None else [])
            )
        try:
            store.record_runs(writes)
        except MonitorError as exc:
            if len(runs) > 1:
                return [r for run in runs for r in self._record(store, [run], run_at, trigger)]
            failed = runs[0][0]
            log.error("monitor %s: could not write results: %s", failed.monitor, exc)
            error = f"could not write results: {exc}"
            return [
                RunResult(failed.monitor, failed.window, "unrecorded", error,
                          rows=failed.rows, seconds=failed.seconds)
            ]  # fmt: skip
        for (result, _, started), (record, _, _) in zip(runs, writes, strict=True):
            result.run_id = record.run_id
            _log_run(result, run_at, trigger, started)
        return [result for result, _, _ in runs]


@dataclass
class _Slot:
    """One planned run of a pass: `result` None while not run (or when a stop came
    first), `started` set once it was claimed and computed."""

    monitor: MonitorConfig
    window: Window
    mark: LedgerMark | None
    claimed: bool = False
    result: RunResult | None = None
    started: float | None = None

    @property
    def outcome(self) -> RunResult:
        assert self.result is not None, "a slot read before it ran"
        return self.result


class _Workers:
    """Computes a pass's claimed windows: one after another on the pass's connection, or
    `warehouse.connections` at a time, each thread on a connection of its own (opened on
    its first window, closed with the pass). Their claims and store reads take turns
    (StateStore.lock); recording and the alert stage stay on the calling thread."""

    def __init__(self, config: Config, wh: Warehouse, interrupt: Callable[[], None]):
        self.config = config
        self.wh = wh
        self.interrupt = interrupt  # stops the queries running (Ctrl-C, the daemon's stop)
        self.size = config.warehouse.connections
        self._local = threading.local()
        self._opened: list[Warehouse] = []
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def run(self, fn: Callable[[_Slot, Callable[[], Warehouse]], None], slots: list[_Slot]) -> None:
        if self.size == 1 or len(slots) < 2:
            for slot in slots:
                fn(slot, lambda: self.wh)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.size, thread_name_prefix="monitor-run")
        futures = [self._pool.submit(fn, slot, self._connection) for slot in slots]
        try:
            for future in futures:
                future.result()  # a bug in one raises here, as it would have inline
        except BaseException as exc:
            for future in futures:
                future.cancel()  # the ones not started yet
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                self.interrupt()  # and the queries running, as inline
            raise

    def _connection(self) -> Warehouse:
        wh: Warehouse | None = getattr(self._local, "wh", None)
        if wh is None:
            wh = connect(self.config.warehouse)
            self._local.wh = wh
            with self._lock:
                self._opened.append(wh)
        return wh

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        for wh in self._opened:
            wh.close()


def _log_run(result: RunResult, run_at: datetime, trigger: str, started: float) -> None:
    """The run's log line (event `run`), once it is recorded."""
    fields = {
        "event": "run",
        "monitor": result.monitor,
        "window_start": result.window.start.isoformat(),
        "window_end": result.window.end.isoformat(),
        "run_at": run_at.isoformat(),
        "trigger": trigger,
        "status": result.status,
        "rows": len(result.rows),
        "duration_s": round(result.seconds, 3),
        "started_at": datetime.fromtimestamp(started, UTC).isoformat(),
        "error": result.error,
    }
    log.info(
        "run monitor=%s window=%s status=%s rows=%d seconds=%.3f",
        result.monitor, result.window, result.status, len(result.rows), result.seconds,
        extra={"fields": fields},
    )  # fmt: skip


def _taken(entry: LedgerEntry) -> str:
    who = "this process" if entry.owner == OWNER else entry.owner
    if entry.status == "done":
        return f"already run ({entry.trigger}, {entry.run_status}) at {entry.finished_at:%Y-%m-%d %H:%M:%S} UTC"
    return f"being run by {who} since {entry.claimed_at:%Y-%m-%d %H:%M:%S} UTC"
