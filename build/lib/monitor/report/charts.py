"""Vega-Lite specifications for the report's charts, as plain dicts.

The report draws with Vega-Lite (docs/operations.md, "The HTML report", says why): a
chart is a declarative JSON spec built here from recorded rows, and the browser's
vendored Vega-Lite compiles and draws it. No chart reads raw rows: every number is
one the checks recorded (a metric row, or the binned counts of a `histogram`).

Times travel as ISO 8601 UTC strings and are drawn on UTC scales, so the report
reads the same in every time zone.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime
from typing import Any

WARN_COLOR, ALERT_COLOR = "#d97706", "#dc2626"
LEVEL_SCALE = {"domain": ["warn", "alert"], "range": [WARN_COLOR, ALERT_COLOR]}
STATUS_SCALE = {
    "domain": ["ok", "no_data", "warn", "alert", "error"],
    "range": ["#16a34a", "#9ca3af", WARN_COLOR, ALERT_COLOR, "#7c3aed"],
}
SERIES_COLORS = ["#2563eb", "#db2777", "#0d9488", "#9333ea", "#ca8a04", "#0891b2", "#65a30d"]
QUIET_COLOR = "#cbd5e1"
TIME_SERIES_WIDTH = 760
UTC_SCALE = {"type": "utc"}
POINT_NUMBERS = ("t", "v")
TIME_AXIS = {"title": None, "labelOverlap": True}  # Vega picks the format: days, or hours


def iso(t: datetime) -> str:
    """A naive-UTC or aware time as `2026-09-23T12:00:00Z`."""
    return t.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def finite(x: Any) -> float | None:
    """A number JSON can carry, or None (NaN and ±inf are not drawn)."""
    if x is None:
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def table(rows: list[dict[str, Any]], numbers: tuple[str, ...] = ()) -> dict[str, Any]:
    """Inline data as CSV text: the field names once instead of in every row, which
    halves the size of a long time series. `numbers` are parsed back as numbers."""
    fields = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return {
        "values": buf.getvalue(),
        "format": {"type": "csv", "parse": {k: "number" for k in numbers if k in fields}},
    }


def epoch_ms(t: datetime) -> int:
    """A naive-UTC or aware time as milliseconds since the epoch (Vega's time value)."""
    return (
        round(t.replace(tzinfo=UTC).timestamp() * 1000)
        if t.tzinfo is None
        else round(t.timestamp() * 1000)
    )


def short(x: float) -> float:
    """6 significant digits: what a chart and its tooltip can show, in fewer bytes."""
    return float(f"{x:.6g}")


def time_series(
    points: list[dict[str, Any]],
    thresholds: list[dict[str, Any]],
    episodes: list[dict[str, Any]],
    y_title: str,
    highlighted: list[str],
    height: int = 170,
    width: int = TIME_SERIES_WIDTH,
) -> dict[str, Any]:
    """Lines of a metric over time, one per series, with the rules' warn/alert levels as
    dashed lines and the alert episodes as shaded bands.

    `points`: {t (epoch ms, the window's middle), v, s (series), st (status)}; a series named in
    `highlighted` gets its own colour, every other series is drawn quietly in grey.
    `thresholds`: {y, level, label}; `episodes`: {a, b (ISO), level, label}.
    """
    shown = set(highlighted)
    colors = [SERIES_COLORS[i % len(SERIES_COLORS)] for i in range(len(highlighted))]
    x = {"field": "t", "type": "temporal", "scale": UTC_SCALE, "axis": TIME_AXIS}
    layers: list[dict[str, Any]] = []
    if episodes:
        layers.append(
            {
                "data": {"values": episodes},
                "mark": {"type": "rect", "opacity": 0.14},
                "encoding": {
                    "x": {"field": "a", "type": "temporal", "scale": UTC_SCALE, "axis": TIME_AXIS},
                    "x2": {"field": "b"},
                    "color": {"field": "level", "type": "nominal", "scale": LEVEL_SCALE,
                              "legend": None},
                    "tooltip": [{"field": "label", "title": "episode"}],
                },
            }
        )  # fmt: skip
    if thresholds:
        layers.append(
            {
                "data": {"values": thresholds},
                "mark": {"type": "rule", "strokeDash": [5, 4], "strokeWidth": 1.5},
                "encoding": {
                    "y": {"field": "y", "type": "quantitative"},
                    "color": {"field": "level", "type": "nominal", "scale": LEVEL_SCALE,
                              "legend": None},
                    "tooltip": [{"field": "label", "title": "threshold"}],
                },
            }
        )  # fmt: skip
    tooltip = [
        {"field": "s", "title": "series"},
        {
            "field": "t",
            "type": "temporal",
            "timeUnit": "utcyearmonthdatehoursminutes",
            "title": "window middle (UTC)",
        },
        {"field": "v", "type": "quantitative", "title": y_title, "format": ".4~g"},
        {"field": "st", "title": "status"},
    ]
    quiet = [p for p in points if p["s"] not in shown]
    if quiet:  # drawn first, so the highlighted series lie on top
        layers.append(
            {
                "data": table(quiet, POINT_NUMBERS),
                "mark": {"type": "line", "strokeWidth": 1, "color": QUIET_COLOR},
                "encoding": {"x": x, "y": {"field": "v", "type": "quantitative", "title": y_title},
                             "detail": {"field": "s"}, "tooltip": tooltip},
            }
        )  # fmt: skip
    loud = [p for p in points if p["s"] in shown]
    if loud:
        layers.append(
            {
                "data": table(loud, POINT_NUMBERS),
                "mark": {"type": "line", "strokeWidth": 1.8},
                "encoding": {
                    "x": x,
                    "y": {"field": "v", "type": "quantitative", "title": y_title},
                    "color": {
                        "field": "s",
                        "type": "nominal",
                        "scale": {"domain": highlighted, "range": colors},
                        "legend": {"title": None, "orient": "bottom", "columns": 3,
                                   "labelLimit": 300},
                    },
                    "tooltip": tooltip,
                },
            }
        )  # fmt: skip
    breaching = [p for p in points if p["st"] in ("warn", "alert")]
    if breaching:
        layers.append(
            {
                "data": table(breaching, POINT_NUMBERS),
                "mark": {"type": "point", "filled": True, "size": 36},
                "encoding": {
                    "x": x,
                    "y": {"field": "v", "type": "quantitative"},
                    "color": {"field": "st", "type": "nominal", "scale": LEVEL_SCALE,
                              "legend": None},
                    "tooltip": tooltip,
                },
            }
        )  # fmt: skip
    return {
        "width": width,
        "height": height,
        "layer": layers,
        "resolve": {"scale": {"color": "independent"}},
        "config": {"view": {"stroke": None}, "axis": {"grid": True, "gridColor": "#eef2f7"}},
    }


def distribution(bins: list[dict[str, Any]]) -> dict[str, Any]:
    """Baseline against current share per bin, side by side: `bins` are
    {i (bin order), bin (label), sample (baseline | current), share, n}."""
    return {
        "width": {"step": 14},
        "height": 150,
        "data": {"values": bins},
        "mark": {"type": "bar"},
        "encoding": {
            "x": {
                "field": "bin",
                "type": "ordinal",
                "sort": {"field": "i"},
                "title": None,
                "axis": {"labelAngle": -40, "labelLimit": 120},
            },
            "xOffset": {"field": "sample", "sort": ["baseline", "current"]},
            "y": {"field": "share", "type": "quantitative", "title": "share of rows",
                  "axis": {"format": "%"}},
            "color": {
                "field": "sample",
                "type": "nominal",
                "scale": {"domain": ["baseline", "current"], "range": ["#94a3b8", "#ea580c"]},
                "legend": {"title": None, "orient": "top"},
            },
            "tooltip": [
                {"field": "bin"}, {"field": "sample"},
                {"field": "share", "type": "quantitative", "format": ".2%"},
                {"field": "n", "type": "quantitative", "title": "rows"},
            ],
        },
        "config": {"view": {"stroke": None}},
    }  # fmt: skip


def run_history(runs: list[dict[str, Any]], monitors: list[str]) -> dict[str, Any]:
    """One mark per run: monitor against window end, coloured by status."""
    return {
        "width": TIME_SERIES_WIDTH,
        "height": {"step": 16},
        "data": table(runs, ("t",)),
        "mark": {"type": "square", "size": 60},
        "encoding": {
            "x": {"field": "t", "type": "temporal", "scale": UTC_SCALE, "axis": TIME_AXIS},
            "y": {"field": "monitor", "type": "nominal", "sort": monitors, "title": None,
                  "axis": {"labelLimit": 240}},
            "color": {"field": "status", "type": "nominal", "scale": STATUS_SCALE,
                      "legend": {"title": None, "orient": "top"}},
            "tooltip": [
                {"field": "monitor"},
                {"field": "t", "type": "temporal", "timeUnit": "utcyearmonthdatehoursminutes",
                 "title": "window end (UTC)"},
                {"field": "status"}, {"field": "error"},
            ],
        },
        "config": {"view": {"stroke": None}},
    }  # fmt: skip
