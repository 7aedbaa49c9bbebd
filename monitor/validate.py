"""`monitor validate`: find every problem before anything runs, and report them all.

Config errors come from ``load_config``. Here: every monitor's check renders with its
params, parses, returns its declared columns and transpiles to the warehouse's dialect;
and, when the warehouse exists, the tables and columns the monitors read are there.
"""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.config import Config
from monitor.errors import MonitorError, did_you_mean
from monitor.runner import Runner
from monitor.warehouse import connect
from monitor.windows import window_for

CONTRACT_COLUMNS = ("model_name", "role", "ts")


def validate(config: Config) -> tuple[list[str], list[str]]:
    """(problems, notes): problems make validation fail; notes are for information."""
    runner = Runner(config)
    problems: list[str] = []
    notes: list[str] = []
    now = datetime.now(UTC)
    for m in config.monitors:
        try:
            runner.compile(m, window_for(now, m), now, config.warehouse.type)
        except MonitorError as exc:
            problems.append(f"monitor {m.name!r}: {exc}")
    if not config.warehouse.path.exists():
        notes.append(f"{config.warehouse.path} does not exist yet: tables and columns not checked")
        return problems, notes
    with connect(config.warehouse, read_only=True) as wh:
        for key, model in config.models.items():
            try:
                present = [name for name, _ in wh.columns(model.predictions)]
            except MonitorError:
                if _is_dbt_model(config, model.predictions):
                    notes.append(f"model {key!r}: dbt model {model.predictions!r} is not built yet")
                else:
                    problems.append(
                        f"model {key!r}: table {model.predictions!r} not found in the warehouse"
                    )
                continue
            wanted = {c: f"model {key!r}" for c in (*CONTRACT_COLUMNS, *model.features.numeric,
                                                    *model.features.categorical, *model.slices)}  # fmt: skip
            for m in config.monitors:
                if m.model == key:
                    for c in _param_columns(m.params):
                        wanted.setdefault(c, f"monitor {m.name!r}")
            for column, user in wanted.items():
                if column not in present:
                    problems.append(
                        f"{user}: column {column!r} not found in {model.predictions}"
                        f"{did_you_mean(column, present)}"
                    )
    return problems, notes


def _param_columns(params: dict[str, object]) -> list[str]:
    """Column names a monitor's params name (`columns`, `by`, `slices`)."""
    out: list[str] = []
    for key in ("columns", "by", "slices"):
        value = params.get(key)
        items = value if isinstance(value, list) else [value] if isinstance(value, str) else []
        for item in items:
            out.extend(
                c for c in (item if isinstance(item, list) else [item]) if isinstance(c, str)
            )
    return out


def _is_dbt_model(config: Config, name: str) -> bool:
    if config.dbt is None:
        return False
    return any((config.dbt.project_dir / "models").rglob(f"{name.split('.')[-1]}.sql"))
