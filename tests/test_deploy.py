"""deploy/: what a platform team runs, checked where a test can check it. The
container's HEALTHCHECK command and the Prometheus rules run against a real daemon; the
Kubernetes manifests and the systemd unit are read for what they must say, their
commands are parsed by the CLI itself, and systemd-analyze verifies the unit."""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from monitor.cli import app
from monitor.config import Config, json_schema, load_config
from tests.conftest import REPO
from tests.test_daemon import Daemons

DEPLOY = REPO / "deploy"


def parses(args: list[str]) -> None:
    """The CLI accepts these arguments (unknown options and bad values fail before
    --help is honoured)."""
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, f"monitor {' '.join(args)}: {result.output}"


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (DEPLOY / "Dockerfile").read_text())
    steps = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            steps.append((word.upper(), rest.strip()))
    return steps


def test_the_dockerfile_builds_a_slim_non_root_image_of_the_wheel() -> None:
    steps = dockerfile()
    bases = [args.split()[0] for word, args in steps if word == "FROM"]
    assert bases and all(b.startswith("python:") and b.endswith("-slim") for b in bases)
    (user,) = [args for word, args in steps if word == "USER"]
    assert user.split(":")[0] not in ("root", "0")
    runs = " ".join(args for word, args in steps if word == "RUN")
    assert "pip wheel" in runs and "-c /tmp/constraints.txt" in runs
    # The wheel's requirement, as the shell expands it: extras only when EXTRAS is set.
    (wheel,) = re.findall(r'"(\$\(ls /wheels/\*\.whl\)[^"]*)"', runs)
    for extras, expected in (
        ("postgres", "[postgres]"),
        ("postgres,spark", "[postgres,spark]"),
        ("", ""),
    ):
        shown = subprocess.run(
            ["sh", "-c", f'ls() {{ echo /wheels/x.whl; }}; echo "{wheel}"'],
            env={"EXTRAS": extras}, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        assert shown == f"/wheels/x.whl{expected}", (extras, shown)
    # Every file it copies exists (the build context is the repository root).
    for word, args in steps:
        if word == "COPY" and "--from" not in args:
            for source in args.split()[:-1]:
                assert (REPO / source).exists(), source
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text()
    assert ignore.startswith("#") and "\n*\n" in ignore  # send nothing but what is listed
    entry = json.loads(next(args for word, args in steps if word == "ENTRYPOINT"))
    command = json.loads(next(args for word, args in steps if word == "CMD"))
    assert entry == ["monitor"] and command[0] == "daemon"
    parses(command)


def healthcheck() -> list[str]:
    (args,) = [args for word, args in dockerfile() if word == "HEALTHCHECK"]
    exec_form = json.loads(args.split(" CMD ", 1)[1])
    assert "/livez" in " ".join(exec_form)  # never /healthz: see the Dockerfile
    return exec_form


def test_healthcheck_and_prometheus_rules_against_a_real_daemon(tmp_path: Path) -> None:
    """The HEALTHCHECK command passes while the daemon runs and fails once it stopped;
    every metric the example rules use is one the daemon exports."""
    daemons = Daemons(tmp_path)
    try:
        daemons.config([{"name": "volume", "model": "m", "check": "row_count",
                         "schedule": "0 0 1 1 *", "rules": [{"metric": "row_count", "alert": 1e9}]}])  # fmt: skip
        daemon = daemons.start()
        port = daemon.port
        command = [sys.executable if a == "python" else a for a in healthcheck()]
        command = [a.replace(":9464/", f":{port}/") for a in command]
        assert subprocess.run(command, capture_output=True).returncode == 0
        status, metrics = daemon.get("/metrics")
        assert status == 200
        exported = set(re.findall(r"^# TYPE (\w+) (\w+)", metrics, flags=re.MULTILINE))
        names = {name for name, _ in exported}
        names |= {f"{name}_total" for name, kind in exported if kind == "counter"}
        rules = yaml.safe_load((DEPLOY / "prometheus" / "rules.yaml").read_text())
        used = {
            metric
            for group in rules["groups"]
            for rule in group["rules"]
            for metric in re.findall(r"\b(monitor_\w+)", rule["expr"])
        }
        assert used and used <= names, used - names
        assert daemon.stop() == 0
        assert subprocess.run(command, capture_output=True).returncode != 0
    finally:
        daemons.close()


def test_the_prometheus_scrape_example_reaches_the_metrics_port() -> None:
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "scrape.yaml").read_text())
    jobs = {job["job_name"]: job for job in scrape["scrape_configs"]}
    static = jobs["sql-drift-monitor-static"]
    assert static["metrics_path"] == "/metrics"
    assert static["static_configs"][0]["targets"][0].endswith(":9464")
    # The pod job keeps what daemon.yaml annotates.
    annotations = deployment()["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == "9464"


def manifests(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEPLOY / "kubernetes" / name).read_text()) if d]


