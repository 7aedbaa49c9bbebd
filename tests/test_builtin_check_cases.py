"""Every built-in check ships unit tests (`<check>.tests.yaml` beside it) that pin its
formulas to hand-computed values; they pass on DuckDB and on a real PostgreSQL server,
and between them they name every metric each check declares."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes
from jinja2.defaults import DEFAULT_NAMESPACE

from monitor.check_tests import collect_cases, run_check_tests
from monitor.checks import discover_checks
from monitor.config import Config, load_config
from tests.conftest import REPO


def builtin_config(tmp_path: Path, state: str = "") -> Config:
    (tmp_path / "alerts.yaml").write_text(
        f"warehouse: {{type: duckdb, path: {tmp_path / 'wh.duckdb'}}}\n{state}"
        f"sql_dirs: [{REPO / 'sql'}]\nmodels: {{}}\n"
    )
    return load_config(tmp_path / "alerts.yaml")


def failures(config: Config, dialect: str) -> list[str]:
    results = run_check_tests(config, dialect=dialect)
    assert len(results) >= 5 * len(discover_checks(config.sql_dirs))
    return [f for r in results for f in r.failures]


def test_every_builtin_check_has_cases_for_every_metric_it_declares(tmp_path) -> None:
    config = builtin_config(tmp_path)
    cases = collect_cases(config)
    for name, check in discover_checks(config.sql_dirs).items():
        own = [c for c in cases if c.check == name]
        assert own, f"{name} has no tests file"
        # A metric only ever expected to be NULL is not pinned: its formula is untested.
        pinned = {e.metric for c in own for e in c.expect or () if e.pins.get("value") is not None}
        assert set(check.metrics) <= pinned, f"{name}: no case pins {set(check.metrics) - pinned}"
        worked = [c for c in own if c.expect]
        assert all(c.description for c in worked), f"{name}: a case without its hand computation"


def test_the_helpers_are_small_explicit_and_one_hop_deep() -> None:
    """sql/macros/: one macro per file, named as the file, at most 30 lines, importing
    nothing (no helper calls another), reading only its arguments (and `fail`, and
    Jinja's own globals such as `namespace`); checks import helpers by name, never
    `with context`: what a helper sees is what its call passes."""
    env = jinja2.Environment()
    for path in sorted((REPO / "sql" / "macros").glob("*.sql")):
        text = path.read_text()
        tree = env.parse(text)
        (macro,) = tree.find_all(nodes.Macro)
        assert macro.name == path.stem, path
        assert text.count("\n") <= 30, f"{path.name}: {text.count(chr(10))} lines"
        assert not list(tree.find_all((nodes.Import, nodes.FromImport))), f"{path.name} imports"
        own = {a.name for a in macro.args} | {"fail", "loop"} | set(DEFAULT_NAMESPACE)
        own |= {n.name for n in macro.find_all(nodes.Name) if n.ctx in ("store", "param")}
        read = {n.name for n in macro.find_all(nodes.Name) if n.ctx == "load"}
        assert read <= own, f"{path.name} reads {read - own} that it is not passed"
    for path in (REPO / "sql").rglob("*.sql"):
        for node in env.parse(path.read_text()).find_all(nodes.FromImport):
            assert not node.with_context, f"{path}: imports {node.template.value} with context"


def test_the_builtin_cases_pass_on_duckdb(tmp_path) -> None:
    assert failures(builtin_config(tmp_path), "duckdb") == []


@pytest.mark.slow
def test_the_builtin_cases_pass_on_postgres(tmp_path, postgres_server) -> None:
    url = postgres_server.create_database("builtin_cases")
    config = builtin_config(tmp_path, f"state: {{database: {{type: postgres, url: '{url}'}}}}\n")
    assert failures(config, "postgres") == []
