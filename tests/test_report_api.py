"""The daemon's read-only JSON API, served by the real endpoint over HTTP from a real
DuckDB state store that real runs wrote."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.config import load_config
from monitor.endpoint import Endpoint, Health, Telemetry
from tests.conftest import World
from tests.test_alert_delivery import DRIFT, run_day, write_days


@pytest.fixture
def api(world: World) -> Iterator[tuple[Any, str]]:
    write_days(world, {3: 50.0, 4: 50.0})
    path = world.config([{**DRIFT, "owners": []}])
    for day in (2, 3, 4):
        run_day(path, day)
    config = load_config(path)
    endpoint = Endpoint("127.0.0.1", 0, Health(), Telemetry(), config=lambda: config)
    endpoint.start()
    yield path, f"http://127.0.0.1:{endpoint.port}"
    endpoint.stop()


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.headers["Content-Type"] == "application/json"
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_api_alerts_is_what_monitor_alerts_json_prints(api) -> None:
    path, base = api
    status, body = get(f"{base}/api/alerts")
    printed = CliRunner().invoke(app, ["alerts", "--json", "--config", str(path)])
    assert status == 200 and printed.exit_code == 0
    assert body == json.loads(printed.output)
    assert {a["state"] for a in body} == {"firing"} and len(body) >= 2
    assert {a["monitor"] for a in body} == {"drift"}


def test_api_metrics_gives_a_monitors_rows_over_a_period(api) -> None:
    _, base = api
    status, rows = get(f"{base}/api/metrics?monitor=drift")
    assert status == 200
    ends = sorted({r["window_end"] for r in rows})
    assert ends == ["2026-09-04T00:00:00", "2026-09-05T00:00:00", "2026-09-06T00:00:00"]
    assert "run_id" not in rows[0] and {"segment", "value", "status"} <= set(rows[0])
    assert {r["status"] for r in rows if r["window_end"] == ends[1]} >= {"alert"}
    # (from, to]: only the window ending on the 5th
    status, some = get(f"{base}/api/metrics?monitor=drift&from=2026-09-04&to=2026-09-05")
    assert status == 200 and {r["window_end"] for r in some} == {ends[1]}
    assert len(some) == len([r for r in rows if r["window_end"] == ends[1]])


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ("/api/metrics", 400, "name a monitor"),
        ("/api/metrics?monitor=nope", 404, "no monitor 'nope'"),
        ("/api/metrics?monitor=drift&from=yesterday", 400, "is not an ISO 8601 time"),
        ("/api/metrics?monitor=drift&from=2026-09-05&to=2026-09-04", 400, "is after to="),
        ("/api/nothing", 404, "no API /api/nothing"),
    ],
)
def test_api_mistakes_get_a_clear_error(api, query, status, error) -> None:
    _, base = api
    got, body = get(base + query)
    assert got == status and error in body["error"]


def test_a_token_guards_report_and_api_but_not_the_probes(world: World) -> None:
    """With daemon.api_token_env set, /report and /api answer 401 without the token
    (or with a wrong one) and 200 with it; probes and /metrics stay open for the
    orchestrator and Prometheus."""
    write_days(world, {3: 50.0})
    path = world.config([{**DRIFT, "owners": []}])
    run_day(path, 2)
    config = load_config(path)
    endpoint = Endpoint(
        "127.0.0.1", 0, Health(), Telemetry(), config=lambda: config, token="s3cret"
    )
    endpoint.start()
    base = f"http://127.0.0.1:{endpoint.port}"

    def status(path: str, token: str | None = None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            with urllib.request.urlopen(
                urllib.request.Request(base + path, headers=headers), timeout=10
            ) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code

    try:
        for guarded in ("/api/alerts", "/api/metrics?monitor=drift", "/report", "/nope"):
            assert status(guarded) == 401, guarded
            assert status(guarded, "wrong") == 401, guarded
        assert status("/api/alerts", "s3cret") == 200
        assert status("/report", "s3cret") == 200
        assert status("/metrics") == 200 and status("/livez") == 200
        assert status("/healthz") in (200, 503)  # judged, not refused
    finally:
        endpoint.stop()


def test_idle_and_trickling_connections_hold_no_thread_nor_the_probes(world: World) -> None:
    """The probe's case, and worse: 200 connections that send nothing and 40 that
    trickle half a request. None holds a worker thread (waitress reads requests in
    its event loop and hands only whole ones to the workers); probes beside them are
    answered at once, and the idle ones are closed after the idle timeout."""
    config = load_config(world.config([DRIFT]))
    endpoint = Endpoint(
        "127.0.0.1", 0, Health(), Telemetry(), config=lambda: config,
        workers=2, idle_timeout=timedelta(seconds=2),
    )  # fmt: skip
    endpoint.start()
    port = endpoint.port
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]
    trickling = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
    for sock in trickling:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finished
    try:
        time.sleep(0.3)
        for _ in range(10):  # more probes than workers, each answered at once
            started = time.monotonic()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=2) as r:
                assert r.status == 200
            assert time.monotonic() - started < 1
        workers = [t for t in threading.enumerate() if t.name.startswith("waitress")]
        assert len(workers) <= 2, [t.name for t in threading.enumerate()]
        for sock in (idle[0], idle[-1]):  # closed by the endpoint after the idle timeout
            sock.settimeout(10)
            assert sock.recv(1) == b""
    finally:
        for sock in idle + trickling:
            sock.close()
        endpoint.stop()
