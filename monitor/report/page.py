"""What the HTML report shows, gathered from the state store: current alerts, each
monitor's metrics over the period with its thresholds and alert episodes, an alert
card per alert (the Slack link's target), baseline-vs-current distributions from the
recorded bin counts, guardrail slices, the shadow comparison and the run history.

Everything here is data; `monitor.report.html` turns it into the page. Charts are
Vega-Lite specs (`monitor.report.charts`) kept in `Report.charts` by id, so a spec
two cards share is written once.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.alerts.compose import item_of
from monitor.alerts.persistence import AlertStore, StoredAlert
from monitor.compare import compare
from monitor.config import Config, MonitorConfig, Rule
from monitor.errors import MonitorError
from monitor.evaluate import measured, rule_matches
from monitor.evidence import MetricRow
from monitor.notify.message import describe, number
from monitor.report import charts
from monitor.report.data import worst_first
from monitor.store import StateStore, naive_utc
from monitor.timeline import Episode, episodes
from monitor.warehouse import state_database, state_missing
from monitor.windows import clock

DEFAULT_DAYS = 30
CARD_CHART_WIDTH = 540  # beside a distribution in the card
MAX_HIGHLIGHTED = 6  # series drawn in colour per chart; the rest are grey context
# Bounds that keep a page of thousands of segments light: alert cards per monitor (the
# worst; the rest counted, `monitor alerts` lists all) and grey series per chart.
MAX_CARDS = 30
MAX_GREY_SERIES = 40
MAX_SLICE_ROWS = 200
STATUS_RANK = {"alert": 0, "warn": 1, "ok": 2, "no_data": 3}
MEASURE_TITLE = {"value": "", "delta": " Δ vs baseline", "relative_delta": " relative Δ"}


@dataclass
class Chart:
    """A chart's place on the page: its spec's id and a caption."""

    id: str
    title: str


@dataclass
class AlertCard:
    """One alert (fingerprint): the section a Slack message links to (`#alert-<id>`)."""

    fingerprint: str
    monitor: str
    kind: str
    segment: str
    feature: str
    metric: str
    state: str  # pending | firing | recovering | resolved | ok
    level: str | None
    severity: str
    text: str  # what, how much, on what evidence (as the Slack line says it)
    episodes: list[Episode]
    chart: Chart | None = None
    distribution: Chart | None = None


@dataclass
class SliceRow:
    segment: str
    metric: str
    window: str
    n: int | None
    value: float | None
    baseline: float | None
    delta: float | None
    q: float | None
    status: str


@dataclass
class MonitorSection:
    name: str
    model: str
    check: str
    rules: list[str]
    charts: list[Chart]
    cards: list[AlertCard]
    slices: list[SliceRow] | None  # slice_metrics monitors: the guardrail table
    runs: dict[str, int]  # status -> count in the period
    rows: int  # recorded metric rows in the period
    more_cards: int = 0  # alerts of the period past MAX_CARDS, not shown
    more_slices: int = 0  # guardrail rows past MAX_SLICE_ROWS, not shown

    @property
    def anchor(self) -> str:
        return f"monitor-{self.name}"


@dataclass
class ShadowSection:
    model: str
    verdict: str | None
    at: datetime
    reasons: list[str]
    chart: Chart | None
    rows: list[dict[str, Any]]  # per segment and metric: shadow against production
    error: str | None = None


@dataclass
class RunError:
    monitor: str
    window: str
    started_at: datetime
    trigger: str
    error: str


@dataclass
class Report:
    title: str
    since: datetime
    until: datetime
    generated_at: datetime
    models: list[str]
    alerts: list[AlertCard]  # the current ones, worst first (links to their cards)
    monitors: list[MonitorSection]
    shadows: list[ShadowSection]
    run_chart: Chart | None
    run_errors: list[RunError]
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)
    more_alerts: int = 0  # current alerts without a card on the page (past MAX_CARDS)

    def chart(self, key: str, title: str, spec: dict[str, Any]) -> Chart:
        self.charts.setdefault(key, spec)
        return Chart(key, title)


def report_period(
    since: datetime | None, until: datetime | None, newest: datetime | None
) -> tuple[datetime, datetime]:
    """The period to show: `until` defaults to `newest`, the newest recorded window end
    (a report of a paused deployment still shows its last days), `since` to
    DEFAULT_DAYS before."""
    if until is None:
        until = newest or datetime.now(UTC)
    if since is None:
        since = until - timedelta(days=DEFAULT_DAYS)
    if since >= until:
        raise MonitorError(
            f"--from {since:%Y-%m-%d %H:%M} is not before --to {until:%Y-%m-%d %H:%M}"
        )
    return since.astimezone(UTC), until.astimezone(UTC)


def build(
    config: Config,
    model: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
    shadow: bool = True,
    read_only: bool = False,
) -> Report:
    """Everything the report shows for `model` (all models when None) over the period;
    `shadow=False` skips the shadow comparison, the one part that queries the warehouse.
    `read_only` (`monitor report`) opens the state store read-only: it reads from
    read-only media and beside a process that holds it. The daemon, which writes to the
    same DuckDB file in this process, reads it the way it writes."""
    if model is not None and model not in config.models:
        raise MonitorError(
            f"no model {model!r} in {config.path} (models: {', '.join(config.models)})"
        )
    chosen = [m for m in config.monitors if model is None or m.model == model]
    models = [model] if model else sorted({m.model for m in chosen} | set(config.models))
    rows: dict[str, list[dict[str, Any]]] = {m.name: [] for m in chosen}
    if state_missing(config):  # nothing ran yet: an empty report says so
        report = _empty_report(models, *report_period(since, until, None), now)
    else:
        with state_database(config, read_only=read_only) as db:
            store = StateStore(db, config.state.schema_, create=False)
            newest = store.newest_window_end([m.name for m in chosen])
            report = _empty_report(models, *report_period(since, until, newest), now)
            rows = _fill_from_store(report, store, chosen)
    if shadow:
        for key in models:
            if config.models[key].shadow_pairs:
                disagreement = [
                    rows[m.name] for m in chosen
                    if m.model == key and m.check == "shadow_disagreement"
                ]  # fmt: skip
                report.shadows.append(_shadow_section(report, config, key, disagreement))
    return report


def _empty_report(
    models: list[str], since: datetime, until: datetime, now: datetime | None
) -> Report:
    return Report(
        title=f"SQL Drift Monitor · {', '.join(models)}",
        since=since,
        until=until,
        generated_at=now or datetime.now(UTC),
        models=models,
        alerts=[],
        monitors=[],
        shadows=[],
        run_chart=None,
        run_errors=[],
    )


# ----------------------------------------------------------------------- the store


def _fill_from_store(
    report: Report, store: StateStore, chosen: list[MonitorConfig]
) -> dict[str, list[dict[str, Any]]]:
    """Fill the report from the store; returns each monitor's metric rows of the period."""
    names = [m.name for m in chosen]
    alert_store = AlertStore(store)
    has_alerts = store.exists("alerts")
    stored = (
        {a.state.fingerprint.id: a for a in alert_store.alerts(monitors=names)}
        if has_alerts
        else {}
    )
    current = worst_first([a for a in stored.values() if a.state.active])
    in_period = [
        e
        for e in (episodes(alert_store) if has_alerts else [])
        if e.monitor in names and _overlaps(e, report.since, report.until)
    ]
    runs = store.runs_ending(names, report.since, report.until)
    rows_by_monitor = {}
    eps_by_alert: dict[str, list[Episode]] = {}
    for e in in_period:
        eps_by_alert.setdefault(e.fingerprint, []).append(e)
    for monitor in chosen:
        rows = store.metric_rows(monitor.name, report.since, report.until)
        rows_by_monitor[monitor.name] = rows
        wanted = {
            a.state.fingerprint.id for a in current if a.state.fingerprint.monitor == monitor.name
        }
        wanted |= {e.fingerprint for e in in_period if e.monitor == monitor.name}
        ordered = sorted((f for f in wanted if f in stored), key=lambda f: _card_order(stored[f]))
        # Each card reads its own rows: indexed once, so cards cost the rows they show.
        rows_of: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        binned_of: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in rows:
            rows_of.setdefault((r["segment"], r["feature"], r["metric"]), []).append(r)
            if r.get("histogram"):
                binned_of.setdefault((r["segment"], r["feature"]), []).append(r)
        cards = [
            _card(report, monitor, stored[fid], rows_of, binned_of, eps_by_alert.get(fid, []))
            for fid in ordered[:MAX_CARDS]
        ]
        slice_rows = _slice_table(monitor, rows) if monitor.check == "slice_metrics" else None
        report.monitors.append(
            MonitorSection(
                name=monitor.name,
                model=monitor.model,
                check=monitor.check,
                rules=[_rule_text(r) for r in monitor.rules],
                charts=_monitor_charts(report, monitor, rows, in_period),
                cards=cards,
                slices=slice_rows[:MAX_SLICE_ROWS] if slice_rows is not None else None,
                more_slices=max(0, len(slice_rows or []) - MAX_SLICE_ROWS),
                runs=dict(Counter(r["status"] for r in runs if r["monitor"] == monitor.name)),
                rows=len(rows),
                more_cards=max(0, len(ordered) - MAX_CARDS),
            )
        )
    cards_by_id = {c.fingerprint: c for s in report.monitors for c in s.cards}
    report.alerts = [
        cards_by_id[a.state.fingerprint.id]
        for a in current
        if a.state.fingerprint.id in cards_by_id
    ]
    report.more_alerts = len(current) - len(report.alerts)
    if runs:
        report.run_chart = report.chart(
            "runs",
            "every run in the period, by window end",
            charts.run_history(
                [
                    {"t": charts.epoch_ms(r["window_end"]), "monitor": r["monitor"], "status": r["status"],
                     **({"error": r["error"]} if r["error"] else {})}
                    for r in runs
                ],
                names,
            ),
        )  # fmt: skip
    report.run_errors = [
        RunError(r["monitor"], _window_text(r["window_start"], r["window_end"]),
                 r["started_at"], r["trigger"], r["error"] or "")
        for r in sorted(runs, key=lambda r: r["started_at"], reverse=True)
        if r["status"] == "error"
    ]  # fmt: skip
    return rows_by_monitor


