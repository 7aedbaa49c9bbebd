"""`monitor daemon` as a real subprocess, on a two-second schedule, against a real DuckDB
file: on time, through a failing check, a stuck query and a Slack outage; SIGTERM mid-run
loses and duplicates nothing; a restart catches up; a second daemon runs nothing twice;
SIGHUP reloads, and refuses an invalid file.

Timing assertions are loose (these machines are shared): "on time" means a run starts
within 1.5 s of its fire time; the exactness is in the ledger and the runs table.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from tests.conftest import BROKEN_CHECK, REPO, read_db
from tests.slack_server import FakeSlack

SPIN = """\
/* ---
name: spin
description: A query that takes a while (it sums a long range), like a slow warehouse.
params:
  n: {type: int, required: true}
returns: [segment, feature, metric, value, sample_size]
--- */
SELECT 'all' AS segment, '' AS feature, 'spin' AS metric,
       CAST(sum(i % 7) AS DOUBLE) AS value, 1 AS sample_size
FROM range({{ n }}) AS t(i)
"""


# A check whose rendering never ends: Python work that no query cancel reaches (as a
# long result write was), so a stop must force its way out.
ENDLESS = """\
/* ---
name: endless
description: A template that never finishes rendering.
returns: [segment, feature, metric, value, sample_size]
--- */
{%- for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}
SELECT 'all' AS segment, '' AS feature, 'endless' AS metric, 1.0 AS value, 1 AS sample_size
"""


def spin_rate() -> float:
    """Rows per second `spin` sums on this machine (to size a query to a duration)."""
    con = duckdb.connect()
    try:
        n = 200_000_000
        t0 = time.perf_counter()
        con.execute(f"SELECT sum(i % 7) FROM range({n}) AS t(i)").fetchall()
        return n / max(time.perf_counter() - t0, 1e-3)
    finally:
        con.close()


def volume(name: str = "volume", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "model": "m",
        "check": "row_count",
        "schedule": "*/2 * * * * *",
        "window": "2s",
        "rules": [{"metric": "row_count_ratio", "direction": "below", "alert": 0.2}],
        **extra,
    }


class Daemons:
    """A DuckDB file with predictions around now, a config, and daemon subprocesses."""

    def __init__(self, root: Path):
        self.root = root
        self.db = root / "wh.duckdb"
        (root / "extra" / "custom").mkdir(parents=True)
        (root / "extra" / "custom" / "spin.sql").write_text(SPIN)
        (root / "extra" / "custom" / "broken.sql").write_text(BROKEN_CHECK)
        (root / "extra" / "custom" / "endless.sql").write_text(ENDLESS)
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        self.baseline = (now - timedelta(minutes=30), now - timedelta(minutes=20))
        con = duckdb.connect(str(self.db))
        try:  # one prediction every 20 ms from 30 minutes ago to 30 minutes ahead
            con.execute(
                "CREATE TABLE preds AS SELECT 'm' AS model_name, 'production' AS role, "
                "CAST(? AS TIMESTAMP) + to_microseconds(i * 20000) AS ts, "
                "random() AS x, false AS is_test FROM range(180000) AS t(i)",
                [now - timedelta(minutes=30)],
            )
        finally:
            con.close()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.slack = FakeSlack()

    def config(
        self,
        monitors: list[dict[str, Any]],
        daemon: dict[str, Any] | None = None,
        lock_timeout: str = "20s",
        connections: int = 1,
    ) -> Path:
        doc = {
            "warehouse": {
                "type": "duckdb",
                "path": str(self.db),
                "lock_timeout": lock_timeout,
                "connections": connections,
            },
            "sql_dirs": [str(REPO / "sql"), str(self.root / "extra")],
            "daemon": {
                "catch_up_horizon": "2m",
                "watchdog_interval": "1s",
                "leader_poll": "1s",
                "stop_timeout": "10s",
                **(daemon or {}),
            },
            "notify": {
                "slack": {"base_url": self.slack.url, "default_channel": "#ml"},
                "max_backoff": "2s",  # retry the outbox quickly once Slack is back
            },
            "models": {"m": {"predictions": "preds"}},
            "defaults": {
                "min_samples": 1,
                "grace": "6s",
                "baseline": {
                    "kind": "fixed",
                    "start": self.baseline[0].isoformat(),
                    "end": self.baseline[1].isoformat(),
                },
            },
            "monitors": monitors,
        }
        path = self.root / "alerts.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    def start(self, name: str = "a") -> Daemon:
        log = self.root / f"{name}.log"
        env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "daemon", "--config", str(self.root / "alerts.yaml"),
             "--port", "0"],
            stdout=subprocess.DEVNULL, stderr=log.open("ab"), cwd=REPO, env=env,
        )  # fmt: skip
        self.procs.append(proc)
        return Daemon(proc, log)

    def runs(self) -> list[tuple[Any, ...]]:
        return read_db(
            self.db,
            'SELECT monitor, window_start, window_end, status, error, started_at, "trigger" '
            "FROM monitor.runs ORDER BY window_start, monitor",
        )

    def ledger(self) -> list[tuple[Any, ...]]:
        return read_db(
            self.db,
            "SELECT monitor, window_start, status, run_status, note FROM monitor.run_ledger "
            "ORDER BY window_start, monitor",
        )

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.slack.stop()


class Daemon:
    def __init__(self, proc: subprocess.Popen[bytes], log: Path):
        self.proc, self.log = proc, log

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        out = []
        for line in self.log.read_text().splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                raise AssertionError(f"not a JSON log line: {line!r}") from None
            if kind is None or event.get("event") == kind:
                out.append(event)
        return out

    def wait_for(self, what: Callable[[], Any], timeout: float = 30, why: str = "") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited ({self.proc.returncode}):\n{self.tail()}")
            found = what()
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {why or what}:\n{self.tail()}")

    def runs_of(self, monitor: str) -> list[dict[str, Any]]:
        return [e for e in self.events("run") if e["monitor"] == monitor]

    @property
    def port(self) -> int:
        listening = self.wait_for(lambda: self.events("listening"), 20, "listening")
        return int(listening[0]["port"])

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def tail(self) -> str:
        return "\n".join(self.log.read_text().splitlines()[-15:])


@pytest.fixture
def daemons(tmp_path: Path):
    d = Daemons(tmp_path)
    yield d
    d.close()


def assert_once_each(runs: list[tuple[Any, ...]]) -> None:
    """No (monitor, window) recorded twice."""
    twice = [k for k, n in Counter((r[0], r[1], r[2]) for r in runs).items() if n > 1]
    assert not twice, twice


def assert_contiguous(runs: list[tuple[Any, ...]], monitor: str, step: timedelta) -> None:
    """The monitor's windows follow each other without a gap."""
    starts = sorted(r[1] for r in runs if r[0] == monitor)
    gaps = [(a, b) for a, b in itertools.pairwise(starts) if b - a != step]
    assert not gaps, gaps


