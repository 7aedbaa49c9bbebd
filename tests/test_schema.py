"""`monitor schema`: the JSON Schema of alerts.yaml describes every key, and every
config in the repository (the demo's, the docs' examples, the tests' fixtures) is
valid against it, as the loader says it is."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from monitor.cli import app
from monitor.config import json_schema, load_config
from monitor.errors import ConfigError
from tests.conftest import REPO, World
from tests.test_config import MINIMAL

SCHEMA = json_schema()
VALIDATOR = Draft202012Validator(SCHEMA)
TOP_KEYS = set(SCHEMA["properties"])


def _without_required(node: Any) -> Any:
    """The schema for a fragment: every key still checked, none required."""
    if isinstance(node, dict):
        return {k: _without_required(v) for k, v in node.items() if k != "required"}
    if isinstance(node, list):
        return [_without_required(v) for v in node]
    return node


FRAGMENT = Draft202012Validator(_without_required(copy.deepcopy(SCHEMA)))


def as_json(node: Any) -> Any:
    """YAML reads unquoted dates as dates; editors (and JSON) see the text."""
    if isinstance(node, dict):
        return {k: as_json(v) for k, v in node.items()}
    if isinstance(node, list):
        return [as_json(v) for v in node]
    if isinstance(node, dt.date):
        return node.isoformat()
    return node


def errors(doc: Any, validator: Draft202012Validator = VALIDATOR) -> list[str]:
    """Every error, with those inside an anyOf (an optional section) at their own path."""
    found: list[str] = []

    def add(error: Any) -> None:
        found.append(f"{'/'.join(map(str, error.absolute_path))}: {error.message}")
        for sub in error.context or []:
            add(sub)

    for error in validator.iter_errors(as_json(doc)):
        add(error)
    return found


def test_the_schema_is_2020_12_and_describes_every_key() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    undescribed = []
    for owner, spec in [("(top)", SCHEMA), *SCHEMA["$defs"].items()]:
        for key, prop in spec.get("properties", {}).items():
            if not prop.get("description"):
                undescribed.append(f"{owner}.{key}")
    assert not undescribed
    # Keys as written in YAML, not as the Python attributes are named.
    monitor = SCHEMA["$defs"]["MonitorConfig"]["properties"]
    assert "for" in monitor and "for_" not in monitor
    assert "schema" in SCHEMA["$defs"]["StateConfig"]["properties"]
    assert "path" not in SCHEMA["properties"]  # set by the loader, not written


def test_every_default_is_valid_against_its_own_key() -> None:
    """Editors offer the defaults: each must be what the file may say (durations as
    "10s", not pydantic's "PT10S")."""
    wrong = []
    for owner, spec in [("(top)", SCHEMA), *SCHEMA["$defs"].items()]:
        for key, prop in spec.get("properties", {}).items():
            if "default" in prop:
                check = Draft202012Validator({"$defs": SCHEMA["$defs"], **prop})
                if not check.is_valid(prop["default"]):
                    wrong.append(f"{owner}.{key}: {prop['default']!r}")
    assert not wrong
    durations = SCHEMA["$defs"]["DaemonConfig"]["properties"]
    assert durations["stop_timeout"]["default"] == "20s"
    assert durations["catch_up_horizon"]["default"] == "3d"


def test_monitor_schema_prints_it() -> None:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.output) == SCHEMA


def test_the_demo_config_is_valid() -> None:
    assert errors(yaml.safe_load((REPO / "alerts.yaml").read_text())) == []


def yaml_blocks(path: Path) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", path.read_text(), flags=re.DOTALL)


def test_every_config_example_in_the_docs_is_valid() -> None:
    checked = 0
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for block in yaml_blocks(path):
            doc = yaml.safe_load(block)
            if isinstance(doc, list) and all(isinstance(m, dict) and "check" in m for m in doc):
                doc = {"monitors": doc}  # a monitor or two, as written under monitors:
            elif isinstance(doc, dict) and set(doc) == {"rules"}:
                doc = {"monitors": [doc]}
            if not (isinstance(doc, dict) and set(doc) <= TOP_KEYS):
                continue  # not alerts.yaml (a Kubernetes probe, a checks' tests file)
            complete = {"warehouse", "models"} <= set(doc)
            found = errors(doc) if complete else errors(doc, FRAGMENT)
            assert found == [], f"{path.name}: {found}\n{block}"
            checked += 1
    assert checked >= 6


def test_the_test_fixtures_configs_are_valid(tmp_path: Path) -> None:
    assert errors(yaml.safe_load(MINIMAL)) == []
    world = World(tmp_path)
    config = world.config(
        [{"name": "d", "check": "numeric_drift", "params": {"columns": ["x"]},
          "rules": [{"metric": "psi", "warn": 0.1}]}],
        notify={"slack": {"token_env": "T", "base_url": "http://127.0.0.1:1/api/"}},
    )  # fmt: skip
    assert errors(yaml.safe_load(config.read_text())) == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"notify": {"slack": {"token_ev": "X"}}}, "notify/slack"),  # unknown key
        ({"defaults": {"window": "1 day"}}, "defaults/window"),  # not a duration
        ({"defaults": {"severity": "urgent"}}, "defaults/severity"),
        ({"warehouse": {"type": "oracle", "url": "x"}}, "warehouse"),
    ],
)
def test_the_schema_refuses_what_the_loader_refuses(
    change: dict[str, Any], where: str, tmp_path: Path
) -> None:
    doc = {**yaml.safe_load(MINIMAL), **change}
    found = errors(doc)
    assert found and any(e.startswith(where) for e in found), found
    path = tmp_path / "alerts.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError):
        load_config(path)