def state_version(config: Config) -> tuple[Any, ...]:
    """What changes when the report would (StateStore.change_marks)."""
    if state_missing(config):
        return ()
    with state_database(config) as db:
        return StateStore(db, config.state.schema_, create=False).change_marks()


# ------------------------------------------------------------------------- charts


def _series(segment: str, feature: str) -> str:
    """A series' name in charts: `country=FR · amount`."""
    return segment + (f" · {feature}" if feature else "")


def _window_text(start: datetime, end: datetime) -> str:
    return f"{clock(start)} – {clock(end)} UTC"


def _midpoint(row: dict[str, Any]) -> int:
    """A window is drawn at its middle: a daily window sits on its day."""
    start, end = row["window_start"], row["window_end"]
    return charts.epoch_ms(start + (end - start) / 2)


def _points(rows: list[dict[str, Any]], rule: Rule) -> list[dict[str, Any]]:
    """The number each rule compares (value, or its change against the baseline) per
    window; windows where it is undefined (NULL, NaN, inf) are left out."""
    out = []
    for r in rows:
        if not rule_matches(rule, r["metric"], r["segment"], r["feature"]):
            continue
        x = measured(rule, MetricRow.from_mapping(r))
        if x is None or not math.isfinite(x):
            continue
        out.append(
            {
                "t": _midpoint(r),
                "v": charts.short(x),
                "s": _series(r["segment"], r["feature"]),
                "st": r["status"],
            }
        )
    return out