def deployment() -> dict[str, Any]:
    (found,) = [d for d in manifests("daemon.yaml") if d["kind"] == "Deployment"]
    return found


def shipped_config(tmp_path: Path) -> Config:
    (config_map,) = [d for d in manifests("daemon.yaml") if d["kind"] == "ConfigMap"]
    text = config_map["data"]["alerts.yaml"]
    path = tmp_path / "alerts.yaml"
    path.write_text(text)
    from jsonschema import Draft202012Validator

    assert not list(Draft202012Validator(json_schema()).iter_errors(yaml.safe_load(text)))
    return load_config(path)


def secrets_needed(config: Config) -> set[str]:
    notify = config.notify
    named = {
        getattr(config.warehouse, "password_env", None),
        notify.slack.token_env if notify.slack else None,
        notify.pagerduty.routing_key_env if notify.pagerduty else None,
        notify.webhook.url_env if notify.webhook else None,
    }
    return {n for n in named if n}


def container_env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e for e in container["env"]}


def test_the_kubernetes_deployment_probes_the_right_endpoints(tmp_path: Path) -> None:
    config = shipped_config(tmp_path)
    spec = deployment()["spec"]
    assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate"
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    # SIGTERM, then daemon.stop_timeout for the in-flight run, then SIGKILL.
    assert pod["terminationGracePeriodSeconds"] > config.daemon.stop_timeout.total_seconds()
    (container,) = pod["containers"]
    parses(container["args"])
    port = int(container["args"][container["args"].index("--port") + 1])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == port
    assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/livez"
    # Every secret the shipped config names comes from the Secret.
    env = container_env(container)
    assert env["MONITOR_CONFIG"]["value"] == "/etc/sql-drift-monitor/alerts.yaml"
    for name in secrets_needed(config):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "sql-drift-monitor", name
    # A read-only root filesystem needs somewhere for dbt's work folder.
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"/etc/sql-drift-monitor", "/home/monitor/.cache"} <= mounts


def test_the_kubernetes_cronjob_runs_one_pass_at_a_time(tmp_path: Path) -> None:
    config = shipped_config(tmp_path)
    (cron,) = manifests("cronjob.yaml")
    assert cron["kind"] == "CronJob" and cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"][0] == "run" and "--log-format" in container["args"]
    parses(container["args"])
    env = container_env(container)
    assert secrets_needed(config) <= set(env)


def test_the_systemd_unit(tmp_path: Path) -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    text = (DEPLOY / "systemd" / "sql-drift-monitor.service").read_text()
    unit.read_string(text)
    service = unit["Service"]
    exec_start = shlex.split(service["ExecStart"])
    assert exec_start[0].endswith("/bin/monitor")
    parses(exec_start[1:])
    assert "-HUP" in service["ExecReload"]  # SIGHUP reloads alerts.yaml
    assert service["KillSignal"] == "SIGTERM" and service["Restart"] == "on-failure"
    assert service["User"] not in ("root", "0")
    stop_timeout = load_config(REPO / "alerts.yaml").daemon.stop_timeout.total_seconds()
    assert int(service["TimeoutStopSec"]) > stop_timeout
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (tests/system-packages.sh installs it)")
    # Verify the unit as written, with only the install location and user swapped for
    # this machine's (verify checks that the program exists).
    here = text.replace(
        "/opt/sql-drift-monitor/bin/monitor", str(Path(sys.executable).parent / "monitor")
    )
    here = re.sub(r"^(User|Group)=.*$", r"\1=root", here, flags=re.MULTILINE)
    copy = tmp_path / "sql-drift-monitor.service"
    copy.write_text(here)
    done = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
