"""`monitor backtest`: replay the alert lifecycle over history with other settings.

Tune a threshold against history before it pages anyone: take a monitor's stored
results (or recompute them with `--recompute`), judge every window again with the
monitor's rules changed by `--set KEY=VALUE`, and run the same state machine the live
runs use (`alerting.advance`: `for`, `clear`, `keep_firing_for`, no_data, errors),
window by window. The answer is the episodes that would have fired: for what, when,
how long, how bad, and how many windows breached.

Stored results are what the runs recorded: the rows' values, baselines, sample sizes
and p-values, judged again; a window whose latest run failed replays as an error.
Settings that change what the check computes (params, window, baseline, ...) need
`--recompute`, which runs the check over every scheduled window again through a
read-only connection (nothing is written).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import yaml
from pydantic import ValidationError

from monitor.alerts.lifecycle import AlertState
from monitor.alerts.stage import MonitorOutcome, advance
from monitor.checks import Check, discover_checks, find_check
from monitor.config import Config, MonitorConfig
from monitor.cron import cron_schedule
from monitor.errors import MonitorError, did_you_mean
from monitor.evaluate import judge
from monitor.evidence import MetricRow
from monitor.execute import compute
from monitor.store import StateStore
from monitor.timeline import Episode
from monitor.warehouse import connect, state_database, state_missing
from monitor.windows import Window, scheduled_windows, to_utc

# Settings that change what the check computes, not how its rows are judged.
COMPUTED = ("params", "window", "lag", "baseline", "role", "check", "model", "schedule", "timezone")


@dataclass
class Backtest:
    monitor: str
    first_day: date
    last_day: date
    overrides: dict[str, Any]
    source: str  # stored | recomputed
    windows: int
    episodes: list[Episode]
    breaches: dict[tuple[str, int], int]  # (fingerprint id, episode) -> breaching windows

    def as_dict(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat(),
            "overrides": self.overrides,
            "source": self.source,
            "windows": self.windows,
            "episodes": [
                {
                    "monitor": e.monitor,
                    "segment": e.segment,
                    "feature": e.feature,
                    "metric": e.metric,
                    "start": e.start.isoformat(),
                    "end": e.end.isoformat(),
                    "peak_value": e.peak_value,
                    "level": e.status,
                    "state": e.state,
                    "hours": round((e.end - e.start).total_seconds() / 3600, 3),
                }
                for e in self.episodes
            ],
        }


def apply_overrides(
    monitor: MonitorConfig, sets: list[str]
) -> tuple[MonitorConfig, dict[str, Any]]:
    """The monitor with `KEY=VALUE` settings applied (dotted paths, list indexes:
    `rules.0.alert=0.2`, `for=3`); values are YAML. Errors name the key and the fix."""
    doc = monitor.model_dump(by_alias=True, exclude_none=False)
    applied: dict[str, Any] = {}
    for text in sets:
        key, sep, raw = text.partition("=")
        if not sep or not key:
            raise MonitorError(f"--set {text!r}: write KEY=VALUE, e.g. rules.0.alert=0.2")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            raise MonitorError(f"--set {text!r}: the value is not valid YAML") from None
        _assign(doc, key.split("."), value, text)
        applied[key] = value
    try:
        return MonitorConfig.model_validate(doc), applied
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise MonitorError(f"--set makes the monitor invalid: {problems}") from None


def _assign(doc: Any, path: list[str], value: Any, text: str) -> None:
    node = doc
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise MonitorError(
                    f"--set {text!r}: {'.'.join(path[:i]) or 'it'} has {len(node)} item(s); "
                    f"use an index from 0 to {len(node) - 1}"
                )
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            where = ".".join(path[:i])
            if part not in node and not (where == "params" or where.startswith("params.")):
                raise MonitorError(
                    f"--set {text!r}: unknown key {part!r}{' in ' + where if where else ''}"
                    f"{did_you_mean(part, [str(k) for k in node])}"
                )
            if last:
                node[part] = value
            else:
                if node.get(part) is None:
                    node[part] = {}
                node = node[part]
        else:
            raise MonitorError(f"--set {text!r}: {'.'.join(path[:i])} is a value, not a mapping")


def backtest(
    config: Config,
    monitor_name: str,
    first_day: date,
    last_day: date,
    sets: list[str] | None = None,
    recompute: bool = False,
) -> Backtest:
    if last_day < first_day:
        raise MonitorError(f"--to {last_day} is before --from {first_day}")
    configured = config.monitor(monitor_name)
    monitor, overrides = apply_overrides(configured, sets or [])
    changed = sorted({k.split(".")[0] for k in overrides} & set(COMPUTED))
    if changed and not recompute:
        raise MonitorError(
            f"--set {', '.join(changed)} changes what the check computes, so stored results "
            "cannot answer: add --recompute to run the check again over the period"
        )
    checks = discover_checks(config.check_dirs)
    family = find_check(checks, monitor.check).family
    if state_missing(config):
        raise MonitorError("the state database does not exist yet: nothing has run")
    with state_database(config, read_only=True) as db:
        store = StateStore(db, config.state.schema_, create=False)
        if recompute:
            with connect(config.warehouse, read_only=True) as wh:
                history = _recomputed(config, checks, wh, store, monitor, first_day, last_day)
        else:
            history = _stored(store, monitor, first_day, last_day)
    if not history:
        raise MonitorError(
            f"no stored results of {monitor_name} for windows starting {first_day}..{last_day}: "
            "run `monitor backfill` for the period first, or add --recompute"
        )
    episodes, breaches = replay(monitor, family, history)
    source = "recomputed" if recompute else "stored"
    return Backtest(
        monitor_name, first_day, last_day, overrides, source, len(history), episodes, breaches
    )


History = list[tuple[Window, str, str | None, list[MetricRow]]]


def replay(
    monitor: MonitorConfig, family: str, history: History
) -> tuple[list[Episode], dict[tuple[str, int], int]]:
    """Run the lifecycle over (window, status, error, rows) in time order; the episodes
    that reached firing, oldest first, and the breaching windows of each."""
    cron = cron_schedule(monitor.schedule, monitor.timezone)
    states: dict[str, AlertState] = {}
    fired: dict[tuple[str, int], AlertState] = {}  # the latest state of each fired episode
    worst: dict[tuple[str, int], str] = {}
    breaches: dict[tuple[str, int], int] = {}
    for window, status, error, rows in sorted(history, key=lambda h: h[0].end):
        judged = rows
        if status != "error":
            judged, status = judge(rows, monitor)
        # The run time T that produced the window (its first fire time), as a backfill.
        run_at = cron.next_fire(window.end + monitor.lag - timedelta(microseconds=1))
        outcome = MonitorOutcome(monitor, family, window, status, error, judged)
        for fid, state in advance(outcome, states, run_at or window.end).items():
            states[fid] = state
            key = (fid, state.episode)
            if state.last_seen == window.end:  # this window breached
                breaches[key] = breaches.get(key, 0) + 1
                if state.level == "alert" or key not in worst:
                    worst[key] = state.level or "warn"
            if state.state == "firing" or key in fired:
                fired[key] = state
    episodes = []
    for (fid, number), s in fired.items():
        fp = s.fingerprint
        current = states[fid].episode == number
        assert s.first_seen is not None and s.last_seen is not None  # it breached to fire
        episodes.append(
            Episode(
                monitor=fp.monitor,
                segment=fp.segment,
                feature=fp.feature,
                metric=fp.metric,
                start=s.first_seen,
                end=s.last_seen,
                peak_value=s.peak_value,
                threshold=s.threshold,
                status=worst[(fid, number)],
                state=s.state if current else "resolved",
                fingerprint=fid,
            )
        )
    episodes.sort(key=lambda e: (e.start, e.monitor, e.segment, e.feature, e.metric))
    return episodes, breaches


def _stored(store: StateStore, monitor: MonitorConfig, first: date, last: date) -> History:
    """The latest recorded run of each window starting in [first, last], with its rows."""
    lo = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    hi = datetime.combine(last, datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
    runs = store.latest_runs_starting(monitor.name, lo, hi)
    rows_of: dict[tuple[datetime, datetime], list[MetricRow]] = {}
    for r in store.result_rows_starting(monitor.name, lo, hi):
        key = (to_utc(r["window_start"]), to_utc(r["window_end"]))
        rows_of.setdefault(key, []).append(MetricRow.from_mapping(r))
    # Only the windows the schedule produces: a manual `--at` run, or a window of an
    # older `window`/`lag` setting, is not something the live lifecycle would see.
    scheduled = {w for w, _ in scheduled_windows(first, last, monitor)}
    history: History = []
    for run in runs:
        window = Window(to_utc(run["window_start"]), to_utc(run["window_end"]))
        if window not in scheduled:
            continue
        rows = rows_of.get((window.start, window.end), [])
        history.append(
            (window, run["status"], run["error"], rows if run["status"] != "error" else [])
        )
    return history


def _recomputed(
    config: Config,
    checks: dict[str, Check],
    wh: Any,
    store: StateStore,
    monitor: MonitorConfig,
    first: date,
    last: date,
) -> History:
    """Every scheduled window's rows computed again (read-only), not yet judged."""
    history: History = []
    usable = store if store.exists("metrics") else None
    for window, run_at in scheduled_windows(first, last, monitor):
        try:
            rows, _ = compute(config, checks, wh, monitor, window, run_at, store=usable, live=False)
        except MonitorError as exc:
            history.append((window, "error", str(exc), []))
            continue
        history.append((window, "ok", None, rows))
    return history