def _threshold_lines(rules: list[Rule]) -> list[dict[str, Any]]:
    lines = []
    for rule in rules:
        for level in ("warn", "alert"):
            y = getattr(rule, level)
            if y is None:
                continue
            ys = [y, -y] if rule.direction == "both" and y != 0 else [y]
            for v in ys:
                lines.append(
                    {"y": v, "level": level, "label": f"{level} {rule.direction} {number(v)}"}
                )
    return lines


def _episode_bands(eps: list[Episode], since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Episodes as bands from the first breaching window's start to the last one's end,
    clipped to the period."""
    lo, hi = naive_utc(since), naive_utc(until)
    return [
        {
            "a": charts.iso(max(e.start.replace(tzinfo=None), lo)),
            "b": charts.iso(min(e.end.replace(tzinfo=None), hi)),
            "level": e.status,
            "label": f"{e.status} {_series(e.segment, e.feature)} {e.metric}: {clock(e.start)} – {clock(e.end)}",
        }
        for e in eps
    ]


def _rule_groups(monitor: MonitorConfig) -> dict[tuple[str, str], list[Rule]]:
    """Rules by what they plot: (metric, measure)."""
    groups: dict[tuple[str, str], list[Rule]] = {}
    for rule in monitor.rules:
        groups.setdefault((rule.metric, rule.measure), []).append(rule)
    return groups


def _monitor_charts(
    report: Report, monitor: MonitorConfig, rows: list[dict[str, Any]], eps: list[Episode]
) -> list[Chart]:
    """One chart per ruled metric: every series, the breaching ones in colour."""
    out = []
    for (metric, measure), rules in _rule_groups(monitor).items():
        points = [p for rule in rules[:1] for p in _points(rows, rule)]
        if not points:
            continue
        mine = [e for e in eps if e.monitor == monitor.name and e.metric == metric]
        title = metric + MEASURE_TITLE[measure]
        highlighted = _highlighted(points)
        points, dropped = _few_series(points, highlighted)
        mine = _drawn(mine, points)
        spec = charts.time_series(
            points,
            _threshold_lines(rules),
            _episode_bands(mine, report.since, report.until),
            title,
            highlighted,
        )
        out.append(report.chart(f"ts:{monitor.name}:{metric}:{measure}", title + dropped, spec))
    for metric in BESIDE_BASELINE.get(monitor.check, ()):
        points = _beside_baseline(rows, metric)
        if points:
            mine = [e for e in eps if e.monitor == monitor.name and e.metric == metric]
            title = f"{metric}: " + (
                "estimate, band, realized and baseline"
                if metric.startswith("estimated_")
                else "window and baseline"
            )
            shown = _highlighted(points)  # the breaching windows, each with its baseline
            shown += [s.replace(" · window", f" · {other}") for s in shown if s.endswith("window")
                      for other in ("baseline", "lower", "upper", "realized")]  # fmt: skip
            shown = list(dict.fromkeys(shown))
            points, dropped = _few_series(points, shown)
            mine = _drawn(mine, points)
            spec = charts.time_series(
                points, [], _episode_bands(mine, report.since, report.until), metric, shown
            )
            out.append(report.chart(f"vs:{monitor.name}:{metric}", title + dropped, spec))
    return out


# Metrics whose value reads best beside its baseline_value, per check: the report draws
# both as lines (the reconstruction error means little alone; against the baseline's
# own error under the same basis, a jump is plain). An estimate also gets its band and,
# once the window's labels have matured, the realized value.
BESIDE_BASELINE = {
    "multivariate_drift": ("reconstruction_error",),
    "estimated_performance": tuple(
        f"estimated_{m}" for m in ("auc", "accuracy", "precision", "recall", "f1")
    ),
}


def _beside_baseline(rows: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Each window's value and baseline_value as two series per segment ("… · window",
    "… · baseline"); for an estimate (`estimated_<m>`) also its band's ends from
    `detail` ("… · lower", "… · upper") and the same window's `realized_<m>` ("… ·
    realized"). Undefined numbers are left out."""
    realized_metric = metric.replace("estimated_", "realized_", 1)
    realized = {
        (r["window_start"], r["segment"], r["feature"]): r["value"]
        for r in rows
        if metric.startswith("estimated_") and r["metric"] == realized_metric
    }
    out = []
    for r in rows:
        if r["metric"] != metric:
            continue
        band = _band(r.get("detail"))
        numbers = [("window", r["value"]), ("baseline", r["baseline_value"])]
        numbers += [("lower", band.get("lower")), ("upper", band.get("upper"))]
        numbers += [("realized", realized.get((r["window_start"], r["segment"], r["feature"])))]
        for name, value in numbers:
            x = charts.finite(value)
            if x is not None:
                out.append(
                    {
                        "t": _midpoint(r),
                        "v": charts.short(x),
                        "s": f"{_series(r['segment'], r['feature'])} · {name}",
                        "st": r["status"] if name == "window" else "ok",
                    }
                )
    return out


def _band(detail: Any) -> dict[str, Any]:
    """An estimate's band from its `detail` JSON ({} when there is none)."""
    if not isinstance(detail, str):
        return {}
    try:
        parsed = json.loads(detail)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _few_series(
    points: list[dict[str, Any]], highlighted: list[str]
) -> tuple[list[dict[str, Any]], str]:
    """The points of the series a chart draws: the highlighted ones, the overall ('all')
    ones and up to MAX_GREY_SERIES others (by name), so a slice of a thousand segments
    still draws a readable chart; and a caption's note of how many were left out."""
    names = sorted({p["s"] for p in points})
    keep = set(highlighted) | {n for n in names if n.split(" · ")[0] == "all"}
    keep |= set([n for n in names if n not in keep][:MAX_GREY_SERIES])
    dropped = len(names) - len(keep)
    if not dropped:
        return points, ""
    return [p for p in points if p["s"] in keep], f" ({dropped:,} more series not drawn)"


def _drawn(eps: list[Episode], points: list[dict[str, Any]]) -> list[Episode]:
    """The episodes of the series a chart draws (a series is `segment · feature`,
    maybe with a suffix such as ` · window`)."""
    drawn = set()
    for name in {p["s"] for p in points}:
        parts = name.split(" · ")
        drawn |= {" · ".join(parts[:n]) for n in range(1, len(parts) + 1)}
    return [e for e in eps if _series(e.segment, e.feature) in drawn]


def _highlighted(points: list[dict[str, Any]]) -> list[str]:
    """The series worth a colour: those that breached (most breaches first), else the
    overall ones; at most MAX_HIGHLIGHTED."""
    breaches: dict[str, int] = {}
    for p in points:
        if p["st"] in ("warn", "alert"):
            breaches[p["s"]] = breaches.get(p["s"], 0) + (2 if p["st"] == "alert" else 1)
    if breaches:
        ranked = sorted(breaches, key=lambda s: (-breaches[s], s))
    else:
        ranked = sorted({p["s"] for p in points if p["s"].split(" · ")[0] == "all"})
    return ranked[:MAX_HIGHLIGHTED]


# -------------------------------------------------------------------------- cards


def _card_order(a: StoredAlert) -> tuple[Any, ...]:
    """Active before ended, then worst first as messages rank their items (state,
    level, how far past the threshold), so the cards kept are the worst."""
    return (not a.state.active, item_of(a.state, "status").sort_key())


def _card(
    report: Report,
    monitor: MonitorConfig,
    alert: StoredAlert,
    rows_of: dict[tuple[str, str, str], list[dict[str, Any]]],
    binned_of: dict[tuple[str, str], list[dict[str, Any]]],
    eps: list[Episode],
) -> AlertCard:
    """An alert's card; `rows_of`: the monitor's rows by (segment, feature, metric);
    `binned_of`: those with a histogram by (segment, feature); both in time order."""
    s = alert.state
    fp = s.fingerprint
    card = AlertCard(
        fingerprint=fp.id,
        monitor=fp.monitor,
        kind=fp.kind,
        segment=fp.segment,
        feature=fp.feature,
        metric=fp.metric,
        state=s.state,
        level=s.level,
        severity=alert.severity,
        text=describe(item_of(s, "status")),
        episodes=eps,
    )
    if fp.kind != "metric":
        return card
    mine = rows_of.get((fp.segment, fp.feature, fp.metric), [])
    rules = [r for r in monitor.rules if rule_matches(r, fp.metric, fp.segment, fp.feature)]
    if mine and rules:
        points = _points(mine, rules[0])
        if points:
            title = fp.metric + MEASURE_TITLE[rules[0].measure]
            card.chart = report.chart(
                f"alert:{fp.id}",
                title,
                charts.time_series(
                    points, _threshold_lines([r for r in rules if r.measure == rules[0].measure]),
                    _episode_bands(eps, report.since, report.until), title, [points[0]["s"]],
                    height=140, width=CARD_CHART_WIDTH,
                ),
            )  # fmt: skip
    binned = binned_of.get((fp.segment, fp.feature), [])
    card.distribution = _distribution(report, monitor, binned, fp.segment, fp.feature, eps)
    return card


def _distribution(
    report: Report,
    monitor: MonitorConfig,
    binned: list[dict[str, Any]],
    segment: str,
    feature: str,
    eps: list[Episode],
) -> Chart | None:
    """Baseline against current bins of the feature, at the alert's latest breaching
    window in the period (else the latest window), from the recorded histogram
    (`binned`: the segment and feature's rows that have one, in time order)."""
    if not binned:
        return None
    ends = {e.end.replace(tzinfo=None) for e in eps}
    breached = [r for r in binned if r["window_end"] in ends]
    row = (breached or binned)[-1]
    hist = json.loads(row["histogram"])
    window = _window_text(row["window_start"], row["window_end"])
    where = f"{segment} · {feature}" if segment != "all" else feature
    return report.chart(
        f"dist:{monitor.name}:{segment}:{feature}:{row['window_end']:%Y%m%d%H%M%S}",
        f"{where}: baseline vs current, window {window}",
        charts.distribution(histogram_bins(hist)),
    )


def histogram_bins(hist: dict[str, Any]) -> list[dict[str, Any]]:
    """The recorded `histogram` as shares per bin and sample (docs/metrics.md, "The
    `histogram` column"): counts are [bin, n_cur, n_base]; bin −1 is missing, −2 OTHER."""
    counts = hist.get("counts") or []
    totals = {"current": sum(c[1] for c in counts), "baseline": sum(c[2] for c in counts)}
    labels = _bin_labels(hist)
    out = []
    for b, n_cur, n_base in counts:
        b = int(b)
        order = b if b >= 0 else len(labels) + (1 if b == -2 else 2)  # OTHER, then missing
        label = {-1: "missing", -2: "other"}.get(b) or (
            labels[b] if b < len(labels) else f"bin {b}"
        )
        for sample, n in (("baseline", n_base), ("current", n_cur)):
            share = n / totals[sample] if totals[sample] else 0.0
            out.append({"i": order, "bin": label, "sample": sample, "share": share, "n": int(n)})
    return out


def _bin_labels(hist: dict[str, Any]) -> list[str]:
    if hist.get("kind") == "top_k":
        return [str(c) for c in hist.get("categories") or []]
    edges = [number(e) for e in hist.get("edges") or []]
    if not edges:
        return ["all"]
    inner = [f"({a}, {b}]" for a, b in itertools.pairwise(edges)]
    return [f"≤ {edges[0]}", *inner, f"> {edges[-1]}"]


# ------------------------------------------------------------------ slices, shadow


def _slice_table(monitor: MonitorConfig, rows: list[dict[str, Any]]) -> list[SliceRow]:
    """Each slice and metric at its worst window of the period, worst first: status,
    then the smallest q-value, then the largest change."""
    worst: dict[tuple[str, str], dict[str, Any]] = {}
    ruled = {r.metric for r in monitor.rules}
    for r in rows:
        if r["metric"] not in ruled:
            continue
        key = (r["segment"], r["metric"])
        if key not in worst or _slice_rank(r) < _slice_rank(worst[key]):
            worst[key] = r
    return [
        SliceRow(
            segment=r["segment"], metric=r["metric"],
            window=_window_text(r["window_start"], r["window_end"]),
            n=r["sample_size"], value=charts.finite(r["value"]),
            baseline=charts.finite(r["baseline_value"]), delta=_delta(r),
            q=charts.finite(r["q_value"]), status=r["status"],
        )
        for r in sorted(worst.values(), key=_slice_rank)
    ]  # fmt: skip


def _slice_rank(r: dict[str, Any]) -> tuple[Any, ...]:
    return (
        STATUS_RANK.get(r["status"], 9),
        _q_key(charts.finite(r["q_value"])),
        -abs(_delta(r) or 0),
    )


def _q_key(q: float | None) -> float:
    return q if q is not None else 2.0


def _delta(r: dict[str, Any]) -> float | None:
    v, b = charts.finite(r["value"]), charts.finite(r["baseline_value"])
    return v - b if v is not None and b is not None else None


def _shadow_section(
    report: Report, config: Config, model: str, disagreement: list[list[dict[str, Any]]]
) -> ShadowSection:
    """The verdict of `monitor compare` at the period's end, per-slice numbers, and the
    disagreement rate over the period from the shadow_disagreement monitors' rows."""
    section = ShadowSection(
        model=model, verdict=None, at=report.until, reasons=[], chart=None, rows=[]
    )
    rate = Rule.model_validate({"metric": "disagreement_rate", "warn": 1.0})  # plots the value
    points = [p for rows in disagreement for p in _points(rows, rate)]
    if points:
        section.chart = report.chart(
            f"shadow:{model}", "disagreement rate (share of requests the models decide differently)",
            charts.time_series(points, [], [], "disagreement_rate", _highlighted(points)),
        )  # fmt: skip
    try:
        result = compare(config, model, report.until)
    except MonitorError as exc:
        section.error = str(exc)
        return section
    section.verdict = result.verdict
    section.reasons = result.reasons
    paired = result.as_dict()
    for segment, metrics in paired["segments"].items():
        for metric, m in metrics.items():
            section.rows.append({"segment": segment, "metric": metric, **m})
    for metric, m in paired["overall"].items():
        section.rows.append({"segment": "all", "metric": metric, **m})
    section.rows.sort(key=lambda r: (_q_key(charts.finite(r["q_value"])), -abs(r["delta"] or 0)))
    return section


# ---------------------------------------------------------------------- small bits


def _overlaps(e: Episode, since: datetime, until: datetime) -> bool:
    return e.end.replace(tzinfo=None) > naive_utc(since) and e.start.replace(
        tzinfo=None
    ) <= naive_utc(until)


def _rule_text(rule: Rule) -> str:
    levels = ", ".join(
        f"{k} {number(v)}" for k, v in (("warn", rule.warn), ("alert", rule.alert)) if v is not None
    )
    scope = "".join(
        f" {k}={v}" for k, v in (("segment", rule.segment), ("feature", rule.feature)) if v != "*"
    )
    extra = f", q ≤ {rule.max_q_value}" if rule.max_q_value else ""
    extra += f", p ≤ {rule.max_p_value}" if rule.max_p_value else ""
    return f"{rule.metric}{MEASURE_TITLE[rule.measure]} {rule.direction}: {levels}{extra}{scope}"
