"""Docs that tests keep complete: every config key and every check is documented."""

from __future__ import annotations

from pydantic import BaseModel

from monitor import config as cfg
from monitor.checks import discover_checks
from tests.conftest import REPO


def config_models() -> list[type[BaseModel]]:
    return [
        obj
        for obj in vars(cfg).values()
        if isinstance(obj, type) and issubclass(obj, cfg.Strict) and obj is not cfg.Strict
    ]


def test_every_config_key_is_in_configuration_md() -> None:
    text = (REPO / "docs" / "configuration.md").read_text()
    missing = []
    for model in config_models():
        for name, field in model.model_fields.items():
            key = field.alias or name
            if field.exclude and model is cfg.Config:
                continue  # set by the loader (path, lines), not a YAML key
            if f"`{key}`" not in text:
                missing.append(f"{model.__name__}.{key}")
    assert not missing, f"undocumented keys in docs/configuration.md: {missing}"


def test_every_check_and_metric_is_in_metrics_md() -> None:
    text = (REPO / "docs" / "metrics.md").read_text()
    for check in discover_checks([REPO / "sql"]).values():
        assert f"`{check.family}/{check.name}`" in text, check.name
        # Every metric the check declares has a row in the doc.
        assert check.metrics, f"{check.name}: the header should declare its metrics"
        for metric in check.metrics:
            assert f"`{metric}`" in text, f"{check.name}: {metric}"


def test_readme_starts_with_the_two_commands() -> None:
    lines = [line for line in (REPO / "README.md").read_text().splitlines() if line.strip()]
    assert lines[1] == "```sh"
    assert lines[2].startswith("make demo") and lines[3].startswith("make test")
