"""docs/architecture.md's layers are the import graph: a module imports only from its
own layer and the layers below, every module of the package is in a layer, and inside
monitor/alerts/ each module imports only the ones listed before it. Read with `ast`
(imports inside functions count too), so a new import the wrong way fails here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "monitor"
DOC = REPO / "docs" / "architecture.md"


def _block(kind: str) -> list[str]:
    match = re.search(rf"```{kind}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert match, f"docs/architecture.md has no ```{kind} block"
    return [line for line in match.group(1).splitlines() if line.strip()]


def layers() -> dict[str, int]:
    """Top-level part of the package (module or subpackage) -> its layer, 0 lowest."""
    rows = _block("layers")
    rank: dict[str, int] = {}
    for height, row in enumerate(reversed(rows)):
        _, *parts = row.split()
        for part in parts:
            assert part not in rank, f"{part} is in two layers"
            rank[part] = height
    return rank


def modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the package (not the vendored JS)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 2:
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(path: Path, known: set[str]) -> set[str]:
    """The package's modules a file imports (`from monitor import x` is monitor.x when
    x is a module, else the package root)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "monitor"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "monitor":
                continue
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                out.add(name if name in known else node.module)
    return out


def part_of(module: str) -> str:
    """The layer entry a module belongs to: `monitor.alerts.stage` -> alerts."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_is_in_a_layer() -> None:
    rank = layers()
    missing = sorted({part_of(m) for m in modules()} - set(rank))
    assert not missing, f"add these to docs/architecture.md's layers: {missing}"
    stale = sorted(set(rank) - {part_of(m) for m in modules()})
    assert not stale, f"docs/architecture.md names modules that do not exist: {stale}"


def test_imports_go_down_the_layers() -> None:
    rank = layers()
    found = modules()
    wrong = []
    for module, path in sorted(found.items()):
        mine = part_of(module)
        for target in sorted(imports(path, set(found))):
            theirs = part_of(target)
            if rank[theirs] > rank[mine]:
                wrong.append(f"{module} imports {target} ({mine} is below {theirs})")
    assert not wrong, "\n".join(wrong)


def test_alert_modules_import_only_earlier_ones() -> None:
    (row,) = _block("alerts")
    order = row.split()
    found = modules()
    inside = {m for m in found if m.startswith("monitor.alerts.")}
    assert {m.rsplit(".", 1)[1] for m in inside} == set(order), "list every alerts module"
    wrong = []
    for module in sorted(inside):
        mine = order.index(module.rsplit(".", 1)[1])
        for target in imports(found[module], set(found)) & inside:
            if order.index(target.rsplit(".", 1)[1]) >= mine:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("source", "target"),
    [("monitor.store.state", "monitor.alerts.stage"), ("monitor.notify.slack", "monitor.store")],
)
def test_a_wrong_way_import_is_caught(tmp_path: Path, source: str, target: str) -> None:
    """The check itself: an import up the layers is reported (so the tests above can fail)."""
    rank = layers()
    fake = tmp_path / "m.py"
    fake.write_text(f"from {target} import x\n", encoding="utf-8")
    (got,) = imports(fake, set(modules()))
    assert rank[part_of(got)] > rank[part_of(source)]
