"""The report as one self-contained HTML file: the page from `template.html` (Jinja2
with autoescaping: a slice value `<script>` is shown as text), the chart specs as
inline JSON, and the vendored Vega and Vega-Lite builds inline, so it opens offline
and from a Slack link alike."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import jinja2

from monitor.notify.message import LEVEL_ORDER, number
from monitor.report.page import STATUS_RANK, Report

HERE = Path(__file__).parent
VENDOR = HERE / "vendor"
VENDORED = ("vega.min.js", "vega-lite.min.js")  # load order: Vega-Lite needs Vega
SOURCE_MAP = re.compile(r"^//# sourceMappingURL=.*$", re.MULTILINE)


def script_text(text: str) -> str:
    """JavaScript safe inside <script>: no source-map comment (nothing to fetch it
    from) and no `</script` that would end the element early."""
    text = SOURCE_MAP.sub("", text)
    if re.search(r"</script", text, re.IGNORECASE):
        raise ValueError("a script contains '</script': it cannot be inlined")
    return text


def json_for_script(value: Any) -> str:
    """JSON safe inside <script type="application/json">: `<`, `>` and `&` as \\u
    escapes, so no data can close the element; NaN/inf are never written (the charts
    leave such points out) and fail loudly if they slip through."""
    text = json.dumps(value, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@cache
def _scripts() -> tuple[str, ...]:
    vendored = [script_text((VENDOR / name).read_text(encoding="utf-8")) for name in VENDORED]
    return (*vendored, script_text((HERE / "report.js").read_text(encoding="utf-8")))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=number,
        signed=lambda x: "–" if x is None else f"{x:+.4g}",
        sci=lambda x: "–" if x is None else f"{x:.2g}",
        raw=lambda x: (
            "" if x is None or (isinstance(x, float) and not math.isfinite(x)) else repr(x)
        ),
        when=lambda t: (
            "–" if t is None else f"{t.astimezone(UTC) if t.tzinfo else t:%Y-%m-%d %H:%M} UTC"
        ),
        day=lambda t: f"{t:%Y-%m-%d}",
        where=lambda a: (
            " · ".join(
                [
                    *([] if a.segment in ("", "all") else [a.segment]),
                    *([a.feature] if a.feature else []),
                ]
            )
            or "all"
        ),
        status_rank=lambda s: STATUS_RANK.get(s, 9),
        level_rank=lambda lv: LEVEL_ORDER.get(lv, 2),
    )
    return env


def _version() -> str:
    try:
        return version("sql-drift-monitor")
    except PackageNotFoundError:
        return "dev"


def render(report: Report) -> str:
    """The whole page."""
    template = _environment().get_template("template.html")
    return template.render(
        r=report,
        specs=json_for_script(report.charts),
        scripts=_scripts(),
        version=_version(),
    )


def write(report: Report, out: Path) -> int:
    """Write the page to `out` through a temporary file (a reader never sees half a
    report); returns its size in bytes."""
    text = render(report)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{datetime.now(UTC):%H%M%S%f}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return len(text.encode())