def metric_value(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_on_time_through_a_failing_check_a_stuck_query_and_a_slack_outage(daemons) -> None:
    daemons.slack.stop()  # Slack is down when the daemon starts
    daemons.config(
        [
            volume(),
            {"name": "broken", "model": "m", "check": "broken", "schedule": "*/2 * * * * *",
             "window": "2s", "grace": "3s"},
            # Rare, at odd seconds: a cancelled query holds up the runs queued behind it.
            {"name": "stuck", "model": "m", "check": "spin", "params": {"n": 10**13},
             "schedule": "1-59/10 * * * * *", "window": "10s", "query_timeout": "1s"},
        ]
    )  # fmt: skip
    d = daemons.start()
    d.wait_for(lambda: len(d.runs_of("volume")) >= 4, 40, "4 volume runs")
    d.wait_for(lambda: d.runs_of("stuck"), 20, "a stuck run")
    d.wait_for(lambda: d.events("deadman"), 20, "the dead-man alert")

    # A failing check is an error run; it stops nothing.
    broken = d.runs_of("broken")
    assert broken and all(r["status"] == "error" for r in broken)
    assert "no_such_column" in broken[0]["error"]
    # The stuck query was cancelled at its timeout, recorded, and the schedule went on.
    stuck = d.runs_of("stuck")[0]
    assert stuck["status"] == "error" and "query cancelled after 1s" in stuck["error"], stuck
    assert 0.9 < stuck["duration_s"] < 5
    d.wait_for(lambda: [r for r in d.runs_of("volume") if r["ts"] > stuck["ts"]], 10, "runs after")

    # Health and metrics, while Slack is still down.
    status, body = d.get("/healthz")
    assert status == 200, body
    assert json.loads(body)["role"] == "leader"
    status, text = d.get("/metrics")
    assert status == 200
    assert (metric_value(text, "monitor_runs_total", monitor="volume", status="ok") or 0) >= 3
    assert (metric_value(text, "monitor_runs_total", monitor="broken", status="error") or 0) >= 1
    assert metric_value(text, "monitor_daemon_leader") == 1
    assert metric_value(text, "monitor_last_success_timestamp_seconds", monitor="volume")
    assert metric_value(text, "monitor_run_duration_seconds_count", monitor="volume")
    # The read-only API reads the state store the daemon writes, while it runs.
    status, body = d.get("/api/metrics?monitor=volume")
    assert status == 200 and {r["monitor"] for r in json.loads(body)} == {"volume"}
    status, body = d.get("/api/alerts")
    assert status == 200 and isinstance(json.loads(body), list)
    d.wait_for(
        lambda: (metric_value(d.get("/metrics")[1], "monitor_outbox_pending") or 0) >= 2,
        15,
        "notifications waiting for Slack",
    )
    d.wait_for(
        lambda: metric_value(
            d.get("/metrics")[1], "monitor_alerts", state="firing", severity="ticket"
        ),
        10,
        "a firing alert in the gauges",
    )
    assert daemons.slack.requests == []

    # Slack comes back: what waited is delivered, once each.
    daemons.slack.start()

    def posted(*words: str) -> list[str]:
        return [m.text for m in daemons.slack.top_level() if all(w in m.text for w in words)]

    d.wait_for(lambda: posted("broken", "check failed"), 20, "the error post after the outage")
    d.wait_for(lambda: posted("no successful run"), 20, "the dead-man post")
    leader = datetime.fromisoformat(d.events("leader")[0]["ts"])
    warm = leader + timedelta(seconds=6)  # start-up: imports, catch-up, first deliveries

    def settled_runs() -> list[dict[str, Any]]:
        return [r for r in d.runs_of("volume") if datetime.fromisoformat(r["run_at"]) > warm]

    d.wait_for(lambda: len(settled_runs()) >= 6, 40, "6 volume runs after start-up")
    assert d.stop() == 0
    assert d.events("stopped")

    # On time: each run's T is a fire time (even seconds); after start-up, runs start
    # soon after it (loose bounds: shared machines).
    delays = []
    for run in d.runs_of("volume"):
        fire = datetime.fromisoformat(run["run_at"])
        started = datetime.fromisoformat(run["started_at"])
        assert fire.second % 2 == 0 and fire.microsecond == 0, run
        assert run["status"] == "ok" and run["rows"] == 2, run
        assert set(run) >= {"monitor", "window_start", "window_end", "duration_s", "rows", "status"}
        assert started >= fire, run
        if fire > warm:
            delays.append((started - fire).total_seconds())
    prompt = [x for x in delays if x < 0.5]
    assert len(delays) >= 6 and len(prompt) >= 0.7 * len(delays) and max(delays) < 2.5, delays

    keys = [c["body"].get("text", "")[:60] for c in daemons.slack.calls("chat.postMessage")]
    runs = daemons.runs()
    assert_once_each(runs)
    assert {r[6] for r in runs} == {"schedule"}
    assert not [row for row in daemons.ledger() if row[2] == "running"], keys
    sent_rows = read_db(daemons.db, "SELECT count(*) FROM monitor.outbox WHERE status = 'sent'")
    assert sent_rows[0][0] == len(daemons.slack.calls("chat.postMessage")) + len(
        daemons.slack.calls("chat.update")
    )


def test_sigterm_mid_run_finishes_it_and_a_restart_catches_up(daemons) -> None:
    seconds = 2.5
    n = int(spin_rate() * seconds)
    daemons.config(
        [volume(), {"name": "slow", "model": "m", "check": "spin", "params": {"n": n},
                    "schedule": "*/5 * * * * *", "window": "5s"}]
    )  # fmt: skip
    d = daemons.start()
    started = d.wait_for(
        lambda: [e for e in d.events("run_start") if e["monitor"] == "slow"], 30, "a slow run"
    )[0]
    d.signal(signal.SIGTERM)  # mid-run: the slow query is in flight
    assert d.proc.wait(timeout=30) == 0
    finished = [r for r in d.runs_of("slow") if r["window_start"] == started["window_start"]]
    assert finished and finished[0]["status"] == "ok", d.tail()  # finished, not lost
    stopped_at = datetime.now(UTC)
    runs = daemons.runs()
    assert_once_each(runs)
    assert not [row for row in daemons.ledger() if row[2] == "running"]

    time.sleep(5)  # downtime: volume misses about two windows
    second = daemons.start("b")
    second.wait_for(
        lambda: [
            r for r in second.runs_of("volume")
            if datetime.fromisoformat(r["run_at"]) > stopped_at + timedelta(seconds=6)
        ],
        30,
        "runs after the downtime",
    )  # fmt: skip
    assert second.stop() == 0
    runs = daemons.runs()
    assert_once_each(runs)
    assert_contiguous(runs, "volume", timedelta(seconds=2))  # the downtime was caught up
    # Caught-up windows ran oldest first, right after the start.
    caught_up = [r["window_start"] for r in second.runs_of("volume")]
    assert caught_up == sorted(caught_up)
    assert len([r for r in runs if r[0] == "volume" and r[1] < stopped_at.replace(tzinfo=None)])


def test_stop_deadline_cancels_the_query_and_marks_the_window_aborted(daemons) -> None:
    path = daemons.config(
        [{"name": "slow", "model": "m", "check": "spin", "params": {"n": 10**13},
          "schedule": "*/3 * * * * *", "window": "3s"}],
        daemon={"stop_timeout": "1s"},
    )  # fmt: skip
    d = daemons.start()
    first = d.wait_for(lambda: d.events("run_start"), 30, "a run")[0]
    t0 = time.monotonic()
    assert d.stop() == 0
    assert time.monotonic() - t0 < 8
    assert d.events("cancel") and not d.runs_of("slow")
    window = datetime.fromisoformat(first["window_start"]).replace(tzinfo=None)
    ledger = {row[1]: row for row in daemons.ledger()}
    assert ledger[window][2] == "aborted", ledger
    assert "stopped" in ledger[window][4]
    assert daemons.runs() == []  # nothing half-recorded

    # The next start runs the aborted window (now quick), once.
    spec = yaml.safe_load(path.read_text())
    spec["monitors"][0]["params"]["n"] = 1000
    path.write_text(yaml.safe_dump(spec))
    again = daemons.start("b")
    again.wait_for(
        lambda: [r for r in again.runs_of("slow") if r["window_start"] == first["window_start"]],
        30,
        "the aborted window",
    )
    assert again.stop() == 0
    runs = daemons.runs()
    assert_once_each(runs)
    assert [r[3] for r in runs if r[1] == window] == ["ok"]


def test_the_stop_deadline_cancels_the_query_on_every_connection(daemons) -> None:
    """Two monitors of a pass run at once (warehouse.connections 2); the stop deadline
    cancels both queries, and both windows are aborted in the ledger, none recorded."""
    slow = [
        {"name": name, "model": "m", "check": "spin", "params": {"n": 10**13},
         "schedule": "*/3 * * * * *", "window": "3s"}
        for name in ("slow-a", "slow-b")
    ]  # fmt: skip
    daemons.config(slow, daemon={"stop_timeout": "1s"}, connections=2)
    d = daemons.start()

    def both_started() -> dict[str, Any] | None:
        starts = {e["monitor"]: e for e in d.events("run_start")}
        return starts if len(starts) == 2 else None

    started = d.wait_for(both_started, 30, "both monitors' runs")
    t0 = time.monotonic()
    assert d.stop() == 0
    assert time.monotonic() - t0 < 8
    assert daemons.runs() == []  # nothing half-recorded
    ledger = {(row[0], row[1]): row for row in daemons.ledger()}
    for name, event in started.items():
        window = datetime.fromisoformat(event["window_start"]).replace(tzinfo=None)
        assert ledger[(name, window)][2] == "aborted", ledger


def test_a_stop_that_has_to_force_its_way_out_exits_non_zero(daemons) -> None:
    """A run that neither finishes within stop_timeout nor stops when its query is
    cancelled (here a template that never ends rendering): the daemon logs
    `forced_exit` and exits 1, so an orchestrator can tell it from a clean stop (0)."""
    daemons.config(
        [{"name": "endless", "model": "m", "check": "endless", "schedule": "*/3 * * * * *",
          "window": "3s"}],
        daemon={"stop_timeout": "1s"},
    )  # fmt: skip
    d = daemons.start()
    d.wait_for(lambda: d.events("run_start"), 30, "a run")
    assert d.stop() == 1
    assert d.events("cancel") and d.events("forced_exit")


def test_liveness_stays_up_while_the_warehouse_is_down_readiness_does_not(daemons) -> None:
    """/livez is for restarting a hung process, /readyz for routing traffic, /healthz for
    alerting: a locked warehouse makes monitors overdue, which no restart would fix."""
    daemons.config([volume(grace="2s")], lock_timeout="1s")
    d = daemons.start()
    d.wait_for(lambda: len(d.runs_of("volume")) >= 2, 30, "2 runs")
    assert d.get("/livez")[0] == 200
    status, body = d.get("/readyz")
    assert status == 200, body
    assert json.loads(body) == {
        "role": "leader", "scheduler": "running", "state_store": "ok", "status": "ready"
    }  # fmt: skip

    def take_the_file() -> duckdb.DuckDBPyConnection | None:
        try:
            return duckdb.connect(str(daemons.db))
        except duckdb.IOException:  # the daemon is writing: between its runs then
            return None

    holder = d.wait_for(take_the_file, 20, "the file between runs")  # "down" for the daemon
    try:
        d.wait_for(lambda: d.get("/healthz")[0] == 503, 30, "overdue monitors")
        status, body = d.get("/livez")
        assert status == 200 and json.loads(body)["status"] == "alive"
        status, body = d.get("/readyz")
        assert status == 503, body
        assert json.loads(body)["state_store"].startswith("unavailable")
        assert d.events("job_failed")
    finally:
        holder.close()
    d.wait_for(lambda: d.get("/healthz")[0] == 200, 30, "caught up")
    assert d.get("/readyz")[0] == 200
    assert d.stop() == 0


def test_a_second_daemon_stands_by_and_runs_nothing_twice(daemons) -> None:
    daemons.config([volume(), volume("volume-2")])
    a = daemons.start("a")
    a.wait_for(lambda: len(a.runs_of("volume")) >= 2, 30, "a runs")
    b = daemons.start("b")
    b.wait_for(lambda: b.events("standby"), 20, "b on standby")
    status, body = b.get("/healthz")
    assert status == 200 and json.loads(body)["role"] == "standby"
    status, body = b.get("/readyz")  # a standby can serve /report and /api, and take over
    assert status == 200 and json.loads(body)["status"] == "ready", body
    _, text = b.get("/metrics")
    assert metric_value(text, "monitor_daemon_leader") in (None, 0)

    # cron beside the daemons: `monitor run` runs only what nobody ran yet.
    cron = subprocess.run(
        [sys.executable, "-m", "monitor", "run", "--config", str(daemons.root / "alerts.yaml")],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert cron.returncode == 0, cron.stdout + cron.stderr
    time.sleep(3)
    assert not b.runs_of("volume")  # the standby ran nothing

    assert a.stop() == 0
    b.wait_for(lambda: b.events("leader"), 20, "b takes over")
    b.wait_for(lambda: len(b.runs_of("volume")) >= 3, 30, "b runs")
    assert b.stop() == 0
    runs = daemons.runs()
    assert_once_each(runs)
    for name in ("volume", "volume-2"):
        assert_contiguous(runs, name, timedelta(seconds=2))


def test_sighup_reloads_and_keeps_the_old_config_when_the_new_one_is_invalid(daemons) -> None:
    path = daemons.config([volume()])
    d = daemons.start()
    d.wait_for(lambda: d.runs_of("volume"), 30, "runs")
    good = path.read_text()

    path.write_text(good.replace("check: row_count", "check: row_count\n  windw: 1h", 1))
    d.signal(signal.SIGHUP)
    rejected = d.wait_for(lambda: d.events("reload_rejected"), 10, "the rejection")[0]
    assert (
        "unknown key 'windw'" in rejected["error"] and "did you mean 'window'" in rejected["error"]
    )
    n = len(d.runs_of("volume"))
    d.wait_for(lambda: len(d.runs_of("volume")) > n + 1, 10, "runs on the old config")

    spec = yaml.safe_load(good)
    spec["monitors"].append(volume("added"))
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    d.signal(signal.SIGHUP)
    d.wait_for(lambda: d.events("reloaded"), 10, "the reload")
    d.wait_for(lambda: d.runs_of("added"), 10, "the added monitor's runs")
    assert d.stop() == 0
    assert_once_each(daemons.runs())


def test_a_monitor_added_by_a_reload_runs_at_once_and_healthz_stays_200(daemons) -> None:
    """An hourly monitor added by SIGHUP runs its latest window in the reload's
    catch-up, not at the next hour: /healthz is 200 again within seconds (the pass
    settles), where it stayed 503 until the next hour before."""
    path = daemons.config([volume()])
    d = daemons.start()
    d.wait_for(lambda: d.get("/healthz")[0] == 200, 30, "healthy")
    spec = yaml.safe_load(path.read_text())
    spec["monitors"].append(volume("hourly", schedule="0 * * * *", window="1h"))
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    d.signal(signal.SIGHUP)
    d.wait_for(lambda: d.events("reloaded"), 10, "the reload")
    d.wait_for(lambda: d.runs_of("hourly"), 20, "the added monitor's latest window")
    # Healthy once the catch-up pass settles (seconds), not at the next hour.
    d.wait_for(lambda: d.get("/healthz")[0] == 200, 15, "healthy after the catch-up")
    assert d.stop() == 0


def test_invalid_config_or_busy_port_fail_at_start_with_a_clear_error(daemons) -> None:
    path = daemons.config([volume()])
    path.write_text(path.read_text().replace("window: 2s", "window: 2 seconds"))
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "daemon", "--config", str(path)],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "expected a duration like 30m" in done.stderr

    daemons.config([volume()])
    d = daemons.start()
    busy = subprocess.run(
        [sys.executable, "-m", "monitor", "daemon", "--config", str(path), "--port", str(d.port)],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert busy.returncode == 1
    assert f"cannot listen on 127.0.0.1:{d.port}" in busy.stderr and "--port" in busy.stderr
    assert d.stop() == 0


def test_binding_beyond_loopback_warns_and_a_named_token_must_be_set(daemons) -> None:
    """On 0.0.0.0 without a token the daemon says, once, that anyone who can reach the
    port reads /report and /api; a token variable named but unset stops the start."""
    daemons.config([volume()], daemon={"host": "0.0.0.0"})
    d = daemons.start()
    (exposed,) = d.wait_for(lambda: d.events("exposed"), 20, "the exposure warning")
    assert exposed["level"] == "warning" and "daemon.api_token_env" in exposed["message"]
    assert d.stop() == 0

    path = daemons.config([volume()], daemon={"host": "0.0.0.0", "api_token_env": "NO_SUCH_VAR"})
    env = {k: v for k, v in os.environ.items() if k != "NO_SUCH_VAR"}
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "daemon", "--config", str(path), "--port", "0"],
        capture_output=True, text=True, cwd=REPO, timeout=60, env=env,
    )  # fmt: skip
    assert done.returncode == 1
    assert "daemon.api_token_env names $NO_SUCH_VAR, which is not set" in done.stderr

    daemons.config([volume()], daemon={"host": "0.0.0.0", "api_token_env": "MONITOR_API_TOKEN"})
    os.environ["MONITOR_API_TOKEN"] = "t0ken"
    try:
        d = daemons.start("b")
    finally:
        del os.environ["MONITOR_API_TOKEN"]
    assert d.get("/api/alerts")[0] == 401
    # /livez is 200 once the scheduler runs, which may be a moment after the port opens.
    d.wait_for(lambda: d.get("/livez")[0] == 200, 20, "/livez to answer 200")
    assert not d.events("exposed")
    assert d.stop() == 0
