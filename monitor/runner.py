"""One pass over the monitors: window → baseline → render → execute → evaluate → store.

The CLI (and later the scheduler) only call this module. One warehouse connection per
pass, closed afterwards, so the DuckDB file is free between runs. A monitor that fails
is recorded as an `error` run and never stops the others.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from monitor import dbt, stats
from monitor.alerts.delivery import DrainReport, drain, drain_until
from monitor.alerts.persistence import AlertStore
from monitor.alerts.stage import MonitorOutcome, PassSummary, process_pass
from monitor.checks import (
    RESULT_COLUMNS,
    Check,
    CompiledCheck,
    compile_check,
    context_names,
    discover_checks,
    find_check,
    resolve_params,
)
from monitor.config import Config, MonitorConfig
from monitor.cron import cron_schedule
from monitor.durations import format_duration
from monitor.errors import CheckError, MonitorError
from monitor.evaluate import judge
from monitor.ledger import OWNER, LedgerEntry, settled
from monitor.notify import Notifier, notifiers_for
from monitor.store import BinSpec, LedgerMark, RunRecord, StateStore
from monitor.warehouse import Warehouse, connect, state_database
from monitor.windows import (
    BaselineSpec,
    Window,
    baseline_for,
    scheduled_runs,
    scheduled_windows,
    window_for,
)

TICK = timedelta(microseconds=1)
# Monitors of these families run first at a shared fire time, so a freshness or
# volume alert exists before the drift run it should inhibit (monitor/alerts/inhibition.py).
FIRST_FAMILIES = ("quality",)

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What one monitor execution produced (also what the CLI prints)."""

    monitor: str
    window: Window
    status: str  # ok | error | no_data; not recorded: skipped | aborted | unrecorded
    error: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    bin_specs: list[BinSpec] = field(default_factory=list)  # newly fitted, to freeze
    run_at: datetime | None = None
    run_id: str | None = None  # set once recorded

    @property
    def recorded(self) -> bool:
        return self.status in ("ok", "error", "no_data")

    @property
    def breaches(self) -> list[dict[str, Any]]:
        """Rows in warn or alert, worst first: alerts, then the largest change."""
        return sorted(
            (r for r in self.rows if r["status"] in ("warn", "alert")),
            key=lambda r: (r["status"] != "alert", -_change(r), r["segment"], r["feature"]),
        )


