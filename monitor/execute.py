"""Executing one monitor for one window: compile → query (with a timeout) → normalise
→ p-values → judge. Nothing here records or alerts; the pass (monitor/runner.py)
does that, and `monitor compare`, `backtest`, `test`, `render` and `validate` call
these functions for the piece they need.

`compile_parts` renders the check (Jinja, with the context docs/writing-checks.md
lists), verifies and transpiles it to the warehouse's dialect; `compute` runs it and
returns the rows as the contract shapes them, with p-values; `execute_monitor` adds
the rules' verdicts and the bins worth freezing, and turns every failure into an
`error` result so one broken monitor never stops the others. A `QueryGuard` stops a
query that outlasts the monitor's `query_timeout`, or at once when the daemon stops.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from monitor import day_counts, stats
from monitor.checks import (
    RESULT_COLUMNS,
    Check,
    CompiledCheck,
    compile_check,
    compile_rendered,
    context_names,
    find_check,
    parse_sql,
    render,
    render_macro,
    resolve_params,
    transpile,
)
from monitor.compile_cache import CompileCache
from monitor.config import Config, MonitorConfig
from monitor.day_counts import StoredDays
from monitor.durations import format_duration
from monitor.errors import CheckError, MonitorError, WarehouseError
from monitor.evaluate import judge
from monitor.evidence import MetricRow
from monitor.fit import fit_segments
from monitor.segments import SegmentBudget, SpanBudgets, check_slices, segment_budget
from monitor.store import BinSpec, StateStore
from monitor.store.day_counts import DayCounts
from monitor.warehouse import Warehouse, connect
from monitor.windows import BaselineSpec, Window, baseline_for

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class RunResult:
    """What one monitor execution produced (also what the CLI prints)."""

    monitor: str
    window: Window
    status: str  # ok | error | no_data; not recorded: skipped | aborted | unrecorded
    error: str | None = None
    rows: list[MetricRow] = field(default_factory=list)
    seconds: float = 0.0
    bin_specs: list[BinSpec] = field(default_factory=list)  # newly fitted, to freeze
    run_at: datetime | None = None
    run_id: str | None = None  # set once recorded
    rerun: bool = False  # a past window run again once its labels matured (no alerting)
    notes: list[str] = field(default_factory=list)  # for people: e.g. segments pooled

    @property
    def recorded(self) -> bool:
        return self.status in ("ok", "error", "no_data")

    @property
    def breaches(self) -> list[MetricRow]:
        """Rows in warn or alert, worst first: alerts, then the largest change."""
        return sorted(
            (r for r in self.rows if r.status in ("warn", "alert")),
            key=lambda r: (r.status != "alert", -_change(r), r.segment, r.feature),
        )


def check_context(
    config: Config,
    monitor: MonitorConfig,
    params: dict[str, Any],
    window: Window,
    baseline: BaselineSpec | None,
    run_at: datetime,
    frozen_bins: dict[str, dict[str, Any]] | None = None,
    live: bool = True,
    table_schema: dict[str, Any] | None = None,
    fits: dict[str, dict[str, Any]] | None = None,
    segment_pools: dict[str, list[str]] | None = None,
    wall_clock: datetime | None = None,
    stored_days: StoredDays | None = None,
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
            # A check with `day_counts:` reads the whole days whose counts are stored
            # from `stored` ({counts, guards, monitor, key, days}, or none; the helper
            # stored_counts) and the rest of the ranges, `unstored`, from the rows
            # (monitor/day_counts.py).
            "stored": stored_days.stored if stored_days else None,
            "unstored": [
                {"start": r.start, "end": r.end}
                for r in (stored_days.unstored if stored_days else baseline.ranges)
            ],
        },
        "run_at": run_at,
        # When the run executes: T itself for a run on time, later for a catch-up or a
        # job that waited (what is "the future" is judged against the later of the two).
        "wall_clock": max(run_at, wall_clock) if wall_clock is not None else run_at,
        # A prediction is mature at T when ts + label_maturity <= T (docs/configuration.md, "Time").
        "mature_before": run_at - model.label_maturity,
        # A live run looks at the data as it is now; a backfill replays a past window.
        "live": live,
        "frozen_bins": frozen_bins or {},
        # A check with `fit:`: its spec per segment, frozen or fitted by this run.
        "fits": fits or {},
        # The slices over the monitor's max_segments: {columns joined by ',': labels
        # kept}; the label macros pool the other rows as `col=<other>`.
        "segment_pools": segment_pools or {},
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
    rows: list[MetricRow], monitor: MonitorConfig, spec_key: str, window: Window
) -> list[BinSpec]:
    """Specs the check fitted on this baseline (not frozen yet) that are worth freezing.

    A spec is frozen only from at least `min_samples` baseline values in the bins (NULL
    and NaN rows are no evidence of where values fall), so a thin first baseline does
    not fix the bins for good.
    """
    specs: dict[tuple[str, str], BinSpec] = {}  # a column listed twice fits one spec
    for row in rows:
        if not row.histogram:
            continue
        histogram = json.loads(row.histogram)
        binned = sum(int(n_base) for b, _, n_base in histogram.get("counts", []) if b != -1)
        if histogram.get("frozen") or binned < max(monitor.min_samples, 1):
            continue
        kind = histogram.get("kind")
        items = histogram.get("edges" if kind == "quantile" else "categories")
        if kind not in ("quantile", "top_k") or not isinstance(items, list):
            raise MonitorError(
                f"check {monitor.check}: histogram of {row.segment}/{row.feature} "
                "needs kind quantile with 'edges' or kind top_k with 'categories'"
            )
        if kind == "quantile" and not items:
            continue  # a constant baseline has no edges: freezing that would blind PSI for good
        specs[(row.segment, row.feature)] = BinSpec(
            monitor.name, spec_key, row.segment, row.feature, kind, items, binned, window
        )
    return list(specs.values())


class QueryGuard:
    """Stops monitors' queries: each when it outlasts its monitor's `query_timeout`, and
    all at once when `cancel()` is called from another thread (the daemon's stop
    deadline passed). After a cancel, no query starts again. Several threads may each
    watch their own queries (a pass running monitors at once): `timed_out` is the
    calling thread's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, Warehouse] = {}  # thread: the warehouse it waits on
        self._timed_out: set[int] = set()  # threads whose latest watch timed out
        self.cancelled = False

    @property
    def timed_out(self) -> bool:
        return threading.get_ident() in self._timed_out

    @property
    def stopped(self) -> bool:
        return self.cancelled or self.timed_out

    @contextlib.contextmanager
    def watch(self, wh: Warehouse, timeout: timedelta) -> Iterator[None]:
        """Interrupt `wh` if the block takes longer than `timeout`."""
        me = threading.get_ident()
        with self._lock:
            self._timed_out.discard(me)
            if self.cancelled:
                raise MonitorError("cancelled before it started")
            self._running[me] = wh

        def expire() -> None:
            with self._lock:
                if self._running.get(me) is wh:
                    self._timed_out.add(me)
                    wh.interrupt()

        timer = threading.Timer(timeout.total_seconds(), expire)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
            with self._lock:
                self._running.pop(me, None)

    def cancel(self) -> None:
        """Stop the running queries now, and every later one."""
        with self._lock:
            self.cancelled = True
            for wh in self._running.values():
                wh.interrupt()


