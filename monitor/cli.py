"""`monitor ...`: the command line. Every verb only calls the runner or the checks.

One error boundary (``main``): a MonitorError prints its message in red and exits 1;
``--debug`` shows the traceback instead. Every verb takes ``--config``.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import math
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from monitor import __version__, dbt, plan
from monitor import demo as demo_world
from monitor import init as init_config
from monitor.alerts.delivery import pending_summary
from monitor.alerts.persistence import AlertStore
from monitor.alerts.silences import make_silence
from monitor.backtest import backtest
from monitor.check_tests import CaseResult, run_check_tests
from monitor.checks import discover_checks, find_check
from monitor.compare import Comparison, compare
from monitor.config import Config, DuckDBWarehouse, json_schema, load_config
from monitor.durations import format_duration, parse_duration
from monitor.errors import CheckError, MonitorError
from monitor.evidence import MetricRow
from monitor.execute import RunResult, compile_monitor
from monitor.logs import use_json_logs
from monitor.notify.message import number
from monitor.report import html as report_html
from monitor.report import page as report_page
from monitor.report.data import alert_docs, json_value, realized_beside, worst_first
from monitor.runner import PassReport, Runner
from monitor.scheduler import run_daemon
from monitor.store import StateStore
from monitor.timeline import Episode, episodes
from monitor.validate import validate as validate_config
from monitor.warehouse import state_database, state_missing
from monitor.windows import window_for

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="SQL Drift Monitor: model monitoring computed inside the warehouse.",
)
# Off a terminal (CI logs, pipes) rich would wrap at 80 columns; tables need more.
console = Console(highlight=False, emoji=False, width=None if sys.stdout.isatty() else 160)
err_console = Console(
    stderr=True, highlight=False, emoji=False, soft_wrap=True
)  # errors stay one line
_debug = {"on": False}

ConfigOpt = Annotated[
    Path,
    typer.Option("--config", "-c", envvar="MONITOR_CONFIG", help="Path to alerts.yaml."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead.")]
LogFormat = Literal["text", "json"]
MonitorOpt = Annotated[
    list[str] | None, typer.Option("--monitor", "-m", help="Monitor name (repeatable).")
]


def _print_version(value: bool) -> None:
    if value:
        console.print(f"sql-drift-monitor {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    _debug["on"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


def parse_time(text: str) -> datetime:
    """ISO date or datetime; naive means UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MonitorError(
            f"cannot read time {text!r}: use ISO format, e.g. 2026-09-30 or 2026-09-30T06:00"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _period_end(text: str) -> datetime:
    """A time, or a day meaning through its end (`--to 2026-10-06` includes the 6th)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return parse_time(text)
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise MonitorError(f"cannot read date {text!r}: use YYYY-MM-DD") from None


FullRefreshOpt = Annotated[
    bool,
    typer.Option(
        "--full-refresh",
        help="Rebuild the marts from the raw logs first (after rows were deleted from a log).",
    ),
]


def _full_refresh(cfg: Config, full_refresh: bool, no_build: bool) -> bool:
    """With --full-refresh, rebuild the marts now; returns whether the pass skips its
    own build (it does after a full refresh: the marts are as new as they get)."""
    if not full_refresh:
        return no_build
    if no_build:
        raise MonitorError("--full-refresh rebuilds the marts: it cannot go with --no-build")
    if cfg.dbt is None:
        raise MonitorError("--full-refresh rebuilds the dbt marts, but alerts.yaml has no dbt:")
    dbt.build(cfg, full_refresh=True)
    return True


# ------------------------------------------------------------------------------ verbs


@app.command()
def run(
    config: ConfigOpt = Path("alerts.yaml"),
    monitor: MonitorOpt = None,
    at: Annotated[
        str | None, typer.Option(help="Run as if at this UTC time (default: now).")
    ] = None,
    no_build: Annotated[bool, typer.Option("--no-build", help="Skip the dbt build.")] = False,
    full_refresh: FullRefreshOpt = False,
    force: Annotated[
        bool, typer.Option("--force", help="Run the latest window again even if it already ran.")
    ] = False,
    as_json: JsonOpt = False,
    log_format: Annotated[
        LogFormat,
        typer.Option("--log-format", help="json: one JSON object per log line on stderr."),
    ] = "text",
) -> None:
    """One pass over the monitors (for cron). Without --at, each monitor runs the windows
    its schedule produced that have not run yet (the daemon's catch-up rules, so cron
    beside a daemon never runs a window twice); --at T runs the window of time T."""
    if log_format == "json":
        use_json_logs(logging.DEBUG if _debug["on"] else logging.INFO)
    # With --json, stdout carries the one object: the console receiver's messages (and
    # anything else printed on the way) go to stderr, and a failure before any run (a
    # bad config, a store that cannot be opened) is the object's one problem.
    try:
        with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
            cfg = load_config(config)
            no_build = _full_refresh(cfg, full_refresh, no_build)
            runner = Runner(cfg)
            if at:
                report = runner.run(monitor, parse_time(at), "manual", build=not no_build)
            else:
                report = runner.run_scheduled(monitor, force=force, build=not no_build)
                if not report.runs and not as_json:
                    console.print("nothing to run: every scheduled window has run")
            report.delivery = runner.deliver_patiently(first=report.delivery)
    except MonitorError as exc:
        if not as_json or _debug["on"]:
            raise
        problems = problems_of(exc)
        empty: dict[str, Any] = {
            "runs": [],
            "statuses": {},
            "alerts": [],
            "gaps": [],
            "delivery": None,
        }
        print(json.dumps({**empty, "problems": problems}, indent=2))
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(pass_json(report), default=json_value, indent=2))
        _print_undelivered(report, cfg)
    else:
        _print_results(report.runs)
        _print_alerting(report, cfg)
    _exit_for(report)


def problems_of(exc: MonitorError) -> list[str]:
    """An error as the `problems` of a --json object: a config error's each, else one."""
    return getattr(exc, "problems", None) or [str(exc)]


def pass_json(report: PassReport) -> dict[str, Any]:
    """`monitor run --json`: the runs, their statuses, the alerts the pass notified
    about, and every problem a person would have to act on."""
    results = report.runs
    delivery = report.delivery
    problems = [f"{r.monitor} {r.window}: {r.error}" for r in results if r.status in FAILED]
    problems += report.errors
    if delivery is not None and delivery.waiting and not delivery.busy:
        problems.append(f"{delivery.waiting} notification(s) undelivered: {delivery.why_waiting()}")
    return {
        "runs": [
            {
                "monitor": r.monitor,
                "window_start": r.window.start,
                "window_end": r.window.end,
                "status": r.status,
                "error": r.error,
                "run_id": r.run_id,
                "rerun": r.rerun,  # a matured window run again (rerun_when_mature)
                "seconds": round(r.seconds, 3),
                "rows": len(r.rows),
                "breaches": [
                    {
                        k: getattr(b, k)
                        for k in ("segment", "feature", "metric", "value", "threshold", "status")
                    }
                    for b in r.breaches
                ],
            }
            for r in results
        ],
        "statuses": report.statuses,
        "alerts": [
            {
                "action": d.action,
                "reason": d.reason,
                "kind": fp.kind,
                "monitor": fp.monitor,
                "check": fp.check,
                "model": fp.model,
                "segment": fp.segment,
                "feature": fp.feature,
                "metric": fp.metric,
            }
            for p in report.alerts
            for fp, d in p.decisions
            if d.notify
        ],
        "gaps": report.gaps,
        "delivery": None
        if delivery is None
        else {"sent": delivery.sent, "waiting": delivery.waiting, "errors": delivery.errors},
        "problems": problems,
    }


@app.command()
def backfill(
    from_: Annotated[str, typer.Option("--from", help="First day (UTC, YYYY-MM-DD).")],
    to: Annotated[str, typer.Option("--to", help="Last day (UTC, inclusive).")],
    config: ConfigOpt = Path("alerts.yaml"),
    monitor: MonitorOpt = None,
    no_build: Annotated[bool, typer.Option("--no-build", help="Skip the dbt build.")] = False,
    full_refresh: FullRefreshOpt = False,
    notify: Annotated[
        bool, typer.Option("--notify", help="Send the alerts it raises (default: record only).")
    ] = False,
) -> None:
    """Run every window that starts within [--from, --to], as the schedule would have."""
    cfg = load_config(config)
    first, last = parse_day(from_), parse_day(to)
    if last < first:
        raise MonitorError(f"--to {last} is before --from {first}")
    no_build = _full_refresh(cfg, full_refresh, no_build)
    runner = Runner(cfg)
    total = len(plan.backfill_plan(plan.select(cfg, monitor), first, last, runner.checks))
    with Progress(
        TextColumn("backfill"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as bar:
        task = bar.add_task("", total=total)

        def advance(result: RunResult) -> None:
            bar.update(
                task,
                advance=0 if result.rerun else 1,  # a matured window run again was not planned
                description=f"{result.monitor} {result.window.start:%Y-%m-%d %H:%M}",
            )

        report = runner.backfill(
            first, last, monitor, build=not no_build, progress=advance, notify=notify
        )
    if notify:
        report.delivery = runner.deliver_patiently(first=report.delivery)
    _print_summary(report)
    _print_alerting(report, cfg)
    _exit_for(report)


@app.command()
def daemon(
    config: ConfigOpt = Path("alerts.yaml"),
    host: Annotated[
        str | None,
        typer.Option(
            help="Address of the HTTP endpoint (probes, /metrics, /report, /api; default: "
            "daemon.host). Beyond loopback, set daemon.api_token_env or put an "
            "authenticating proxy in front."
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="Port of the HTTP endpoint (probes, /metrics, /report, /api; default: "
            "daemon.port; 0: any free)."
        ),
    ] = None,
) -> None:
    """Run every monitor on its schedule until SIGTERM/SIGINT (SIGHUP reloads alerts.yaml).

    Logs one JSON object per line on stderr; serves /healthz and /metrics."""
    use_json_logs(logging.DEBUG if _debug["on"] else logging.INFO)
    raise typer.Exit(run_daemon(config, host, port))


@app.command(name="backtest")
def backtest_monitor(
    monitor: Annotated[str, typer.Option("--monitor", "-m", help="The monitor to replay.")],
    from_: Annotated[str, typer.Option("--from", help="First day (UTC, YYYY-MM-DD).")],
    to: Annotated[str, typer.Option("--to", help="Last day (UTC, inclusive).")],
    config: ConfigOpt = Path("alerts.yaml"),
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Change a setting, e.g. rules.0.alert=0.2 or for=3 (repeatable)."
        ),
    ] = None,
    recompute: Annotated[
        bool,
        typer.Option(help="Run the check again over the period instead of reading stored rows."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Replay the alert lifecycle over history: which episodes would have fired, when,
    for what and for how long, with the configured settings or with --set changes."""
    cfg = load_config(config)
    first, last = parse_day(from_), parse_day(to)
    result = backtest(cfg, monitor, first, last, set_ or [], recompute)
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
        return
    changes = ", ".join(f"{k}={v}" for k, v in result.overrides.items()) or "as configured"
    console.print(
        f"[bold]{escape(monitor)}[/bold] {first}..{last} ({changes}; {result.windows} windows, "
        f"{result.source} results): [bold]{len(result.episodes)}[/bold] episode(s) would have fired"
    )
    print_timeline(result.episodes)


@app.command()
def validate(config: ConfigOpt = Path("alerts.yaml"), as_json: JsonOpt = False) -> None:
    """Check alerts.yaml, every monitor's check, and the tables and columns they read."""
    try:
        cfg = load_config(config)
        problems, notes = validate_config(cfg)
    except MonitorError as exc:
        if not as_json:
            raise
        problems, notes = problems_of(exc), []
    if as_json:
        report = {"config": str(config), "ok": not problems, "problems": problems, "notes": notes}
        print(json.dumps(report, indent=2))
        if problems:
            raise typer.Exit(1)
        return
    for note in notes:
        console.print(f"[yellow]note[/yellow]: {escape(note)}")
    if problems:
        raise CheckError(f"{len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems))
    console.print(f"[green]ok[/green]: {config} — {len(cfg.monitors)} monitor(s)")


@app.command()
def render(
    check: Annotated[str, typer.Argument(help="Check name, e.g. numeric_drift.")],
    monitor: Annotated[
        str, typer.Option("--monitor", "-m", help="Monitor whose params and model to use.")
    ],
    config: ConfigOpt = Path("alerts.yaml"),
    dialect: Annotated[
        str | None, typer.Option(help="Target dialect (default: the warehouse's).")
    ] = None,
    at: Annotated[str | None, typer.Option(help="Render the window of this time.")] = None,
) -> None:
    """Print the exact SQL a monitor's run would execute."""
    cfg = load_config(config)
    checks = discover_checks(cfg.check_dirs)
    mon = cfg.monitor(monitor)
    found = find_check(checks, check)
    if found.name != find_check(checks, mon.check).name:
        raise MonitorError(f"monitor {mon.name!r} runs check {mon.check!r}, not {check!r}")
    when = parse_time(at) if at else datetime.now(UTC)
    target = dialect or cfg.warehouse.type
    if state_missing(cfg):
        compiled = compile_monitor(cfg, checks, mon, window_for(when, mon), when, target)
    else:
        # Read stored alerts so the baseline matches what a run would use (skip_alerting).
        with state_database(cfg, read_only=True) as db:
            store = StateStore(db, cfg.state.schema_, create=False)
            compiled = compile_monitor(
                cfg, checks, mon, window_for(when, mon), when, target,
                store=store if store.exists() else None,
            )  # fmt: skip
    print(compiled.sql)


@app.command(name="compare")
def compare_models(
    model: Annotated[str, typer.Option("--model", help="Model key in alerts.yaml.")],
    config: ConfigOpt = Path("alerts.yaml"),
    window: Annotated[
        str | None, typer.Option(help="Window length, e.g. 7d (default: models.<m>.compare).")
    ] = None,
    at: Annotated[
        str | None, typer.Option(help="Compare as of this UTC time (default: now).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Shadow against production on the same requests: paired metrics per segment and a
    verdict (promote, hold, reject, not_enough_evidence) with its reasons."""
    cfg = load_config(config)
    length = parse_duration(window) if window else None
    result = compare(cfg, model, parse_time(at) if at else datetime.now(UTC), length)
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
        return
    print_comparison(result)


@app.command(name="report")
def write_report(
    config: ConfigOpt = Path("alerts.yaml"),
    model: Annotated[
        str | None, typer.Option("--model", help="Only this model (default: every model).")
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option("--from", help="Period start, UTC (default: 30 days before --to)."),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            help="Period end, UTC; a date includes its day (default: the newest recorded window)."
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the HTML.")] = Path(
        "report.html"
    ),
) -> None:
    """Write the HTML report: current alerts, each monitor's metrics with thresholds and
    alert episodes, drifted distributions, guardrail slices, the shadow comparison and
    the run history. One self-contained file: it opens offline."""
    cfg = load_config(config)
    until = _period_end(to) if to else None
    since = parse_time(from_) if from_ else None
    report = report_page.build(cfg, model, since, until, read_only=True)
    size = report_html.write(report, out)
    console.print(
        f"wrote {escape(str(out))} ({size / 1e6:.1f} MB): {len(report.alerts) + report.more_alerts} current alert(s), "
        f"{len(report.monitors)} monitor(s), {report.since:%Y-%m-%d %H:%M} – "
        f"{report.until:%Y-%m-%d %H:%M} UTC",
        soft_wrap=True,  # a path broken over lines cannot be pasted
    )


@app.command(name="test")
def run_unit_tests(
    config: ConfigOpt = Path("alerts.yaml"),
    check: Annotated[
        str | None, typer.Option("--check", help="Only this check's tests (default: all).")
    ] = None,
    dialect: Annotated[
        str,
        typer.Option(
            help="duckdb (in memory) or postgres (a throwaway schema on the configured server)."
        ),
    ] = "duckdb",
    every: Annotated[
        bool,
        typer.Option("--all", help="The built-in checks' tests too, beside those of sql_dirs."),
    ] = False,
) -> None:
    """Run the checks' unit tests: the cases of each <check>.tests.yaml beside its check,
    hand-made rows in, the check's rows (or its error) compared with the expected ones.
    The checks of `sql_dirs` (the built-in ones when there are none, or with --all)."""
    cfg = load_config(config)
    started = time.monotonic()
    builtin = every or not cfg.own_check_dirs
    results = run_check_tests(cfg, check, dialect, progress=_print_case, builtin=builtin)
    failed = sum(bool(r.failures) for r in results)
    skipped = sum(r.skipped for r in results)
    colour = "red" if failed else "green"
    checks = len({r.case.check for r in results})
    console.print(
        f"[{colour}]{len(results) - failed - skipped} passed, {failed} failed[/{colour}]"
        + (f", {skipped} skipped (not for {dialect})" if skipped else "")
        + f" ({len(results)} case(s) of {checks} check(s), {dialect}, "
        f"{time.monotonic() - started:.1f}s)"
    )
    if failed:
        raise typer.Exit(1)


@app.command()
def init(
    warehouse: Annotated[
        str, typer.Option(help="A DuckDB file, or a postgresql:// URL, holding the logs.")
    ],
    predictions: Annotated[str, typer.Option(help="The prediction log table.")],
    feedback: Annotated[
        str | None, typer.Option(help="The feedback (outcome) log table, if there is one.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Where to write the config.")] = Path("alerts.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out if it exists.")] = False,
) -> None:
    """Write a starter alerts.yaml from the columns of your own tables."""
    plan = init_config.write(warehouse, predictions, feedback, out, force)
    models = ", ".join(m.key for m in plan.models)
    console.print(
        f"[green]wrote[/green] {escape(str(out))}: model(s) {escape(models)}; "
        f"{len(plan.numeric)} numeric and {len(plan.categorical)} categorical feature(s), "
        f"slices {escape(str(plan.slices))}" + ("; shadow checks" if plan.shadow else "")
    )
    cfg = f" --config {out}" if out != Path("alerts.yaml") else ""
    console.print(f"next: monitor validate{cfg}", soft_wrap=True)
    if plan.first_day and plan.last_day:
        console.print(
            f"then: monitor backfill{cfg} --from {plan.first_day} --to {plan.last_day}",
            soft_wrap=True,
        )


@app.command()
def schema() -> None:
    """Print the JSON Schema (2020-12) of alerts.yaml, for editors and CI
    (docs/configuration.md, "Editors and CI")."""
    print(json.dumps(json_schema(), indent=2))


@app.command(name="list")
def list_checks(config: ConfigOpt = Path("alerts.yaml")) -> None:
    """List the checks found in sql_dirs with their params, metrics and descriptions."""
    cfg = load_config(config)
    table = Table("check", "family", "params", "metrics", "description")
    for c in sorted(discover_checks(cfg.check_dirs).values(), key=lambda c: (c.family, c.name)):
        params = ", ".join(
            f"{p.name}: {p.type}" + ("" if p.required else f" = {p.default!r}")
            for p in c.params.values()
        )
        metrics = ", ".join(c.metrics) or "(not declared)"
        table.add_row(c.name, c.family, params, metrics, c.description.splitlines()[0])
    console.print(table)


FAILED = ("error", "unrecorded")  # run statuses that make a verb exit non-zero
STATES = ("pending", "firing", "recovering", "resolved", "ok", "silenced")


@app.command(name="alerts")
def list_alerts(
    config: ConfigOpt = Path("alerts.yaml"),
    state: Annotated[
        str | None,
        typer.Option(help="Only this state: " + ", ".join(STATES) + " (default: active ones)."),
    ] = None,
    monitor: MonitorOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the alerts as JSON.")] = False,
) -> None:
    """Current alerts: what is pending, firing or recovering, worst first."""
    if state is not None and state not in STATES:
        raise MonitorError(f"unknown state {state!r}; use one of {', '.join(STATES)}")
    cfg = load_config(config)
    with _read_store(cfg) as store:
        alerts = AlertStore(store).alerts(monitors=monitor) if store else []
        pending = AlertStore(store).outbox("pending") if store else []
        # An estimate's alert shows the realized value beside it once labels matured.
        realized = realized_beside(store, alerts) if store else {}
    if state == "silenced":
        alerts = [
            a
            for a in alerts
            if a.state.active and (a.state.suppressed_by or "").startswith("silence")
        ]
    elif state is not None:
        alerts = [a for a in alerts if a.state.state == state]
    else:
        alerts = [a for a in alerts if a.state.active]
    alerts = worst_first(alerts)
    if as_json:
        docs = alert_docs(alerts, realized)
        print(json.dumps(docs, indent=2, default=json_value))
        return
    if not alerts:
        console.print(f"no alerts{f' in state {state}' if state else ' active'}")
    else:
        columns = ["state", "level", "severity", "monitor", "where", "metric", "value"]
        estimates = any(a.state.fingerprint.id in realized for a in alerts)
        columns += ["realized"] if estimates else []
        table = Table(*columns, "threshold", "since (UTC)", "notified", "muted by")
        for a in alerts:
            s = a.state
            colour = {"firing": "red", "pending": "yellow", "recovering": "cyan"}.get(
                s.state, "green"
            )
            beside = [_realized_cell(realized.get(s.fingerprint.id))] if estimates else []
            table.add_row(
                f"[{colour}]{s.state}[/{colour}]", s.level or "-", a.severity,
                escape(s.fingerprint.monitor), escape(s.fingerprint.where()),
                escape(s.fingerprint.metric), number(s.value), *beside, number(s.threshold),
                f"{s.first_seen:%Y-%m-%d %H:%M}" if s.first_seen else "-",
                f"{s.last_notified:%Y-%m-%d %H:%M}" if s.last_notified else "-",
                escape(s.suppressed_by or ""),
            )  # fmt: skip
        console.print(table)
    if pending:
        console.print(f"[yellow]outbox[/yellow]: {escape(pending_summary(pending))}")


def _realized_cell(known: dict[str, Any] | None) -> str:
    """`monitor alerts`' realized column: the value once the window's labels matured."""
    if known is None:  # not an estimate
        return ""
    if known["value"] is not None:
        return number(known["value"])
    return "not matured" if "matured" in (known["reason"] or "") else "n/a"


@contextlib.contextmanager
def _read_store(cfg: Config) -> Iterator[StateStore | None]:
    """The state store read-only, or None when nothing has run yet."""
    if state_missing(cfg):
        yield None
        return
    with state_database(cfg, read_only=True) as db:
        store = StateStore(db, cfg.state.schema_, create=False)
        yield store if store.exists("alerts") else None


@app.command()
def silence(
    monitor: Annotated[str, typer.Option("--monitor", "-m", help="Monitor name or glob.")],
    for_: Annotated[str, typer.Option("--for", help="How long, e.g. 4h, 2d.")],
    reason: Annotated[str, typer.Option(help="Why (shown to whoever finds the silence).")],
    config: ConfigOpt = Path("alerts.yaml"),
    match: Annotated[
        list[str] | None,
        typer.Option(
            help="key=glob on segment, feature, metric, check, model, kind or a "
            "slice column (repeatable; all must match)."
        ),
    ] = None,
    author: Annotated[str | None, typer.Option(help="Who (default: $USER).")] = None,
) -> None:
    """Mute matching alerts' notifications for a while (their lifecycle goes on)."""
    cfg = load_config(config)
    now = datetime.now(UTC)
    s = make_silence(cfg, monitor, match or [], parse_duration(for_), reason,
                     author or getpass.getuser(), now)  # fmt: skip
    with state_database(cfg) as db:
        AlertStore(StateStore(db, cfg.state.schema_)).add_silence(s)
    what = ", ".join(f"{k}={v}" for k, v in s.matchers.items()) or "all alerts"
    console.print(
        f"silence {s.id} mutes {escape(what)} of {escape(s.monitor)} until "
        f"{s.ends_at:%Y-%m-%d %H:%M} UTC"
    )


@app.command(name="silences")
def list_silences(
    config: ConfigOpt = Path("alerts.yaml"),
    all_: Annotated[bool, typer.Option("--all", help="Include expired silences.")] = False,
) -> None:
    """Silences in force (with --all, expired ones too)."""
    cfg = load_config(config)
    now = datetime.now(UTC)
    with _read_store(cfg) as store:
        found = AlertStore(store).silences() if store else []
    shown_ = [s for s in found if all_ or s.ends_at > now]
    if not shown_:
        console.print("no silences" + ("" if all_ else " in force"))
        return
    table = Table("id", "monitor", "matchers", "from (UTC)", "until (UTC)", "author", "reason")
    for s in shown_:
        table.add_row(
            s.id, escape(s.monitor),
            escape(", ".join(f"{k}={v}" for k, v in s.matchers.items()) or "*"),
            f"{s.starts_at:%Y-%m-%d %H:%M}", f"{s.ends_at:%Y-%m-%d %H:%M}",
            escape(s.author), escape(s.reason),
        )  # fmt: skip
    console.print(table)


@app.command()
def unsilence(
    silence_id: Annotated[str, typer.Argument(help="The silence id (see `monitor silences`).")],
    config: ConfigOpt = Path("alerts.yaml"),
) -> None:
    """End a silence now."""
    cfg = load_config(config)
    with state_database(cfg) as db:
        ended = AlertStore(StateStore(db, cfg.state.schema_)).expire_silence(
            silence_id, datetime.now(UTC)
        )
    if not ended:
        raise MonitorError(f"no active silence {silence_id!r} (see `monitor silences --all`)")
    console.print(f"silence {silence_id} ended")


@app.command()
def send(config: ConfigOpt = Path("alerts.yaml")) -> None:
    """Deliver every pending notification now (after an outage), ignoring backoff."""
    cfg = load_config(config)
    drained = Runner(cfg).deliver_patiently(force=True)
    console.print(f"{drained.sent} sent, {drained.waiting} waiting")
    if drained.busy:
        console.print("another process is delivering the outbox now: try again when it is done")
        raise typer.Exit(1)
    for error in drained.errors[-10:]:
        console.print(f"  [red]{escape(error)}[/red]")
    report = PassReport(delivery=drained)
    _print_undelivered(report, cfg)
    _exit_for(report)


@app.command()
def demo(
    config: ConfigOpt = Path("alerts.yaml"),
    days: Annotated[int, typer.Option(min=21, help="Days of history to generate.")] = 35,
    rows_per_day: Annotated[
        int, typer.Option(min=100, help="Requests per weekday (weekends +30%).")
    ] = 4000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Write the demo world, build dbt, backfill every monitor, print the alert timeline."""
    cfg = load_config(config)
    if not isinstance(cfg.warehouse, DuckDBWarehouse):
        raise MonitorError(
            "the demo writes its world into a DuckDB file: use warehouse.type duckdb"
        )
    t0 = time.time()
    counts = demo_world.write_world(cfg.warehouse.path, days, rows_per_day, seed)
    console.print(
        f"wrote {counts['raw_predictions']:,} predictions and {counts['raw_feedback']:,} feedback rows "
        f"into {cfg.warehouse.path} ({time.time() - t0:.1f}s)"
    )
    first, last = demo_world.period(days)
    # Alerts go to Slack when $SLACK_BOT_TOKEN is set, else to the console.
    runner = Runner(cfg)
    report = runner.backfill(first, last, notify=True)
    report.delivery = runner.deliver_patiently(first=report.delivery)
    _print_summary(report)
    _print_alerting(report, cfg)
    inc = demo_world.incidents_for(days)
    console.print(
        f"\nIncidents planted: null spike in account_age_days on {inc.null_spike}; "
        f"amount in cents on {inc.device} {inc.pipeline_break[0]}..{inc.pipeline_break[1]}; "
        f"{inc.flapping_country} traffic flapping around the warn level "
        f"{inc.flapping[0]}..{inc.flapping[1]}; "
        f"shadow v2 blocks {inc.country} {inc.shadow_country[0]}..{inc.shadow_country[1]}."
    )
    with state_database(cfg) as db:
        print_timeline(episodes(AlertStore(StateStore(db, cfg.state.schema_))))
    # Should v2 replace v1? Asked the day after the incident, as a retrain job would.
    at = datetime.combine(inc.shadow_country[1] + timedelta(days=1), datetime.min.time(), UTC)
    for model in (key for key, spec in cfg.models.items() if spec.shadow_pairs):
        verdict = compare(cfg, model, at)
        console.print(f"\n$ monitor compare --model {model} --at {at:%Y-%m-%d}")
        console.print(f"verdict: [bold]{verdict.verdict}[/bold]")
        for reason in verdict.reasons:
            console.print(f"  - {escape(reason)}")
    out = cfg.warehouse.path.parent / "report.html"
    report_html.write(
        report_page.build(cfg, since=datetime.combine(first, datetime.min.time(), UTC)), out
    )
    console.print(f"\nreport: {escape(str(out.resolve()))}", soft_wrap=True)
    console.print(f"done in {time.time() - t0:.1f}s")
    _exit_for(report)


# ---------------------------------------------------------------------------- output


def _print_results(results: list[RunResult]) -> None:
    for r in results:
        colour = {"ok": "green", "no_data": "yellow", "error": "red"}.get(r.status, "cyan")
        again = "  (matured: run again, no alert evaluated)" if r.rerun else ""
        console.print(
            f"[{colour}]{r.status:7}[/{colour}] {r.monitor}  {r.window}  ({r.seconds:.2f}s){again}"
        )
        if r.error:
            console.print(f"         [red]{escape(r.error)}[/red]")
        for b in [] if r.rerun else r.breaches:
            colour = "red" if b.status == "alert" else "yellow"
            console.print(
                f"         [{colour}]{b.status:5}[/{colour}] {escape(describe_breach(b))}"
            )


def _print_case(result: CaseResult) -> None:
    """PASS/FAIL check::case, and under a failure each mismatch on its own line (whole:
    a file:line is copied from it)."""
    if result.skipped:
        engines = ", ".join(result.case.dialects)
        console.print(f"[yellow]SKIP[/yellow] {escape(result.case.title)} (runs on {engines})")
        return
    if result.passed:
        console.print(f"[green]PASS[/green] {escape(result.case.title)}", soft_wrap=True)
        return
    console.print(f"[red]FAIL[/red] {escape(result.case.title)}", soft_wrap=True)
    for failure in result.failures:
        console.print(f"  {escape(failure)}", soft_wrap=True)


def describe_breach(row: MetricRow) -> str:
    """One line a person can act on: where, what, how much against what, on how much
    evidence (e.g. `segment=country=PT positive_rate = 1 vs 0.025 (Δ +0.975) n=204 ...`)."""
    feature = f" feature={row.feature}" if row.feature else ""
    value = row.value if row.value is not None else math.nan  # a breach has a value
    text = f"segment={row.segment}{feature} {row.metric} = {value:.4g}"
    if row.baseline_value is not None:
        text += f" vs {row.baseline_value:.4g} (Δ {value - row.baseline_value:+.4g})"
    if row.sample_size is not None:
        text += f" n={row.sample_size}"
    if row.baseline_size is not None:
        text += f" baseline n={row.baseline_size}"
    if row.q_value is not None:
        text += f" q={row.q_value:.2g}"
    elif row.p_value is not None:
        text += f" p={row.p_value:.2g}"
    if row.threshold is not None:
        text += f" (threshold {row.threshold:.4g})"
    return text


def _print_summary(report: PassReport) -> None:
    statuses = sorted(report.statuses.items())
    console.print("runs: " + ", ".join(f"{n} {s}" for s, n in statuses))
    for r in report.runs:
        if r.status in FAILED:
            console.print(f"[red]{r.status}[/red] {r.monitor} {r.window}: {escape(r.error or '')}")


def print_timeline(eps: list[Episode]) -> None:
    if not eps:
        console.print("\nNo alerts fired.")
        return
    table = Table(title="Alert timeline (UTC)", title_justify="left")
    for col in (
        "first day",
        "last day",
        "state",
        "level",
        "monitor",
        "segment",
        "feature",
        "metric",
        "peak",
        "threshold",
    ):
        table.add_column(col)
    for e in eps:
        colour = "red" if e.status == "alert" else "yellow"
        table.add_row(
            f"{e.start:%Y-%m-%d}",
            f"{e.end - timedelta(microseconds=1):%Y-%m-%d}",
            e.state,
            f"[{colour}]{e.status}[/{colour}]",
            e.monitor,
            e.segment,
            e.feature or "-",
            e.metric,
            number(e.peak_value),
            f"{e.threshold:.4g}" if e.threshold is not None else "-",
        )
    console.print(table)


def _pair(row: MetricRow | None, digits: int = 3) -> str:
    """'shadow vs production' for a paired metric; the value alone for a joint one."""
    if row is None or row.value is None:
        return "-"
    text = f"{row.value:.{digits}f}"
    if row.baseline_value is not None:
        text += f" vs {row.baseline_value:.{digits}f}"
    return text


def _sample_size(row: MetricRow | None) -> str:
    return str(row.sample_size) if row is not None and row.sample_size is not None else "-"


def print_comparison(result: Comparison) -> None:
    """The comparison as tables: one row per segment, the verdict and its reasons."""
    console.print(
        f"[bold]{escape(result.model)}[/bold]: shadow vs production at {result.at:%Y-%m-%d %H:%M} UTC; "
        f"decisions {result.decisions}, matured outcomes {result.outcomes}"
    )
    table = Table(
        "segment", "paired n", "coverage", "disagree", "positive_rate s vs p",
        "labelled n", "accuracy s vs p", "auc s vs p", "log_loss s vs p", "wins/losses",
        title="shadow (s) vs production (p), same requests",
    )  # fmt: skip
    judged = {(f.segment, f.metric): f.kind for f in result.findings}
    for segment, m in sorted(result.segments.items(), key=lambda kv: (kv[0] != "all", kv[0])):

        def cell(
            metric: str, digits: int = 3, seg: str = segment, rows: dict[str, MetricRow] = m
        ) -> str:
            text = escape(_pair(rows.get(metric), digits))
            kind = judged.get((seg, metric))
            return {"regression": f"[red]{text}[/red]", "improvement": f"[green]{text}[/green]",
                    "unresolved": f"[yellow]{text}[/yellow]"}.get(kind or "", text)  # fmt: skip

        wins = m["wins"].value if "wins" in m else None
        losses = m["losses"].value if "losses" in m else None
        table.add_row(
            escape(segment),
            _sample_size(m.get("disagreement_rate")),
            cell("shadow_coverage"),
            cell("disagreement_rate"),
            cell("positive_rate"),
            _sample_size(m.get("accuracy")),
            cell("accuracy"),
            cell("auc"),
            cell("log_loss"),
            f"{wins:.0f}/{losses:.0f}" if wins is not None and losses is not None else "-",
        )
    console.print(table)
    colour = {"promote": "green", "reject": "red"}.get(result.verdict, "yellow")
    console.print(f"verdict: [bold {colour}]{result.verdict}[/bold {colour}]")
    for reason in result.reasons:
        console.print(f"  - {escape(reason)}")


def _print_alerting(report: PassReport, config: Config) -> None:
    """What the alert stage did: replays skipped, stage errors, deliveries; and windows
    missed beyond the catch-up horizon."""
    for gap in report.gaps:
        console.print(f"[yellow]gap[/yellow]: {escape(gap)}")
    replayed = report.replayed
    if replayed:
        console.print(
            f"[yellow]note[/yellow]: alerts of {', '.join(replayed)} were already evaluated "
            "at or after this time; re-running a window updates its metrics, not its alerts"
        )
    for error in report.errors:
        console.print(f"[red]error[/red] {escape(error)}")
    delivery = report.delivery
    if delivery and (delivery.sent or delivery.waiting):
        colour = "red" if delivery.failed else "green"
        console.print(
            f"notifications: [{colour}]{delivery.sent} sent, {delivery.waiting} waiting[/{colour}]"
        )
        for error in delivery.errors[-5:]:
            console.print(f"  [red]{escape(error)}[/red]")
    _print_undelivered(report, config)


def _print_undelivered(report: PassReport, config: Config) -> None:
    """What cron's mail (or the CronJob's log) must show when pages are stuck."""
    delivery = report.delivery
    if delivery is None or not delivery.waiting or delivery.busy:
        return
    within = format_duration(config.notify.deliver_within)
    err_console.print(
        f"[red]undelivered[/red]: {delivery.waiting} notification(s) still waiting after "
        f"{delivery.seconds:.0f}s of retries (notify.deliver_within: {within}; "
        f"{escape(delivery.why_waiting())}). They stay in the outbox: the next run, the daemon "
        f"or `monitor send` delivers them. Exit code {UNDELIVERED}.",
        soft_wrap=True,
    )


UNDELIVERED = 3  # the exit code when notifications are still waiting (docs/operations.md)


def _exit_for(report: PassReport) -> None:
    """3 when notifications could not be delivered (whatever else failed: a page that
    does not arrive is the worst news), 1 when a run or the alert stage failed."""
    delivery = report.delivery
    if delivery is not None and delivery.waiting and not delivery.busy:
        raise typer.Exit(UNDELIVERED)
    if any(r.status in FAILED for r in report.runs) or report.errors:
        raise typer.Exit(1)


def main() -> None:
    """Console entry point and the one error boundary."""
    try:
        # Without standalone mode click returns (not raises) the code of typer.Exit.
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except MonitorError as exc:
        if _debug["on"]:
            raise
        err_console.print(f"[red]error:[/red] {escape(str(exc))}")
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors (typer ships its own click)
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err_console.print(f"[red]error:[/red] {escape(str(exc))}")
        sys.exit(getattr(exc, "exit_code", 2))