def check_context(
    config: Config,
    monitor: MonitorConfig,
    params: dict[str, Any],
    window: Window,
    baseline: BaselineSpec | None,
    run_at: datetime,
    frozen_bins: dict[str, dict[str, list[Any]]] | None = None,
    live: bool = True,
    table_schema: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything a check template can use (see docs/writing-checks.md)."""
    model = config.models[monitor.model]
    return {
        **params,
        "params": params,
        "model": {
            "key": monitor.model,
            "name": config.model_rows_name(monitor.model),
            "predictions": model.predictions,
            "shadow_pairs": model.shadow_pairs,
            "numeric_features": model.features.numeric,
            "categorical_features": model.features.categorical,
            "slices": model.slices,
            "label_maturity_seconds": model.label_maturity.total_seconds(),
            "thresholds": dict(model.thresholds),  # per role; checks default to 0.5
        },
        "monitor": {"name": monitor.name, "min_samples": monitor.min_samples},
        "role": monitor.role,
        "window": {"start": window.start, "end": window.end},
        "baseline": None
        if baseline is None
        else {
            "kind": baseline.kind,
            "table": baseline.table,
            "ranges": [{"start": r.start, "end": r.end} for r in baseline.ranges],
        },
        "run_at": run_at,
        # A prediction is mature at T when ts + label_maturity <= T (docs/configuration.md, "Time").
        "mature_before": run_at - model.label_maturity,
        # A live run looks at the data as it is now; a backfill replays a past window.
        "live": live,
        "frozen_bins": frozen_bins or {},
        # The predictions table's columns now and at this monitor's last snapshot, for
        # checks that read it (the runner looks it up only for those).
        "table_schema": table_schema,
        # Where earlier results are, for checks that compare with the last run.
        "state": {
            "schema": config.state.schema_,
            "metrics": f"{config.state.schema_}.metrics",
        },
    }


def bin_spec_key(monitor: MonitorConfig, check: Check, params: dict[str, Any]) -> str:
    """Identity of a monitor's binning settings: frozen bins apply while it is unchanged.

    Covers the check, the role, the baseline and every param except `columns` and `by`
    (they choose what is binned, not how), so adding a column keeps the other specs.
    """
    settings = {
        "check": check.name,
        "role": monitor.role,
        "params": {k: v for k, v in sorted(params.items()) if k not in ("columns", "by")},
        "baseline": monitor.baseline.model_dump(mode="json") if monitor.baseline else None,
    }
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def fitted_bin_specs(
    rows: list[dict[str, Any]], monitor: MonitorConfig, spec_key: str, window: Window
) -> list[BinSpec]:
    """Specs the check fitted on this baseline (not frozen yet) that are worth freezing.

    A spec is frozen only from at least `min_samples` baseline values in the bins (NULL
    and NaN rows are no evidence of where values fall), so a thin first baseline does
    not fix the bins for good.
    """
    specs: dict[tuple[str, str], BinSpec] = {}  # a column listed twice fits one spec
    for row in rows:
        if not row.get("histogram"):
            continue
        histogram = json.loads(row["histogram"])
        binned = sum(int(n_base) for b, _, n_base in histogram.get("counts", []) if b != -1)
        if histogram.get("frozen") or binned < max(monitor.min_samples, 1):
            continue
        kind = histogram.get("kind")
        items = histogram.get("edges" if kind == "quantile" else "categories")
        if kind not in ("quantile", "top_k") or not isinstance(items, list):
            raise MonitorError(
                f"check {monitor.check}: histogram of {row['segment']}/{row['feature']} "
                "needs kind quantile with 'edges' or kind top_k with 'categories'"
            )
        if kind == "quantile" and not items:
            continue  # a constant baseline has no edges: freezing that would blind PSI for good
        specs[(row["segment"], row["feature"])] = BinSpec(
            monitor.name, spec_key, row["segment"], row["feature"], kind, items, binned, window
        )
    return list(specs.values())


class Runner:
    def __init__(self, config: Config, notifiers: Sequence[Notifier] | None = None):
        """`notifiers` default to those `notify:` and the environment enable."""
        self.config = config
        self._checks: dict[str, Check] | None = None
        self._notifiers = list(notifiers) if notifiers is not None else None
        self.passes: list[PassSummary] = []  # what the alert stage decided, per pass
        self.delivery: DrainReport | None = None  # the outbox drain after the last execution
        self.alert_errors: list[str] = []
        self.gaps: list[str] = []  # missed windows older than the catch-up horizon
        # Per monitor: every scheduled window up to this T is done or aborted-and-noted.
        self.settled_through: dict[str, datetime] = {}
        # Set by the daemon on SIGTERM: start nothing new; `cancel()` stops the query.
        self.stopping = threading.Event()
        self._built_for: datetime | None = None  # the latest T a dbt build ran for
        self._query_lock = threading.Lock()
        self._in_query: Warehouse | None = None
        self._cancelled = False
        self._timed_out = False

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

    def select(self, names: Iterable[str] | None) -> list[MonitorConfig]:
        if not names:
            return list(self.config.monitors)
        return [self.config.monitor(n) for n in names]

    def baseline(
        self, monitor: MonitorConfig, window: Window, store: StateStore | None
    ) -> BaselineSpec | None:
        """The window's baseline; rolling/seasonal ones skip this monitor's alerting windows."""
        spec = baseline_for(window, monitor)
        if spec is None or store is None or not spec.skips_alerting or spec.span is None:
            return spec
        if not getattr(monitor.baseline, "skip_alerting", False):
            return spec
        return spec.without(store.alert_windows(monitor.name, spec.span))

    def compile(
        self,
        monitor: MonitorConfig,
        window: Window,
        run_at: datetime,
        dialect: str,
        store: StateStore | None = None,
        live: bool = True,
        wh: Warehouse | None = None,
    ) -> CompiledCheck:
        """The whole check as one query (what `monitor render` prints)."""
        return self.compile_parts(
            monitor, window, run_at, dialect, store, live, split=False, wh=wh
        )[0]

    def compile_parts(
        self,
        monitor: MonitorConfig,
        window: Window,
        run_at: datetime,
        dialect: str,
        store: StateStore | None = None,
        live: bool = True,
        split: bool = True,
        wh: Warehouse | None = None,
        *,
        frozen_bins: dict[str, dict[str, list[Any]]] | None = None,
        previous_schema: dict[str, str] | None = None,
    ) -> list[CompiledCheck]:
        """The queries to run: one, or one per item of the check's `split` param. A
        check that reads `table_schema` gets the columns from `wh` (or from a short
        read-only connection of its own when none is given).

        `frozen_bins` and `previous_schema` stand in for what the state store would
        give (the bins earlier runs froze, the columns at the last snapshot), so a
        check's unit tests (monitor/check_tests.py) can state them without a store."""
        check = find_check(self.checks, monitor.check)
        params = resolve_params(check, monitor.params)
        baseline = self.baseline(monitor, window, store)
        spec_key = bin_spec_key(monitor, check, params)
        frozen = frozen_bins
        if frozen is None:
            frozen = store.bin_specs(monitor.name, spec_key) if store else {}
        table_schema = None
        if "table_schema" in context_names(check, self.config.check_dirs):
            table_schema = self.table_schema(monitor, window, store, wh, previous_schema)
        param_sets = [params]
        if split and check.split and len(params[check.split]) > 1:
            param_sets = [{**params, check.split: [item]} for item in params[check.split]]
        parts = []
        for p in param_sets:
            context = check_context(
                self.config, monitor, p, window, baseline, run_at, frozen, live, table_schema
            )
            compiled = compile_check(check, context, self.config.check_dirs, dialect)
            parts.append(dataclasses.replace(compiled, spec_key=spec_key))
        return parts

    def table_schema(
        self,
        monitor: MonitorConfig,
        window: Window,
        store: StateStore | None,
        wh: Warehouse | None,
        previous_schema: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The predictions table's (column, TYPE) pairs now, from the warehouse's own
        catalog (Spark has no information_schema), and at the monitor's last snapshot
        before the window, from the state store (which may be another database) unless
        `previous_schema` gives it."""
        table = self.config.models[monitor.model].predictions
        if wh is None:
            with connect(self.config.warehouse, read_only=True) as own:
                current = own.columns(table)
        else:
            current = wh.columns(table)
        previous = previous_schema
        if previous is None:
            previous = store.schema_snapshot(monitor.name, window.end) if store else None
        return {
            "current": [(name, kind.upper()) for name, kind in current],
            "previous": sorted(previous.items()) if previous else None,
        }

    # ------------------------------------------------------------------ entry points

    def run(
        self,
        monitors: Iterable[str] | None = None,
        at: datetime | None = None,
        trigger: str = "manual",
        build: bool = True,
        notify: bool = True,
    ) -> list[RunResult]:
        """One pass at time `at` (default: now) over the selected monitors."""
        at = at or datetime.now(UTC)
        selected = self.select(monitors)
        plan = [(m, window_for(at, m), at) for m in selected]
        return self._execute(plan, trigger, build, notify=notify)

    def run_scheduled(
        self,
        monitors: Iterable[str] | None = None,
        now: datetime | None = None,
        horizon: timedelta | None = None,
        after: dict[str, datetime] | None = None,
        force: bool = False,
        build: bool = True,
        notify: bool = True,
    ) -> list[RunResult]:
        """Scheduled runs (the daemon's jobs, cron's `monitor run`): every window the
        schedule produced up to `now` that the run ledger does not have as done, back
        to `horizon` (default `daemon.catch_up_horizon`), oldest first, each claimed
        before it runs so that no window runs twice. A monitor that never ran on a
        schedule starts with its latest window. `after` narrows the search per
        monitor (the daemon's cursor); `force` runs the latest window again even if
        it is done."""
        now = now or datetime.now(UTC)
        horizon = horizon or self.config.daemon.catch_up_horizon
        selected = self.select(monitors)
        self.gaps = []
        with state_database(self.config) as db:
            store = StateStore(db, self.config.state.schema_)
            plan = self._due(store, selected, now, horizon, after or {}, force)
        if not plan:
            self.settled_through.update({m.name: now for m in selected})
            self.passes, self.alert_errors, self.delivery = [], [], None
            return []
        latest = max(item[2] for item in plan)
        build = build and (self._built_for is None or latest > self._built_for)
        results = self._execute(plan, "schedule", build, notify=notify, claim=True, force=force)
        if build:
            self._built_for = latest
        for m in selected:  # the oldest window left for later (run elsewhere, aborted)
            left = [
                r.run_at for r in results if r.monitor == m.name and not r.recorded and r.run_at
            ]
            self.settled_through[m.name] = min(left) - TICK if left else now
        return results

    def _due(
        self,
        store: StateStore,
        monitors: list[MonitorConfig],
        now: datetime,
        horizon: timedelta,
        after: dict[str, datetime],
        force: bool,
    ) -> list[tuple[MonitorConfig, Window, datetime]]:
        names = [m.name for m in monitors]
        span = store.scheduled_span(names)
        lower = now - horizon
        candidates: list[tuple[MonitorConfig, Window, datetime]] = []
        for m in monitors:
            if force or m.name not in span:  # its latest window only
                latest = cron_schedule(m.schedule, m.timezone).latest_fire(now)
                found = scheduled_runs(m, latest - TICK, latest) if latest else []
            else:
                start = max(lower, span[m.name].first - TICK, after.get(m.name, lower))
                found = scheduled_runs(m, start, now)
                self._note_gap(m, span[m.name].last, lower, horizon)
            candidates += [(m, w, t) for w, t in found]
        if not candidates or force:
            return self._ordered(candidates)
        # Done windows drop out here; one claimed by another process stays in the plan,
        # so it is reported as skipped and looked at again next time.
        ledger = store.ledger(names, min(t for _, _, t in candidates) - TICK)
        return self._ordered(
            [
                (m, w, t)
                for m, w, t in candidates
                if (entry := ledger.get((m.name, w))) is None or entry.status != "done"
            ]
        )

    def _note_gap(
        self, monitor: MonitorConfig, latest: datetime, lower: datetime, horizon: timedelta
    ) -> None:
        """Windows missed before the horizon are not run: say so, and how to run them."""
        cron = cron_schedule(monitor.schedule, monitor.timezone)
        nxt = cron.next_fire(latest)
        if nxt is None or nxt > lower:
            return
        self.gaps.append(
            f"{monitor.name}: windows scheduled from {nxt:%Y-%m-%d %H:%M} to {lower:%Y-%m-%d %H:%M} "
            f"UTC are older than the catch-up horizon ({format_duration(horizon)}) and were not run; "
            f"run `monitor backfill --monitor {monitor.name} --from {nxt:%Y-%m-%d} --to {lower:%Y-%m-%d}`"
        )

    def _ordered(
        self, plan: list[tuple[MonitorConfig, Window, datetime]]
    ) -> list[tuple[MonitorConfig, Window, datetime]]:
        """Fire-time order; at one fire time, quality checks first (see FIRST_FAMILIES)."""
        return sorted(plan, key=lambda item: (item[2], self.rank(item[0]), item[0].name))

    def rank(self, monitor: MonitorConfig) -> int:
        try:
            family = find_check(self.checks, monitor.check).family
        except MonitorError:
            return 1
        return 0 if family in FIRST_FAMILIES else 1

    def cancel(self) -> None:
        """Stop the running query now (the daemon's stop deadline passed)."""
        with self._query_lock:
            self._cancelled = True
            if self._in_query is not None:
                self._in_query.interrupt()

    def backfill(
        self,
        first_day: date,
        last_day: date,
        monitors: Iterable[str] | None = None,
        build: bool = True,
        progress: Callable[[RunResult], None] | None = None,
        notify: bool = False,
    ) -> list[RunResult]:
        """Every window starting within [first_day, last_day], as scheduled: pass by pass
        in fire-time order, so the alert lifecycle sees history as it happened. Alert
        states are kept either way; notifications only with `notify`."""
        plan = self.backfill_plan(first_day, last_day, monitors)
        return self._execute(plan, "backfill", build, progress, notify)

    def backfill_plan(
        self, first_day: date, last_day: date, monitors: Iterable[str] | None = None
    ) -> list[tuple[MonitorConfig, Window, datetime]]:
        """What `backfill` runs (the CLI sizes its progress bar from it)."""
        return self._ordered(
            [
                (m, window, fire)
                for m in self.select(monitors)
                for window, fire in scheduled_windows(first_day, last_day, m)
            ]
        )

    # ------------------------------------------------------------------ execution

    def _execute(
        self,
        plan: list[tuple[MonitorConfig, Window, datetime]],
        trigger: str,
        build: bool,
        progress: Callable[[RunResult], None] | None = None,
        notify: bool = True,
        claim: bool = False,
        force: bool = False,
    ) -> list[RunResult]:
        """Run the plan pass by pass (one fire time each); after each pass, the alert
        stage; after all of them, deliver what the outbox holds. With `claim`, each
        window is claimed in the run ledger first and skipped if it is taken."""
        build_error: str | None = None
        if build and self.config.dbt and self.config.dbt.build_before_checks:
            try:
                dbt.build(self.config)
            except MonitorError as exc:
                build_error = str(exc)
        results = []
        self.passes, self.alert_errors, self.delivery = [], [], None
        ledgered = trigger in ("schedule", "backfill")
        with (
            connect(self.config.warehouse) as wh,
            state_database(self.config, warehouse=wh) as db,
        ):
            store = StateStore(db, self.config.state.schema_)
            for run_at, group in itertools.groupby(plan, key=lambda item: item[2]):
                outcomes = []
                ran: list[tuple[str, Window, LedgerMark, str, str]] = []
                for monitor, window, _ in group:
                    mark = LedgerMark(run_at, trigger, OWNER) if ledgered else None
                    claimed = False
                    if self.stopping.is_set():
                        result = self._abort(store, monitor, window, run_at, mark, claimed)
                    elif claim and (taken := self._claim(store, monitor, window, mark, force)):
                        result = RunResult(monitor.name, window, "skipped", taken)
                    else:
                        claimed = claim
                        if build_error:
                            failed = RunResult(monitor.name, window, "error", build_error)
                            result = self._record(store, failed, run_at, trigger, time.time())
                        else:
                            result = self.run_one(wh, store, monitor, window, run_at, trigger)
                        if not result.recorded:  # cancelled, or its results not written
                            self._abort(store, monitor, window, run_at, mark, claimed, result)
                    result.run_at = run_at
                    results.append(result)
                    if result.recorded:
                        outcomes.append(self._outcome(monitor, result))
                        if mark is not None and result.run_id:
                            ran.append((monitor.name, window, mark, result.run_id, result.status))
                    if progress:
                        progress(result)
                if outcomes and self._alert(store, outcomes, run_at, trigger, notify):
                    store.finish(ran, datetime.now(UTC))
                else:  # the alerts were not evaluated: the next start runs these again
                    for name, window, mark, _, _ in ran:
                        store.abort(
                            name, window, mark, "alert stage failed", datetime.now(UTC), claim
                        )
            if notify:
                self.deliver(store)
        return results

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
            self.alert_errors.append(f"alert stage at {run_at:%Y-%m-%d %H:%M}: {exc}")
            return False
        self.passes.append(summary)
        return True

    def deliver(self, store: StateStore, force: bool = False) -> DrainReport:
        """Drain the outbox through this runner's notifiers."""
        self.delivery = drain(
            AlertStore(store), self.notifiers, self.config.notify.max_backoff, force=force
        )
        return self.delivery

    def deliver_patiently(self, force: bool = False) -> DrainReport:
        """Keep draining until nothing waits that this process could deliver, or
        `notify.deliver_within` has passed: what one-shot verbs do, since their next
        drain is the next invocation (the daemon retries in the background instead).
        The state store is opened per attempt, so a daemon beside it can write between;
        an attempt that cannot open it (locked by a backfill, a blip of the server)
        counts as one more failed attempt, after the first: that one raises, so a store
        that is simply not there is an error at once, not after deliver_within."""
        last: list[DrainReport] = []

        def once(forced: bool) -> DrainReport:
            try:
                with state_database(self.config) as db:
                    store = StateStore(db, self.config.state.schema_)
                    report = drain(
                        AlertStore(store), self.notifiers, self.config.notify.max_backoff,
                        force=forced,
                    )  # fmt: skip
            except MonitorError as exc:
                if not last:
                    raise
                error = f"the outbox could not be read: {exc}"
                report = DrainReport(waiting=max(1, last[-1].waiting), errors=[error])
            last.append(report)
            return report

        first = None if force else self.delivery
        if first is not None:
            last.append(first)
        self.delivery = drain_until(once, self.config.notify.deliver_within, first)
        return self.delivery

    def run_one(
        self,
        wh: Warehouse,
        store: StateStore,
        monitor: MonitorConfig,
        window: Window,
        run_at: datetime,
        trigger: str,
    ) -> RunResult:
        started = time.time()
        log.info(
            "run_start monitor=%s window=%s", monitor.name, window,
            extra={"fields": {
                "event": "run_start", "monitor": monitor.name, "run_at": run_at.isoformat(),
                "window_start": window.start.isoformat(), "window_end": window.end.isoformat(),
                "trigger": trigger,
            }},
        )  # fmt: skip
        try:
            live = trigger != "backfill"
            rows, compiled = self._compute_in_time(wh, monitor, window, run_at, store, live)
            status = judge(rows, monitor)
            specs = fitted_bin_specs(rows, monitor, compiled.spec_key, window)
            result = RunResult(monitor.name, window, status, None, rows, bin_specs=specs)
        except MonitorError as exc:
            if self._cancelled:  # the daemon is stopping: this window runs again at start
                return RunResult(monitor.name, window, "aborted", "cancelled: the daemon stopped")
            error = str(exc)
            if self._timed_out:
                error = (
                    f"query cancelled after {format_duration(monitor.query_timeout)} "
                    f"(the monitor's query_timeout): {exc}"
                )
            result = RunResult(monitor.name, window, "error", error)
        except Exception as exc:  # a bug must not stop the other monitors
            log.exception("monitor %s failed unexpectedly", monitor.name)
            result = RunResult(
                monitor.name, window, "error", f"internal error: {type(exc).__name__}: {exc}"
            )
        return self._record(store, result, run_at, trigger, started, monitor)

    def _compute_in_time(
        self,
        wh: Warehouse,
        monitor: MonitorConfig,
        window: Window,
        run_at: datetime,
        store: StateStore,
        live: bool,
    ) -> tuple[list[dict[str, Any]], CompiledCheck]:
        """`compute`, cancelled when it outlasts the monitor's query_timeout or when the
        daemon's stop deadline passes (`cancel`)."""
        with self._query_lock:
            self._in_query, self._timed_out = wh, False
            if self._cancelled:
                self._in_query = None
                raise MonitorError("cancelled before it started")

        def expire() -> None:
            with self._query_lock:
                if self._in_query is wh:
                    self._timed_out = True
                    wh.interrupt()

        timer = threading.Timer(monitor.query_timeout.total_seconds(), expire)
        timer.daemon = True
        timer.start()
        try:
            return self.compute(wh, monitor, window, run_at, store, live)
        finally:
            timer.cancel()
            with self._query_lock:
                self._in_query = None

    def compute(
        self,
        wh: Warehouse,
        monitor: MonitorConfig,
        window: Window,
        run_at: datetime,
        store: StateStore | None = None,
        live: bool = True,
        *,
        frozen_bins: dict[str, dict[str, list[Any]]] | None = None,
        previous_schema: dict[str, str] | None = None,
    ) -> tuple[list[dict[str, Any]], CompiledCheck]:
        """A check's rows for one window, with p-values, not yet judged or recorded
        (`monitor compare` reads checks this way without writing anything; `monitor
        test` too, with `frozen_bins` and `previous_schema` from the tests file)."""
        parts = self.compile_parts(
            monitor, window, run_at, wh.dialect, store, live, wh=wh,
            frozen_bins=frozen_bins, previous_schema=previous_schema,
        )  # fmt: skip
        rows = []
        for part in parts:
            # A timeout or cancel that landed between two queries stops the next one.
            if self._timed_out or self._cancelled:
                raise MonitorError("cancelled between queries")
            rows += [_normalise(r) for r in wh.execute(part.sql)]
        _check_declared_metrics(parts[0].check, rows)
        stats.fill_p_values(rows)
        return rows, parts[0]

    def _record(
        self,
        store: StateStore,
        result: RunResult,
        run_at: datetime,
        trigger: str,
        started: float,
        monitor: MonitorConfig | None = None,
    ) -> RunResult:
        """Record the run and log its line; if the write fails, say so and go on: the
        result comes back `unrecorded` (its claim is then aborted, so it runs again)."""
        run_id = uuid.uuid4().hex
        finished = time.time()
        result.seconds = finished - started
        metric_rows = None
        if result.status != "error" and monitor is not None:
            metric_rows = [
                {
                    **row,
                    "run_id": run_id,
                    "monitor": monitor.name,
                    "check": monitor.check,
                    "model": monitor.model,
                    "window_start": result.window.start,
                    "window_end": result.window.end,
                }
                for row in result.rows
            ]
        try:
            store.record_run(
                RunRecord(
                    run_id=run_id,
                    monitor=result.monitor,
                    window_start=result.window.start,
                    window_end=result.window.end,
                    started_at=datetime.fromtimestamp(started, UTC),
                    finished_at=datetime.fromtimestamp(finished, UTC),
                    status=result.status,
                    error=result.error,
                    trigger=trigger,
                    row_count=len(result.rows),
                ),
                metric_rows,
                result.bin_specs if metric_rows is not None else (),
            )
        except MonitorError as exc:
            log.error("monitor %s: could not write results: %s", result.monitor, exc)
            return RunResult(
                result.monitor, result.window, "unrecorded", f"could not write results: {exc}",
                result.rows, result.seconds,
            )  # fmt: skip
        result.run_id = run_id
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
        return result


def _taken(entry: LedgerEntry) -> str:
    who = "this process" if entry.owner == OWNER else entry.owner
    if entry.status == "done":
        return f"already run ({entry.trigger}, {entry.run_status}) at {entry.finished_at:%Y-%m-%d %H:%M:%S} UTC"
    return f"being run by {who} since {entry.claimed_at:%Y-%m-%d %H:%M:%S} UTC"


def _change(row: dict[str, Any]) -> float:
    """How far a row moved: |value − baseline_value|, or |value| without a baseline."""
    value, base = row.get("value"), row.get("baseline_value")
    if value is None:
        return 0.0
    return float(abs(value - base) if base is not None else abs(value))


def _check_declared_metrics(check: Check, rows: list[dict[str, Any]]) -> None:
    """A check that declares `metrics` must keep to them: rules and docs rely on the names."""
    if not check.metrics:
        return
    undeclared = sorted({r["metric"] for r in rows} - set(check.metrics))
    if undeclared:
        raise CheckError(
            f"{check.path}: returned metric(s) {', '.join(map(str, undeclared))} "
            f"not declared in its header (metrics: {', '.join(check.metrics)})"
        )


def _normalise(row: dict[str, Any]) -> dict[str, Any]:
    """The contract's row shape; NaN/inf values become NULL (evaluated as no_data)."""
    out = {c: row.get(c) for c in RESULT_COLUMNS}
    for key in ("value", "baseline_value", "p_value", "statistic"):
        v = out[key]
        out[key] = float(v) if v is not None and math.isfinite(float(v)) else None
    for key in ("sample_size", "baseline_size", "dof"):
        n = out[key]
        out[key] = int(n) if n is not None else None
    for key in ("test", "reason", "histogram", "detail"):
        out[key] = str(out[key]) if out[key] is not None else None
    out["segment"] = str(out["segment"]) if out["segment"] is not None else "all"
    out["feature"] = str(out["feature"]) if out["feature"] is not None else ""
    return out
