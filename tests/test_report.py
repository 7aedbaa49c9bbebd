"""The HTML report, for real: built from DuckDB stores that real runs wrote, opened in
Debian's headless Chromium through Playwright (tests/system-packages.sh installs it),
served by the daemon's endpoint over HTTP, and linked from Slack messages that
slack-sdk delivered to a Slack-compatible server.

Screenshots go to tests/output/<test>/ for a person to look at.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.config import load_config
from monitor.endpoint import Endpoint, Health, Telemetry
from monitor.report import html, page
from monitor.report.data import active_alerts
from monitor.store import StateStore
from monitor.warehouse import connect
from tests.conftest import REPO, World, read_db, write_table
from tests.test_alert_delivery import DAY, DRIFT, config_path, run_day

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
HOSTILE = "<script>window.pwned=1</script>"
HOSTILE_2 = '"></script><img src=x onerror="window.pwned=2">'
REPORT_URL = "https://reports.example/fraud/report.html"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: run tests/system-packages.sh (make test does)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def output_dir(request: pytest.FixtureRequest) -> Path:
    out = REPO / "tests" / "output" / re.sub(r"[^\w.-]", "_", request.node.name)
    out.mkdir(parents=True, exist_ok=True)
    return out


class Opened:
    """A report loaded in Chromium, with what the page said and asked for."""

    def __init__(self, browser: Any, path: Path, anchor: str = ""):
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.console: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.as_uri() + anchor)
        self.page.wait_for_function(
            "document.documentElement.dataset.ready === '1'", timeout=30_000
        )

    def draw_all(self) -> dict[str, int]:
        self.page.evaluate("window.monitorReport.drawAll().then(() => true)")
        return self.states()

    def states(self) -> dict[str, int]:
        return self.page.evaluate(
            "[...document.querySelectorAll('[data-chart]')].reduce("
            "(a, e) => (a[e.dataset.state || 'waiting'] = (a[e.dataset.state || 'waiting'] || 0) + 1, a), {})"
        )

    def column(self, selector: str, col: int) -> list[str]:
        return self.page.eval_on_selector_all(
            f"{selector} tbody tr", f"rows => rows.map(r => r.cells[{col}].textContent.trim())"
        )

    def close(self) -> None:
        self.page.close()


# ---------------------------------------------------------------------- the demo


@pytest.mark.slow
def test_demo_report_opens_offline_and_draws_every_chart(demo_run, browser, output_dir) -> None:
    result, _, _, config = demo_run
    assert result.exit_code == 0, result.output
    path = config.parent / "report.html"
    assert f"report: {path}" in result.output.replace("\n", "")
    opened = Opened(browser, path)
    try:
        opened.page.screenshot(path=str(output_dir / "demo-report-top.png"))
        states = opened.draw_all()
        charts = opened.page.locator("[data-chart]").count()
        assert states == {"drawn": charts} and charts >= 30, states
        assert opened.page.locator("[data-chart] canvas").count() == charts
        assert [m for m in opened.console if m.startswith(("error", "pageerror", "warning"))] == []
        assert all(u.startswith(("file:", "data:", "blob:")) for u in opened.requests), (
            opened.requests
        )

        # The key parts: current alerts, as the store has them, worst first.
        cfg = load_config(config)
        with connect(cfg.warehouse) as db:
            current = active_alerts(StateStore(db, "monitor", create=False))
        assert current, "the demo leaves the shadow incident firing"
        assert opened.page.locator("#alerts-table tbody tr").count() == len(current)
        assert opened.column("#alerts-table", 0)[0] == "firing"
        for a in current:  # every current alert has its card, with its chart
            card = opened.page.locator(f"[id='alert-{a.state.fingerprint.id}']")
            assert card.count() == 1
        # Each monitor's series; the pipeline break's drift, with its distribution.
        drift = opened.page.locator("[id='monitor-fraud-feature-drift']")
        assert drift.locator("figure > [data-chart^='ts:']").count() == 3  # psi, ks, null_rate
        amount = drift.locator("article.card", has_text="ks · device=android · amount")
        assert amount.locator("[data-chart^='dist:']").count() == 1
        # The feature relations: the rule's relative change, and the error beside its
        # baseline's (drawn: every chart is, above).
        relations = opened.page.locator("[id='monitor-fraud-feature-relations']")
        assert (
            relations.locator(
                "figure > [data-chart='vs:fraud-feature-relations:reconstruction_error']"
            ).count()
            == 1
        )
        # Guardrail slices: worst first, sortable.
        slices = "[id='monitor-fraud-shadow-guardrails'] table.slices"
        assert (
            opened.column(slices, 0)[0] == "alert" and opened.column(slices, 1)[0] == "country=PT"
        )
        opened.page.locator(f"{slices} th", has_text=re.compile(r"^n$")).click()
        ns = [float(x.replace(",", "")) for x in opened.column(slices, 3) if x != "–"]
        assert ns == sorted(ns) and len(ns) > 3
        # The shadow comparison and the run history.
        shadow = opened.page.locator("[id='shadow-fraud']")
        assert shadow.locator(".verdict").inner_text() in (
            "promote",
            "hold",
            "reject",
            "not_enough_evidence",
        )
        assert shadow.locator("table.shadow-slices tbody tr").count() > 3
        assert shadow.locator("[data-chart='shadow:fraud']").count() == 1
        assert opened.page.locator("#runs [data-chart='runs']").count() == 1
        opened.page.screenshot(path=str(output_dir / "demo-report.png"), full_page=True)
    finally:
        opened.close()


@pytest.mark.slow
def test_a_slack_link_lands_on_the_alert_card_drawn(demo_run, browser, output_dir) -> None:
    _, _, _, config = demo_run
    cfg = load_config(config)
    with connect(cfg.warehouse) as db:
        fid = active_alerts(StateStore(db, "monitor", create=False))[0].state.fingerprint.id
    opened = Opened(browser, config.parent / "report.html", f"#alert-{fid}")
    try:
        card = opened.page.locator(f"[id='alert-{fid}']")
        opened.page.wait_for_function(
            f"[...document.getElementById('alert-{fid}').querySelectorAll('[data-chart]')]"
            ".every(e => e.dataset.state === 'drawn')",
            timeout=10_000,
        )
        assert opened.page.evaluate("document.querySelector(':target').id") == f"alert-{fid}"
        box, height = card.bounding_box(), 900
        assert box is not None and 0 <= box["y"] < height  # scrolled to it
        charts = card.locator("[data-chart]")
        assert charts.count() >= 1
        assert opened.states().get("waiting", 0) > 0  # the rest is drawn when scrolled to
        opened.page.screenshot(path=str(output_dir / "alert-card.png"))
    finally:
        opened.close()


# ------------------------------------------------------ escaping, and Slack's links


def write_hostile(world: World, days: int = 8) -> None:
    """Model m, 100 rows a day; half of them from a country named like markup, and x
    shifted on days 3 and 4."""
    cols: dict[str, list[Any]] = {"x": [], "y": [], "country": [], "ts": []}
    for d in range(days):
        for i in range(100):
            cols["x"].append(float(i) + (50.0 if d in (3, 4) else 0.0))
            cols["y"].append(float(i))
            cols["country"].append(HOSTILE if i % 2 else HOSTILE_2)
            cols["ts"].append(datetime(2026, 9, 1, 12) + d * DAY)
    n = len(cols["ts"])
    write_table(world.db, "preds", {**cols, "model_name": ["m"] * n, "role": ["production"] * n})


@pytest.fixture
def hostile(world: World, slack) -> tuple[World, Path]:
    write_hostile(world)
    path = config_path(world, slack, [DRIFT], report_url=REPORT_URL)
    for day in (2, 3):
        run_day(path, day)
    return world, path


def test_values_are_escaped_and_slack_links_land_on_cards(
    hostile,
    slack,
    browser,
    output_dir,
) -> None:
    world, path = hostile
    out = world.root / "report.html"
    done = CliRunner().invoke(app, ["report", "--config", str(path), "--out", str(out)])
    assert done.exit_code == 0, done.output
    text = out.read_text()
    for raw in (HOSTILE, HOSTILE_2, "window.pwned=1</script>"):
        assert raw not in text  # neither in the HTML nor in the inline chart data
    assert "country=&lt;script&gt;window.pwned=1&lt;/script&gt;" in text

    opened = Opened(browser, out)
    try:
        assert opened.draw_all() == {"drawn": opened.page.locator("[data-chart]").count()}
        assert opened.page.evaluate("window.pwned === undefined")
        shown = opened.page.locator("#alerts-table").inner_text()
        assert f"country={HOSTILE}" in shown and f"country={HOSTILE_2}" in shown  # as text
        assert [m for m in opened.console if m.startswith(("error", "pageerror"))] == []
        # Every alert Slack got links to its card in this report.
        (post,) = slack.top_level()
        links = re.findall(r"<([^|>]+)\|chart>", json.dumps(post.blocks))
        assert len(links) == 3  # x drifted in all and in both countries
        for link in links:
            url, anchor = link.split("#")
            assert url == REPORT_URL
            assert opened.page.locator(f"article[id='{anchor}']").count() == 1
        assert f"<{REPORT_URL}#monitor-drift|report>" in json.dumps(post.blocks)
        opened.page.screenshot(path=str(output_dir / "escaped.png"), full_page=True)
    finally:
        opened.close()


def test_distribution_shares_are_the_recorded_bins_of_the_raw_rows(hostile) -> None:
    """The overlay's shares, against an independent count of the raw rows into the
    recorded edges (bins (e_j, e_j+1], open tails): exact counts, shares to 1e-12."""
    world, path = hostile
    report = page.build(load_config(path), shadow=False)
    card = next(
        c for s in report.monitors for c in s.cards
        if c.segment == "all" and c.feature == "x" and c.distribution
    )  # fmt: skip
    assert card.distribution is not None
    bins = report.charts[card.distribution.id]["data"]["values"]
    ((hist,),) = read_db(
        world.db,
        "SELECT histogram FROM monitor.metrics WHERE segment = 'all' AND feature = 'x' "
        "AND metric = 'psi' AND window_end = '2026-09-05'",
    )
    edges = json.loads(hist)["edges"]
    x = np.array(
        [r[0] for r in read_db(world.db, "SELECT x FROM preds WHERE ts::date = '2026-09-04'")]
    )
    base = np.array(
        [r[0] for r in read_db(world.db, "SELECT x FROM preds WHERE ts::date = '2026-09-01'")]
    )
    for sample, values in (("current", x), ("baseline", base)):
        # bin j holds the values with j edges strictly below them
        counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)
        got = {b["i"]: b for b in bins if b["sample"] == sample}
        assert {i for i, c in enumerate(counts) if c} <= set(got)
        for i, b in got.items():
            assert b["n"] == counts[i]
            assert abs(b["share"] - counts[i] / len(values)) < 1e-12


def test_the_daemon_serves_the_latest_report(hostile) -> None:
    _, path = hostile
    config = load_config(path)
    endpoint = Endpoint("127.0.0.1", 0, Health(), Telemetry(), config=lambda: config)
    endpoint.start()
    base = f"http://127.0.0.1:{endpoint.port}"
    try:
        first = fetch(f"{base}/report")
        assert first[0] == 200 and first[1].startswith("text/html")
        assert b'id="monitor-drift"' in first[2] and b"data-chart=" in first[2]
        zipped = fetch(f"{base}/report", gzip_ok=True)
        assert zipped[3] == "gzip" and gzip.decompress(zipped[2]) == first[2]  # the cached page
        assert len(zipped[2]) < len(first[2]) / 2
        run_day(path, 4)  # a new run: the next request builds a new report
        again = fetch(f"{base}/report")
        assert again[0] == 200 and again[2] != first[2]
        assert b"2026-09-06 00:00 UTC" in again[2] and b"2026-09-06 00:00 UTC" not in first[2]
        assert fetch(f"{base}/report?model=nope")[0] == 404
        assert fetch(f"{base}/report?from=someday")[0] == 400
        assert fetch(f"{base}/report?from=2026-09-20&to=2026-09-10")[0] == 400  # inverted
    finally:
        endpoint.stop()


def fetch(url: str, gzip_ok: bool = False) -> tuple[int, str, bytes, str | None]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gzip_ok else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.headers["Content-Type"], r.read(), r.headers["Content-Encoding"]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read(), None


# --------------------------------------------------------------------- the CLI


def test_report_cli_period_and_mistakes(hostile, tmp_path) -> None:
    _, path = hostile
    out = tmp_path / "sub" / "r.html"
    args = ["report", "--config", str(path), "--out", str(out)]
    done = CliRunner().invoke(app, [*args, "--from", "2026-09-03", "--to", "2026-09-03"])
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert "2026-09-03 00:00 – 2026-09-04 00:00 UTC" in said  # a day is through its end
    assert out.exists() and "<title>" in out.read_text()
    backwards = CliRunner().invoke(app, [*args, "--from", "2026-09-05", "--to", "2026-09-03"])
    assert backwards.exit_code == 1 and "is not before" in str(backwards.exception)
    unknown = CliRunner().invoke(app, [*args, "--model", "nope"])
    assert unknown.exit_code == 1 and "no model 'nope'" in str(unknown.exception)


def test_monitor_report_reads_beside_a_process_that_holds_the_store(hostile, tmp_path) -> None:
    """`monitor report` only reads: it opens the state store read-only, so it works
    while another process holds the DuckDB file read-only (a read-write open would wait
    for that process, then fail) and from read-only media."""
    world, path = hostile
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
         "print('ready', flush=True); time.sleep(60)", str(world.db)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        out = tmp_path / "r.html"
        done = CliRunner().invoke(app, ["report", "--config", str(path), "--out", str(out)])
        assert done.exit_code == 0, (done.output, done.exception)
        assert "<title>" in out.read_text()
    finally:
        holder.kill()
        holder.wait()


@contextlib.contextmanager
def read_only_folder(folder: Path) -> Iterator[Path]:
    """`folder` seen through a read-only mount (root: a read-only bind mount, as read-only
    media are) or with its write bits off (anyone else); skipped where neither holds."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [folder, *folder.iterdir()]}
        for p in modes:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            yield folder
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    mount = folder.parent / (folder.name + "-ro")
    mount.mkdir()
    bound = subprocess.run(["mount", "--bind", str(folder), str(mount)], capture_output=True)
    if bound.returncode != 0:
        pytest.skip(f"cannot make a read-only mount here: {bound.stderr.decode().strip()}")
    try:
        ro = subprocess.run(["mount", "-o", "remount,ro,bind", str(mount)], capture_output=True)
        if ro.returncode != 0:
            pytest.skip(f"cannot make a read-only mount here: {ro.stderr.decode().strip()}")
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_monitor_report_reads_a_store_on_read_only_media(hostile, tmp_path) -> None:
    """The state store on read-only media (a snapshot, a read-only volume): `monitor
    report` and `monitor alerts` read it; neither writes a byte (no WAL, no lock)."""
    world, path = hostile
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(world.db, media / "wh.duckdb")
    before = hashlib.sha256((media / "wh.duckdb").read_bytes()).hexdigest()
    with read_only_folder(media) as ro:
        with pytest.raises(OSError):
            (ro / "probe").write_text("x")  # the media are read-only indeed
        config = tmp_path / "ro.yaml"
        config.write_text(path.read_text().replace(str(world.db), str(ro / "wh.duckdb")))
        out = tmp_path / "r.html"
        done = CliRunner().invoke(app, ["report", "--config", str(config), "--out", str(out)])
        assert done.exit_code == 0, (done.output, done.exception)
        assert "<title>" in out.read_text()
        alerts = CliRunner().invoke(app, ["alerts", "--config", str(config), "--json"])
        assert alerts.exit_code == 0, (alerts.output, alerts.exception)
        assert sorted(p.name for p in ro.iterdir()) == ["wh.duckdb"]
    assert hashlib.sha256((media / "wh.duckdb").read_bytes()).hexdigest() == before


