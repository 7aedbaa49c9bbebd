"""The segment budget: a slice over a column with many values (a user id, a long tail
of countries) would give a check one segment per value, and a run, its rows, the
report and the messages would grow with them. Each slice of a check may have at most
the monitor's `max_segments` segments: past that, the `max_segments` − 1 largest by
volume (rows in the window and the baseline) keep their own and the rest are pooled
as `col=<other>` (docs/configuration.md, "Segment budget").

The runner asks the warehouse which slices are over the budget with one query
(sql/macros/segment_volumes.sql) and hands the labels kept to the check as
`segment_pools`, which the label macros read (sql/macros/segment_label.sql).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import jinja2
from jinja2 import nodes

from monitor.checks import Check, parse_sql, render_helper, template_body, transpile
from monitor.config import Config, MonitorConfig
from monitor.errors import MonitorError
from monitor.warehouse import Warehouse
from monitor.windows import BaselineSpec, Window, baseline_for, merged

SLICE_PARAM_TYPE = "list[list[str]]"


@dataclass
class SegmentBudget:
    """The slices over budget: {slice key: labels kept}, and a note for each, for people."""

    pools: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class SpanBudgets:
    """For one pass or backfill: each monitor's span (every range any of its windows
    reads: the windows and their baselines, overlapping ones merged), and whether each
    of its slices stays within the budget over all of it. A slice within the budget
    over the span is within it in every window inside, so those windows need no query
    of their own: a backfill asks once per monitor instead of once per window."""

    spans: dict[str, list[Window]]
    within: dict[tuple[str, str], bool] = field(default_factory=dict)

    @classmethod
    def of(cls, planned: list[tuple[MonitorConfig, Window]]) -> SpanBudgets:
        """Spans for the monitors with two windows or more (one window asks alone)."""
        ranges: dict[str, list[Window]] = {}
        windows: dict[str, int] = {}
        for monitor, window in planned:
            base = baseline_for(window, monitor)
            ranges.setdefault(monitor.name, []).append(window)
            ranges[monitor.name] += list(base.ranges) if base is not None else []
            windows[monitor.name] = windows.get(monitor.name, 0) + 1
        return cls({name: merged(rs) for name, rs in ranges.items() if windows[name] > 1})

    def covers(self, monitor: str, ranges: list[Window]) -> bool:
        span = self.spans.get(monitor, [])
        return all(any(s.start <= r.start and r.end <= s.end for s in span) for r in ranges)


def slice_key(cols: list[str]) -> str:
    """How `segment_pools` names a slice: its columns joined by ',', in order."""
    return ",".join(cols)


def check_slices(check: Check, params: dict[str, Any], model_slices: list[str]) -> list[list[str]]:
    """The slices a check groups by: the values of its slice params (type
    list[list[str]]); an empty `slices` param stands for each of the model's slices
    alone in a check whose template reads `model.slices` (the shadow and guardrail
    checks' default), and for nothing in one that does not."""
    found: list[list[str]] = []
    for name, param in check.params.items():
        if param.type != SLICE_PARAM_TYPE:
            continue
        value = params.get(name) or []
        if not value and name == "slices" and _reads_model_slices(template_body(check)):
            value = [[s] for s in model_slices]
        found += [cols for cols in value if cols and cols not in found]
    return found


@functools.lru_cache(maxsize=128)
def _reads_model_slices(source: str) -> bool:
    """Whether a template reads `model.slices` (its own text, not the macros')."""
    try:
        tree = jinja2.Environment().parse(source)
    except jinja2.TemplateSyntaxError:
        return False  # rendering reports it, with its line
    return any(
        node.attr == "slices" and isinstance(node.node, nodes.Name) and node.node.name == "model"
        for node in tree.find_all(nodes.Getattr)
    )


def segment_budget(
    config: Config,
    check: Check,
    monitor: MonitorConfig,
    slices: list[list[str]],
    window: Window,
    baseline: BaselineSpec | None,
    wh: Warehouse,
    budgets: SpanBudgets | None = None,
) -> SegmentBudget:
    """Which of `slices` (the check's, check_slices) have more than `max_segments`
    segments in the window and the baseline ranges, and the labels each keeps,
    counted in the model's predictions table. With `budgets`, slices known to stay
    within the budget over the monitor's span are not asked about again."""
    ranges = [window] + (list(baseline.ranges) if baseline is not None else [])
    if budgets is not None and budgets.covers(monitor.name, ranges):
        unknown = [c for c in slices if (monitor.name, slice_key(c)) not in budgets.within]
        try:
            span = budgets.spans[monitor.name]
            over = {
                slice_key(unknown[int(row["slice"])])
                for row in (_volumes(config, check, monitor, unknown, span, wh) if unknown else [])
            }
        except MonitorError:  # too long or refused: count window by window from now on
            del budgets.spans[monitor.name]
        else:
            for cols in unknown:
                budgets.within[(monitor.name, slice_key(cols))] = slice_key(cols) not in over
            slices = [c for c in slices if not budgets.within[(monitor.name, slice_key(c))]]
    if not slices:
        return SegmentBudget()
    rows = _volumes(config, check, monitor, slices, ranges, wh)
    budget = SegmentBudget()
    totals: dict[int, tuple[int, int, int]] = {}  # slice: segments, rows, rows kept
    for row in rows:
        if "\x00" in str(row["segment"]):
            continue  # no SQL literal holds a NUL: such a segment is pooled
        index = int(row["slice"])
        budget.pools.setdefault(slice_key(slices[index]), []).append(str(row["segment"]))
        segments, total, kept = totals.get(index, (int(row["segments"]), int(row["total_rows"]), 0))
        totals[index] = (segments, total, kept + int(row["n"]))
    for index, (segments, total, kept) in sorted(totals.items()):
        cols = slices[index]
        pooled = segments - len(budget.pools[slice_key(cols)])
        budget.notes.append(
            f"slice [{', '.join(cols)}] has {segments:,} segments, over max_segments "
            f"{monitor.max_segments:,}: the {segments - pooled:,} largest kept, {pooled:,} "
            f"({total - kept:,} rows) pooled as {other_label(cols)}"
        )
    return budget


def _volumes(
    config: Config,
    check: Check,
    monitor: MonitorConfig,
    slices: list[list[str]],
    ranges: list[Window],
    wh: Warehouse,
) -> list[dict[str, Any]]:
    """The segment_volumes query's rows: the kept segments of each slice over budget in
    `ranges` (none for a slice within it)."""
    model = config.models[monitor.model]
    # Each slice's label as the checks write it (segment_label, unpooled).
    labels = [
        render_helper(config.check_dirs, "macros/segment_label.sql", "segment_label", cols)
        for cols in slices
    ]
    sql = render_helper(
        config.check_dirs, "macros/segment_volumes.sql", "segment_volumes",
        model.predictions, config.model_rows_name(monitor.model),
        [{"start": r.start, "end": r.end} for r in ranges],
        monitor.role, sorted({c for cols in slices for c in cols}), labels, monitor.max_segments,
    )  # fmt: skip
    return wh.execute(transpile(parse_sql(sql, check), wh.dialect, check, consume=True))


def other_label(cols: list[str]) -> str:
    """The pooled segment's label (as sql/macros/segment_label.sql writes it)."""
    return ",".join(f"{c}=<other>" for c in cols)