def baseline(
    monitor: MonitorConfig, window: Window, store: StateStore | None
) -> BaselineSpec | None:
    """The window's baseline; rolling/seasonal ones skip this monitor's alerting windows."""
    spec = baseline_for(window, monitor)
    if spec is None or store is None or not spec.skips_alerting or spec.span is None:
        return spec
    if not getattr(monitor.baseline, "skip_alerting", False):
        return spec
    return spec.without(store.alert_windows(monitor.name, spec.span))


def compile_monitor(
    config: Config,
    checks: dict[str, Check],
    monitor: MonitorConfig,
    window: Window,
    run_at: datetime,
    dialect: str,
    *,
    store: StateStore | None = None,
    live: bool = True,
    wh: Warehouse | None = None,
    fit: bool = True,
) -> CompiledCheck:
    """The whole check as one query (what `monitor render` prints)."""
    return compile_parts(
        config, checks, monitor, window, run_at, dialect,
        store=store, live=live, split=False, wh=wh, fit=fit,
    )[0]  # fmt: skip


def compile_parts(
    config: Config,
    checks: dict[str, Check],
    monitor: MonitorConfig,
    window: Window,
    run_at: datetime,
    dialect: str,
    *,
    store: StateStore | None = None,
    live: bool = True,
    split: bool = True,
    wh: Warehouse | None = None,
    frozen_bins: dict[str, dict[str, Any]] | None = None,
    previous_schema: dict[str, str] | None = None,
    cache: CompileCache | None = None,
    fit: bool = True,
    wall_clock: datetime | None = None,
    budgets: SpanBudgets | None = None,
) -> list[CompiledCheck]:
    """The queries to run: one, or one per item of the check's `split` param. A
    check that reads `table_schema` gets the columns from `wh` (or from a short
    read-only connection of its own when none is given), and so does a check with
    `fit:` run its fit query (unless `fit` is False: `monitor validate`).

    `frozen_bins` and `previous_schema` stand in for what the state store would
    give (the bins earlier runs froze, the columns at the last snapshot), so a
    check's unit tests (monitor/check_tests.py) can state them without a store.
    With a `cache`, a window whose rendering differs from an earlier one's only in its
    times reuses that one's parsed and transpiled SQL (monitor/compile_cache.py); with
    `budgets`, the segment budget is asked once per monitor's span (monitor/segments.py)."""
    check = find_check(checks, monitor.check)
    params = resolve_params(check, monitor.params)
    base = baseline(monitor, window, store)
    spec_key = bin_spec_key(monitor, check, params)
    frozen = frozen_bins
    if frozen is None:
        frozen = store.bin_specs(monitor.name, spec_key) if store else {}
    columns = None
    if "table_schema" in context_names(check, config.check_dirs):
        columns = table_schema(config, monitor, window, store, wh, previous_schema)
    budget = SegmentBudget()
    slices = check_slices(check, params, config.models[monitor.model].slices)
    if fit and slices:
        try:
            budget = with_warehouse(
                config,
                wh,
                lambda w: segment_budget(config, check, monitor, slices, window, base, w, budgets),
            )
        except WarehouseError as exc:
            # Unpooled, the check reports it better: its own error for a missing table
            # or column, or none (a shadow check reads its slices from shadow_pairs;
            # `monitor render` without the warehouse prints the SQL unpooled).
            log.warning(
                "segment budget of %s not known, its slices run unpooled: %s", monitor.name, exc,
                extra={"fields": {"event": "segment_budget_failed", "monitor": monitor.name,
                                  "error": str(exc)}},
            )  # fmt: skip
    fits: dict[str, dict[str, Any]] = {}
    new_fits: dict[str, dict[str, Any]] = {}
    if check.fit:
        context = check_context(
            config, monitor, params, window, base, run_at, frozen, live,
            segment_pools=budget.pools, wall_clock=wall_clock,
        )  # fmt: skip
        fits, new_fits = fit_baseline(config, check, params, context, frozen, dialect, wh, fit)
    stored_days = None
    if check.day_counts and not fit:  # `monitor validate`: the day-count query must compile
        context = check_context(config, monitor, params, window, base, run_at, frozen, live)
        sql = render_macro(check, context, config.check_dirs, check.day_counts, [])
        transpile(parse_sql(sql, check), dialect, check, consume=True)
    elif check.day_counts and base is not None and store is not None and wh is not None:
        stored_days = plan_stored_days(
            config, check, monitor, params, window, base, run_at, frozen, live, budget, store, wh
        )
    param_sets = [params]
    if split and check.split and len(params[check.split]) > 1:
        param_sets = [{**params, check.split: [item]} for item in params[check.split]]
    parts = []
    for p in param_sets:
        context = check_context(
            config, monitor, p, window, base, run_at, frozen, live, columns, fits, budget.pools,
            wall_clock, stored_days,
        )  # fmt: skip

        if cache is None:
            compiled = compile_check(check, context, config.check_dirs, dialect)
        else:
            compiled = cache.get(
                (check.path, dialect, tuple(config.check_dirs)),
                context,
                functools.partial(render, check, sql_dirs=config.check_dirs),
                functools.partial(compile_rendered, check, p, dialect=dialect),
            )
        parts.append(
            dataclasses.replace(compiled, spec_key=spec_key, new_fits=new_fits, notes=budget.notes)
        )
    return parts


