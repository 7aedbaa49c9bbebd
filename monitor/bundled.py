"""Where the built-in checks and the bundled dbt project live.

An installed wheel carries them as package data (`monitor/sql`, `monitor/dbt_project`,
copied from the top-level `sql/` and `dbt_project/` at build time); a checkout, or an
editable install of one, reads those top-level folders directly. Both are reached
through `importlib.resources`, so nothing depends on the working directory.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from monitor.errors import ConfigError


def _folder(name: str) -> Path:
    packaged = Path(str(files("monitor") / name))
    if packaged.is_dir():
        return packaged
    checkout = Path(str(files("monitor"))).parent / name
    if checkout.is_dir():
        return checkout
    raise ConfigError(
        [
            f"the built-in {name}/ folder is missing from this installation ({packaged}): reinstall sql-drift-monitor"
        ]
    )


def checks_dir() -> Path:
    """The built-in checks (`sql/`): searched after a config's own `sql_dirs`."""
    return _folder("sql")


def dbt_project_dir() -> Path:
    """The bundled dbt project: used when a config sets no `dbt.project_dir`."""
    return _folder("dbt_project")
