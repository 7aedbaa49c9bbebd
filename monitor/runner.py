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
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from monitor import dbt, stats
from monitor.alert_store import AlertStore
from monitor.alerting import MonitorOutcome, PassSummary, process_pass
from monitor.checks import (
    RESULT_COLUMNS,
    Check,
    CompiledCheck,
    compile_check,
    discover_checks,
    find_check,
    resolve_params,
)
from monitor.config import Config, MonitorConfig
from monitor.errors import CheckError, MonitorError
from monitor.evaluate import evaluate
from monitor.notify import Notifier, notifiers_for
from monitor.notify.sender import DrainReport, drain
from monitor.state import BinSpec, RunRecord, StateStore
from monitor.warehouse import Warehouse, connect
from monitor.windows import BaselineSpec, Window, baseline_for, scheduled_windows, window_for

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What one monitor execution produced (also what the CLI prints)."""

    monitor: str
    window: Window
    status: str  # ok | error | no_data
    error: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    bin_specs: list[BinSpec] = field(default_factory=list)  # newly fitted, to freeze

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
        # A prediction is mature at T when ts + label_maturity <= T (DESIGN.md, "Time").
        "mature_before": run_at - model.label_maturity,
        # A live run looks at the data as it is now; a backfill replays a past window.
        "live": live,
        "frozen_bins": frozen_bins or {},
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

    @property
    def notifiers(self) -> list[Notifier]:
        if self._notifiers is None:
            self._notifiers = notifiers_for(self.config)
        return self._notifiers

    @property
    def checks(self) -> dict[str, Check]:
        if self._checks is None:
            self._checks = discover_checks(self.config.sql_dirs)
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
    ) -> CompiledCheck:
        """The whole check as one query (what `monitor render` prints)."""
        return self.compile_parts(monitor, window, run_at, dialect, store, live, split=False)[0]

    def compile_parts(
        self,
        monitor: MonitorConfig,
        window: Window,
        run_at: datetime,
        dialect: str,
        store: StateStore | None = None,
        live: bool = True,
        split: bool = True,
    ) -> list[CompiledCheck]:
        """The queries to run: one, or one per item of the check's `split` param."""
        check = find_check(self.checks, monitor.check)
        params = resolve_params(check, monitor.params)
        baseline = self.baseline(monitor, window, store)
        spec_key = bin_spec_key(monitor, check, params)
        frozen = store.bin_specs(monitor.name, spec_key) if store else {}
        param_sets = [params]
        if split and check.split and len(params[check.split]) > 1:
            param_sets = [{**params, check.split: [item]} for item in params[check.split]]
        parts = []
        for p in param_sets:
            context = check_context(self.config, monitor, p, window, baseline, run_at, frozen, live)
            compiled = compile_check(check, context, self.config.sql_dirs, dialect)
            parts.append(dataclasses.replace(compiled, spec_key=spec_key))
        return parts

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
        plan = [
            (m, window, fire)
            for m in self.select(monitors)
            for window, fire in scheduled_windows(first_day, last_day, m)
        ]
        plan.sort(key=lambda item: (item[2], item[0].name))
        return self._execute(plan, "backfill", build, progress, notify)

    # ------------------------------------------------------------------ execution

    def _execute(
        self,
        plan: list[tuple[MonitorConfig, Window, datetime]],
        trigger: str,
        build: bool,
        progress: Callable[[RunResult], None] | None = None,
        notify: bool = True,
    ) -> list[RunResult]:
        """Run the plan pass by pass (one fire time each); after each pass, the alert
        stage; after all of them, deliver what the outbox holds."""
        build_error: str | None = None
        if build and self.config.dbt and self.config.dbt.build_before_checks:
            try:
                dbt.build(self.config)
            except MonitorError as exc:
                build_error = str(exc)
        results = []
        self.passes, self.alert_errors, self.delivery = [], [], None
        with connect(self.config.warehouse) as wh:
            store = StateStore(wh, self.config.state.schema_)
            for run_at, group in itertools.groupby(plan, key=lambda item: item[2]):
                outcomes = []
                for monitor, window, _ in group:
                    if build_error:
                        result = RunResult(monitor.name, window, "error", build_error)
                        self._record(store, result, run_at, trigger, time.time())
                    else:
                        result = self.run_one(wh, store, monitor, window, run_at, trigger)
                    results.append(result)
                    outcomes.append(self._outcome(monitor, result))
                    if progress:
                        progress(result)
                self._alert(store, outcomes, run_at, trigger, notify)
            if notify:
                self.deliver(store)
        return results

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
    ) -> None:
        """The alert stage of one pass; a failure is reported, and the pass's metrics
        stay recorded (the next run evaluates the alerts again)."""
        names = [n.name for n in self.notifiers] if notify else None
        try:
            summary = process_pass(
                AlertStore(store), self.config, outcomes, run_at, trigger, names, datetime.now(UTC)
            )
        except MonitorError as exc:
            log.error("alert stage at %s failed: %s", run_at, exc)
            self.alert_errors.append(f"alert stage at {run_at:%Y-%m-%d %H:%M}: {exc}")
            return
        self.passes.append(summary)

    def deliver(self, store: StateStore, force: bool = False) -> DrainReport:
        """Drain the outbox through this runner's notifiers."""
        self.delivery = drain(
            AlertStore(store), self.notifiers, self.config.notify.max_backoff, force=force
        )
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
        try:
            live = trigger != "backfill"
            rows, compiled = self.compute(wh, monitor, window, run_at, store, live)
            verdicts = evaluate(rows, monitor)
            for row, v in zip(rows, verdicts, strict=True):
                row.update(
                    status=v.status,
                    threshold=v.threshold,
                    reason=v.reason,
                    q_value=v.q_value,
                    held=v.held,
                    measure=v.measure,
                    direction=v.direction,
                    measured=v.measured,
                )
            status = "ok" if any(r["status"] != "no_data" for r in rows) else "no_data"
            specs = fitted_bin_specs(rows, monitor, compiled.spec_key, window)
            result = RunResult(monitor.name, window, status, None, rows, bin_specs=specs)
        except MonitorError as exc:
            result = RunResult(monitor.name, window, "error", str(exc))
        except Exception as exc:  # a bug must not stop the other monitors
            log.exception("monitor %s failed unexpectedly", monitor.name)
            result = RunResult(
                monitor.name, window, "error", f"internal error: {type(exc).__name__}: {exc}"
            )
        try:
            self._record(store, result, run_at, trigger, started, monitor)
        except MonitorError as exc:  # the results could not be stored: say so, go on
            log.error("monitor %s: could not write results: %s", monitor.name, exc)
            result = RunResult(
                monitor.name, window, "error", f"could not write results: {exc}", result.rows
            )
        return result

    def compute(
        self,
        wh: Warehouse,
        monitor: MonitorConfig,
        window: Window,
        run_at: datetime,
        store: StateStore | None = None,
        live: bool = True,
    ) -> tuple[list[dict[str, Any]], CompiledCheck]:
        """A check's rows for one window, with p-values, not yet judged or recorded
        (`monitor compare` reads checks this way without writing anything)."""
        parts = self.compile_parts(monitor, window, run_at, wh.dialect, store, live)
        rows = [_normalise(r) for part in parts for r in wh.execute(part.sql)]
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
    ) -> None:
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
        log.info(
            "run monitor=%s window=%s status=%s rows=%d seconds=%.3f",
            result.monitor, result.window, result.status, len(result.rows), result.seconds,
        )  # fmt: skip


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