def plan_stored_days(
    config: Config,
    check: Check,
    monitor: MonitorConfig,
    params: dict[str, Any],
    window: Window,
    base: BaselineSpec,
    run_at: datetime,
    frozen: dict[str, dict[str, Any]],
    live: bool,
    budget: SegmentBudget,
    store: StateStore,
    wh: Warehouse,
) -> StoredDays:
    """Which whole baseline days a `day_counts:` check reads from stored counts: only
    where the state store is the warehouse itself (the check's SQL joins the counts)."""
    if config.state.database is not None:
        return day_counts.unused(base)
    context = check_context(
        config, monitor, params, window, base, run_at, frozen, live, segment_pools=budget.pools
    )
    try:
        counts = DayCounts(store)
        return day_counts.plan(
            config, check, monitor, base, context,
            lambda key: counts.stored(monitor.name, key),
            lambda fill: counts.write(fill, wh), wh,
        )  # fmt: skip
    except MonitorError as exc:  # a cache: the rows give the same results
        log.warning(
            "%s reads its baseline from rows: its stored day counts failed: %s", monitor.name, exc,
            extra={"fields": {"event": "day_counts_failed", "monitor": monitor.name,
                              "error": str(exc)}},
        )  # fmt: skip
        return day_counts.unused(base)