def test_a_report_before_any_run_says_so(world: World, tmp_path) -> None:
    path = world.config([DRIFT])
    out = tmp_path / "r.html"
    done = CliRunner().invoke(app, ["report", "--config", str(path), "--out", str(out)])
    assert done.exit_code == 0, done.output
    text = out.read_text()
    assert "No alert is pending or firing." in text and "No run in this period." in text


# ------------------------------------------------------------------- the parts


def test_histogram_bins_hand_computed() -> None:
    hist = {"kind": "quantile", "edges": [24.0, 49.0, 74.0],
            "counts": [[0, 25, 13], [1, 25, 12], [3, 0, 62], [-1, 50, 0], [-2, 0, 13]]}  # fmt: skip
    bins = page.histogram_bins(hist)
    by = {(b["bin"], b["sample"]): b for b in bins}
    assert by[("≤ 24", "current")]["share"] == 0.25 and by[("≤ 24", "baseline")]["share"] == 0.13
    assert by[("> 74", "baseline")]["n"] == 62 and by[("missing", "current")]["share"] == 0.5
    assert by[("other", "baseline")]["share"] == 0.13
    assert [b["bin"] for b in sorted(bins, key=lambda b: b["i"])][::2] == [
        "≤ 24", "(24, 49]", "> 74", "other", "missing",
    ]  # fmt: skip
    top = page.histogram_bins(
        {"kind": "top_k", "categories": ["a", "<b>"], "counts": [[1, 3, 1], [0, 1, 3]]}
    )
    assert {(b["bin"], b["sample"]): b["share"] for b in top}[("<b>", "current")] == 0.75


