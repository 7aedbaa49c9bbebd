"""The CLI as a user runs it: a subprocess, exit codes and the exact messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import sqlglot
import yaml

from tests.conftest import REPO

DRIFT = {
    "name": "drift",
    "check": "numeric_drift",
    "params": {"columns": ["x"]},
    "rules": [{"metric": "ks", "alert": 0.3}],
}


def monitor(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_validate_the_repository_config() -> None:
    done = monitor("validate", "--config", str(REPO / "alerts.yaml"))
    assert done.returncode == 0, done.stderr
    monitors = len(yaml.safe_load((REPO / "alerts.yaml").read_text())["monitors"])
    assert "ok" in done.stdout and f"{monitors} monitor(s)" in done.stdout


def test_config_errors_are_printed_without_a_traceback(write_config) -> None:
    path = write_config(
        "warehouse: {type: duckdb, path: x.duckdb}\nmodels: {}\nmonitors:\n  - {name: a, model: m, chek: x}\n"
    )
    done = monitor("validate", "--config", str(path))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert (
        "unknown key 'chek' in monitors[0] (alerts.yaml:4) — did you mean 'check'?" in done.stderr
    )
    assert "missing required key 'check' in monitors[0] (alerts.yaml:4)" in done.stderr
    debug = monitor("--debug", "validate", "--config", str(path))
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_run_prints_breaches_and_backfill_summarises(world) -> None:
    world.load({"x": [float(i) for i in range(100)]}, {"x": [float(i) + 50 for i in range(100)]})
    path = world.config([DRIFT])
    done = monitor("run", "--config", str(path), "--at", "2026-09-09T06:00")
    assert done.returncode == 0, done.stderr
    assert "drift  [2026-09-08 00:00, 2026-09-09 00:00) UTC" in done.stdout
    assert "alert segment=all feature=x ks = 0.5 n=100 baseline n=100" in done.stdout
    assert "(threshold 0.3)" in done.stdout
    back = monitor("backfill", "--config", str(path), "--from", "2026-09-07", "--to", "2026-09-08")
    assert back.returncode == 0, back.stderr
    assert "runs: 1 no_data, 1 ok" in back.stdout


def test_run_exits_non_zero_when_a_monitor_fails(world) -> None:
    world.load({"x": [1.0]}, {"x": [2.0]})
    path = world.config(
        [DRIFT, {"name": "bad", "check": "numeric_drift", "params": {"columns": ["nope"]}}]
    )
    done = monitor("run", "--config", str(path), "--at", "2026-09-09")
    assert done.returncode == 1
    assert "ok      drift" in done.stdout and "error   bad" in done.stdout


def test_unknown_monitor_and_bad_time_are_actionable(world) -> None:
    world.load({"x": [1.0]}, {"x": [2.0]})
    path = world.config([DRIFT])
    done = monitor("run", "--config", str(path), "--monitor", "drfit")
    assert (
        done.returncode == 1 and "no monitor named 'drfit' — did you mean 'drift'?" in done.stderr
    )
    done = monitor("run", "--config", str(path), "--at", "yesterday")
    assert done.returncode == 1 and "cannot read time 'yesterday'" in done.stderr


def test_render_prints_sql_in_the_requested_dialect() -> None:
    args = [
        "render",
        "numeric_drift",
        "--monitor",
        "fraud-feature-drift",
        "--config",
        str(REPO / "alerts.yaml"),
    ]
    done = monitor(*args, "--dialect", "spark", "--at", "2026-09-30")
    assert done.returncode == 0, done.stderr
    tree = sqlglot.parse_one(done.stdout, read="spark")
    assert "prediction_outcomes" in {t.name for t in tree.find_all(sqlglot.exp.Table)}
    assert "ts >= CAST('2026-09-29 00:00:00" in done.stdout
    wrong = monitor(
        "render",
        "categorical_drift",
        "--monitor",
        "fraud-feature-drift",
        "--config",
        str(REPO / "alerts.yaml"),
    )
    assert (
        wrong.returncode == 1
        and "runs check 'numeric_drift', not 'categorical_drift'" in wrong.stderr
    )


def test_list_shows_checks() -> None:
    done = monitor("list", "--config", str(REPO / "alerts.yaml"))
    assert (
        done.returncode == 0
        and "numeric_drift" in done.stdout
        and "categorical_drift" in done.stdout
        and "row_count_ratio" in done.stdout  # the declared metrics are listed
    )


def test_render_leaves_out_alerting_windows_like_a_run(world) -> None:
    """After an alert on 09-08, a later rolling baseline skips that day, in render too."""
    world.load({"x": [float(i) for i in range(100)]}, {"x": [float(i) + 50 for i in range(100)]})
    rolling = {**DRIFT, "baseline": {"kind": "rolling", "days": 7}}
    path = world.config([rolling])
    assert monitor("run", "--config", str(path), "--at", "2026-09-09").returncode == 0
    done = monitor(
        "render", "numeric_drift", "--monitor", "drift", "--config", str(path), "--at", "2026-09-10"
    )
    assert done.returncode == 0, done.stderr
    baseline = done.stdout.split("baseline_window AS")[1].split("observations AS")[0]
    # The 7 days before 09-09 are [09-02, 09-09); the alerting 09-08 is cut off the end.
    assert "ts >= CAST('2026-09-02 00:00:00" in baseline
    assert "ts < CAST('2026-09-08 00:00:00" in baseline
    assert "2026-09-09" not in baseline


def test_validate_finds_missing_columns_with_suggestions(world) -> None:
    world.load({"x": [1.0], "country": ["FR"]}, {"x": [2.0], "country": ["FR"]})
    bad = {
        "name": "d",
        "check": "numeric_drift",
        "params": {"columns": ["x", "amout"], "by": [["contry"]]},
    }
    done = monitor("validate", "--config", str(world.config([bad])))
    assert done.returncode == 1
    assert "monitor 'd': column 'amout' not found in preds" in done.stderr
    assert (
        "monitor 'd': column 'contry' not found in preds — did you mean 'country'?" in done.stderr
    )
    ok = monitor("validate", "--config", str(world.config([DRIFT])))
    assert ok.returncode == 0, ok.stderr


def test_demo_rejects_a_too_short_history() -> None:
    done = monitor("demo", "--days", "5", "--config", str(REPO / "alerts.yaml"))
    assert (
        done.returncode == 2
        and "Invalid value for '--days'" in done.stderr
        and "Traceback" not in done.stderr
    )


def test_usage_errors_are_short_and_exit_2() -> None:
    done = monitor("backfill", "--from", "2026-09-01")
    assert (
        done.returncode == 2
        and "Missing option '--to'" in done.stderr
        and "Traceback" not in done.stderr
    )


def test_version_and_the_config_from_the_environment(world) -> None:
    done = monitor("--version")
    assert done.returncode == 0 and done.stdout.startswith("sql-drift-monitor 0.")
    world.load({"x": [float(i) for i in range(100)]}, {"x": [float(i) for i in range(100)]})
    path = world.config([DRIFT])
    env = {**os.environ, "MONITOR_CONFIG": str(path)}
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "validate"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert f"ok: {path}" in done.stdout  # the file named by $MONITOR_CONFIG
    # --config wins over the environment.
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "validate", "--config", "nope.yaml"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert done.returncode == 1 and "nope.yaml: file not found" in done.stderr


def test_run_and_validate_speak_json(world) -> None:
    world.load({"x": [float(i) for i in range(100)]}, {"x": [float(i) + 50 for i in range(100)]})
    path = world.config([DRIFT])
    done = monitor("run", "--config", str(path), "--at", "2026-09-09T06:00", "--json",
                   "--log-format", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)  # stdout is the one object; the console's message is not in it
    assert out["statuses"] == {"ok": 1} and out["problems"] == []
    (run,) = out["runs"]
    assert run["monitor"] == "drift" and run["window_start"] == "2026-09-08T00:00:00+00:00"
    assert run["breaches"] == [
        {"segment": "all", "feature": "x", "metric": "ks", "value": 0.5, "threshold": 0.3,
         "status": "alert"}
    ]  # fmt: skip
    assert [(a["monitor"], a["metric"], a["action"]) for a in out["alerts"]] == [
        ("drift", "ks", "announce")
    ]
    assert out["delivery"] == {"sent": 1, "waiting": 0, "errors": []}
    assert "drift" in done.stderr  # the console receiver's message went to stderr
    # The logs went to stderr as JSON lines: one per run.
    logs = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert [e["monitor"] for e in logs if e.get("event") == "run"] == ["drift"]

    broken = world.config([{**DRIFT, "name": "broken", "params": {"columns": ["nope"]}}])
    done = monitor("run", "--config", str(broken), "--at", "2026-09-10T06:00", "--json")
    assert done.returncode == 1
    out = json.loads(done.stdout)
    assert out["statuses"] == {"error": 1}
    assert out["problems"][0].startswith("broken [2026-09-09 00:00, 2026-09-10 00:00) UTC: ")
    assert "nope" in out["problems"][0]

    done = monitor("run", "--config", str(world.root / "missing.yaml"), "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout) == {
        "runs": [], "statuses": {}, "alerts": [], "gaps": [], "delivery": None,
        "problems": [f"{world.root / 'missing.yaml'}: file not found (pass --config PATH)"],
    }  # fmt: skip

    done = monitor("validate", "--config", str(broken), "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["ok"] is False and any("'nope' not found" in p for p in report["problems"])
    bad = world.root / "bad.yaml"
    bad.write_text("warehouse: [")
    done = monitor("validate", "--config", str(bad), "--json")
    assert done.returncode == 1 and "invalid YAML" in json.loads(done.stdout)["problems"][0]
