"""How big the default demo's HTML report is and how fast it opens (issue 9: under two
seconds), measured in Debian's headless Chromium; not a test.

    python -m bench.report [--config alerts.yaml] [--loads 5]

Uses the demo store that `make demo` wrote (it runs the demo first when there is
none), builds the report as `monitor report` does, then opens it `--loads` times in
a fresh page: "open" is navigation start to the report's `report-ready` mark (the
charts on screen drawn), "all charts" the time to draw every chart on top of that.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from monitor.config import load_config
from monitor.report import html, page
from monitor.warehouse import state_missing

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("alerts.yaml"))
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()
    config = load_config(args.config)
    if state_missing(config):
        subprocess.run(
            [sys.executable, "-m", "monitor", "demo", "--config", str(args.config)], check=True
        )
    t0 = time.perf_counter()
    report = page.build(config)
    built = time.perf_counter() - t0
    out = Path(tempfile.mkdtemp()) / "report.html"
    size = html.write(report, out)
    specs = len(html.json_for_script(report.charts).encode())
    vendored = sum((html.VENDOR / name).stat().st_size for name in html.VENDORED)

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if not chromium:
        sys.exit("Debian's chromium is missing: run tests/system-packages.sh")
    opens, draws = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        for _ in range(args.loads):
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.goto(out.as_uri())
            tab.wait_for_function("document.documentElement.dataset.ready === '1'", timeout=60_000)
            opens.append(
                tab.evaluate("performance.getEntriesByName('report-ready')[0].startTime") / 1000
            )
            t = time.perf_counter()
            tab.evaluate("window.monitorReport.drawAll().then(() => true)")
            draws.append(time.perf_counter() - t)
            tab.close()
        browser.close()
    print(f"report: {out}")
    print(
        f"size {size / 1e6:.2f} MB (Vega + Vega-Lite {vendored / 1e6:.2f} MB, chart data "
        f"{specs / 1e6:.2f} MB); {len(report.charts)} charts, {len(report.monitors)} monitors, "
        f"{sum(len(m.cards) for m in report.monitors)} alert cards"
    )
    print(f"build {built:.2f} s (includes the shadow comparison's warehouse queries)")
    print(
        f"open (median of {args.loads}) {statistics.median(opens):.2f} s "
        f"[{min(opens):.2f}–{max(opens):.2f}]; all charts +{statistics.median(draws):.2f} s"
    )


if __name__ == "__main__":
    main()