def test_inline_json_and_scripts_cannot_close_their_element() -> None:
    text = html.json_for_script({"s": "</script><script>x()</script>", "t": "a & b"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"s": "</script><script>x()</script>", "t": "a & b"}
    with pytest.raises(ValueError):
        html.json_for_script({"v": float("nan")})
    with pytest.raises(ValueError, match="cannot be inlined"):
        html.script_text("var s = '</script>';")
    assert "sourceMappingURL" not in html.script_text("f()\n//# sourceMappingURL=f.js.map\n")


def test_vendored_builds_match_their_manifest() -> None:
    vendor = REPO / "monitor" / "report" / "vendor"
    manifest = json.loads((vendor / "MANIFEST.json").read_text())
    assert set(manifest) == set(html.VENDORED)
    for name, entry in manifest.items():
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == entry["sha256"], name
        assert entry["version"] in (vendor / "README.md").read_text()


def test_failed_runs_are_listed_with_their_errors(world: World, tmp_path) -> None:
    write_hostile(world)
    broken = {**DRIFT, "name": "broken", "params": {"columns": ["no_such_column"]}, "owners": []}
    path = world.config([{**DRIFT, "owners": []}, broken])
    run_day(path, 2)
    out = tmp_path / "r.html"
    done = CliRunner().invoke(app, ["report", "--config", str(path), "--out", str(out)])
    assert done.exit_code == 0, done.output
    text = out.read_text()
    table = text[text.index('<table class="sortable run-errors">') :]
    row = table[: table.index("</tr>", table.index("<tbody>"))]
    assert "<td>broken</td>" in row and "no_such_column" in row
    assert "<td>drift</td>" not in table  # only the failed runs


def test_reconstruction_error_is_drawn_beside_its_baseline() -> None:
    """Each window's error and its baseline's, as two series per segment; a window
    without a baseline value draws only its own point."""
    from monitor.report.page import _beside_baseline

    start = datetime(2026, 9, 1, tzinfo=UTC)
    rows = [
        {"metric": "reconstruction_error", "segment": "all", "feature": "", "value": 1.0,
         "baseline_value": 0.13, "status": "alert", "window_start": start,
         "window_end": start + timedelta(days=1)},
        {"metric": "reconstruction_error", "segment": "all", "feature": "", "value": 0.12,
         "baseline_value": None, "status": "ok", "window_start": start + timedelta(days=1),
         "window_end": start + timedelta(days=2)},
        {"metric": "missing_rate", "segment": "all", "feature": "", "value": 0.0,
         "baseline_value": 0.0, "status": "ok", "window_start": start,
         "window_end": start + timedelta(days=1)},
    ]  # fmt: skip
    points = _beside_baseline(rows, "reconstruction_error")
    assert [(p["s"], p["v"], p["st"]) for p in points] == [
        ("all · window", 1.0, "alert"),
        ("all · baseline", 0.13, "ok"),
        ("all · window", 0.12, "ok"),
    ]


def test_an_estimate_is_drawn_with_its_band_and_the_realized_value() -> None:
    """estimated_auc: the estimate, the baseline's realized value, the band's ends from
    `detail`, and the same window's realized_auc once its labels have matured (the
    first window); a window whose labels have not matured draws no realized point."""
    from monitor.report.page import _beside_baseline

    start = datetime(2026, 9, 1, tzinfo=UTC)

    def row(metric: str, day: int, value: float | None, detail: str | None = None) -> dict:
        return {"metric": metric, "segment": "all", "feature": "", "value": value,
                "baseline_value": 0.9, "status": "ok", "detail": detail,
                "window_start": start + timedelta(days=day),
                "window_end": start + timedelta(days=day + 1)}  # fmt: skip

    band = '{"standard_error": 0.01, "lower": 0.86, "upper": 0.92}'
    rows = [
        row("estimated_auc", 0, 0.89, band),
        row("realized_auc", 0, 0.88),
        row("estimated_auc", 1, 0.9, band),
        row("realized_auc", 1, None),
        row("realized_accuracy", 1, 0.5),
    ]
    points = _beside_baseline(rows, "estimated_auc")
    assert [(p["s"], p["v"]) for p in points] == [
        ("all · window", 0.89), ("all · baseline", 0.9), ("all · lower", 0.86),
        ("all · upper", 0.92), ("all · realized", 0.88),
        ("all · window", 0.9), ("all · baseline", 0.9), ("all · lower", 0.86),
        ("all · upper", 0.92),
    ]  # fmt: skip