def with_warehouse(config: Config, wh: Warehouse | None, read: Callable[[Warehouse], T]) -> T:
    """`read` on `wh`, or on a short read-only connection of its own when there is
    none (`monitor render` compiles without the runner's connection)."""
    if wh is not None:
        return read(wh)
    with connect(config.warehouse, read_only=True) as own:
        return read(own)


def fit_feature(params: dict[str, Any]) -> str:
    """The `feature` a fitted spec is stored under: the columns it was fitted on, so a
    changed column list fits again (a basis of other columns does not apply)."""
    return ",".join(params.get("columns") or [])


def fit_baseline(
    config: Config,
    check: Check,
    params: dict[str, Any],
    context: dict[str, Any],
    frozen: dict[str, dict[str, Any]],
    dialect: str,
    wh: Warehouse | None,
    run: bool = True,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """A `fit:` check's specs per segment, each with `frozen`: the stored ones, and
    those its fit query finds for the other segments (fitted now, returned apart so
    the run can freeze them). The query is told which segments to leave out. With
    `run` False the query is only rendered and checked (the stored specs alone)."""
    assert check.fit is not None
    stored = frozen.get(fit_feature(params), {})
    rendered = render_macro(check, context, config.check_dirs, check.fit["query"], sorted(stored))
    tree = parse_sql(rendered, check)
    if not run:
        transpile(tree, dialect, check)  # what `monitor validate` checks: it renders for `dialect`
        rows: list[dict[str, Any]] = []
    else:  # without `wh` (`monitor render`, maybe for another dialect) it runs here
        rows = with_warehouse(config, wh, lambda w: w.execute(transpile(tree, w.dialect, check)))
    new = {
        segment: spec
        for segment, spec in fit_segments(check.fit["method"], rows, params).items()
        if segment not in stored
    }
    fits = {segment: {**spec, "frozen": True} for segment, spec in stored.items()}
    fits |= {segment: {**spec, "frozen": False} for segment, spec in new.items()}
    return fits, new


def new_fit_specs(compiled: CompiledCheck, monitor: MonitorConfig, window: Window) -> list[BinSpec]:
    """The specs this run fitted that are worth freezing: those that rest on at least
    `min_samples` baseline values (the method's `support`: for pca, the fewest finite
    values of any column, 0 while one is constant), so a thin first baseline fixes
    nothing, as with the bins."""
    if compiled.check.fit is None:
        return []
    method, feature = compiled.check.fit["method"], fit_feature(compiled.params)
    specs = []
    for segment, spec in compiled.new_fits.items():
        support = spec.get("support") or 0
        if "reason" not in spec and support >= max(monitor.min_samples, 1):
            rows = spec.get("baseline_rows")
            specs.append(
                BinSpec(
                    monitor.name, compiled.spec_key, segment, feature, method, spec, rows, window
                )
            )
    return specs


def table_schema(
    config: Config,
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
    table = config.models[monitor.model].predictions
    current = with_warehouse(config, wh, lambda w: w.columns(table))
    previous = previous_schema
    if previous is None:
        previous = store.schema_snapshot(monitor.name, window.end) if store else None
    return {
        "current": [(name, kind.upper()) for name, kind in current],
        "previous": sorted(previous.items()) if previous else None,
    }


def compute(
    config: Config,
    checks: dict[str, Check],
    wh: Warehouse,
    monitor: MonitorConfig,
    window: Window,
    run_at: datetime,
    *,
    store: StateStore | None = None,
    live: bool = True,
    guard: QueryGuard | None = None,
    frozen_bins: dict[str, dict[str, Any]] | None = None,
    previous_schema: dict[str, str] | None = None,
    cache: CompileCache | None = None,
    wall_clock: datetime | None = None,
    budgets: SpanBudgets | None = None,
) -> tuple[list[MetricRow], CompiledCheck]:
    """A check's rows for one window, with p-values, not yet judged or recorded
    (`monitor compare` reads checks this way without writing anything; `monitor
    test` too, with `frozen_bins` and `previous_schema` from the tests file). With a
    `guard`, a timeout or cancel that landed between two queries stops the next one."""
    parts = compile_parts(
        config, checks, monitor, window, run_at, wh.dialect, store=store, live=live, wh=wh,
        frozen_bins=frozen_bins, previous_schema=previous_schema, cache=cache,
        wall_clock=wall_clock, budgets=budgets,
    )  # fmt: skip
    rows = []
    for part in parts:
        if guard is not None and guard.stopped:
            raise MonitorError("cancelled between queries")
        rows += [_normalise(r) for r in wh.execute(part.sql)]
    _check_declared_metrics(parts[0].check, rows)
    return stats.fill_p_values(rows), parts[0]


def execute_monitor(
    config: Config,
    checks: dict[str, Check],
    wh: Warehouse,
    store: StateStore,
    monitor: MonitorConfig,
    window: Window,
    run_at: datetime,
    trigger: str,
    guard: QueryGuard,
    cache: CompileCache | None = None,
    budgets: SpanBudgets | None = None,
) -> RunResult:
    """One monitor's run, judged, not recorded: `ok`/`no_data` with its rows and the
    bins worth freezing, `error` with the reason, or `aborted` when the guard was
    cancelled (the window runs again at the next start)."""
    log.info(
        "run_start monitor=%s window=%s", monitor.name, window,
        extra={"fields": {
            "event": "run_start", "monitor": monitor.name, "run_at": run_at.isoformat(),
            "window_start": window.start.isoformat(), "window_end": window.end.isoformat(),
            "trigger": trigger,
        }},
    )  # fmt: skip
    try:
        with guard.watch(wh, monitor.query_timeout):
            rows, compiled = compute(
                config, checks, wh, monitor, window, run_at,
                store=store, live=trigger != "backfill", guard=guard, cache=cache,
                wall_clock=datetime.now(UTC), budgets=budgets,
            )  # fmt: skip
        for note in compiled.notes:
            log.warning(
                "segments_pooled monitor=%s: %s", monitor.name, note,
                extra={"fields": {"event": "segments_pooled", "monitor": monitor.name, "note": note}},
            )  # fmt: skip
        judged, status = judge(rows, monitor)
        specs = fitted_bin_specs(judged, monitor, compiled.spec_key, window)
        specs += new_fit_specs(compiled, monitor, window)
        return RunResult(
            monitor.name, window, status, None, judged, bin_specs=specs, notes=compiled.notes
        )
    except MonitorError as exc:
        if guard.cancelled:  # the daemon is stopping: this window runs again at start
            return RunResult(monitor.name, window, "aborted", "cancelled: the daemon stopped")
        error = str(exc)
        if guard.timed_out:
            error = (
                f"query cancelled after {format_duration(monitor.query_timeout)} "
                f"(the monitor's query_timeout): {exc}"
            )
        return RunResult(monitor.name, window, "error", error)
    except Exception as exc:  # a bug must not stop the other monitors
        log.exception("monitor %s failed unexpectedly", monitor.name)
        return RunResult(
            monitor.name, window, "error", f"internal error: {type(exc).__name__}: {exc}"
        )


def _change(row: MetricRow) -> float:
    """How far a row moved: |value − baseline_value|, or |value| without a baseline."""
    value, base = row.value, row.baseline_value
    if value is None:
        return 0.0
    return float(abs(value - base) if base is not None else abs(value))


def _check_declared_metrics(check: Check, rows: list[MetricRow]) -> None:
    """A check that declares `metrics` must keep to them: rules and docs rely on the names."""
    if not check.metrics:
        return
    undeclared = sorted({r.metric for r in rows} - set(check.metrics))
    if undeclared:
        raise CheckError(
            f"{check.path}: returned metric(s) {', '.join(map(str, undeclared))} "
            f"not declared in its header (metrics: {', '.join(check.metrics)})"
        )


def _normalise(row: dict[str, Any]) -> MetricRow:
    """The contract's row shape, typed; NaN/inf values become NULL (judged no_data)."""
    out: dict[str, Any] = {c: row.get(c) for c in RESULT_COLUMNS}
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
    out["metric"] = str(out["metric"])
    return MetricRow(**out)
