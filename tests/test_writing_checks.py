"""docs/writing-checks.md's walkthrough, run as written: the check file and the monitor
are taken from the doc, on a demo world, through the CLI an analyst uses. It must
list, validate, render for other engines, and fire for Portugal alone on the shadow
incident's first day, with the numbers an independent computation gives."""

from __future__ import annotations

import re
from datetime import datetime

import duckdb
import pytest
import yaml
from scipy import stats
from typer.testing import CliRunner

from monitor.cli import app
from monitor.config import load_config
from monitor.dbt import build
from monitor.demo import incidents_for, write_world
from tests.conftest import REPO

pytestmark = pytest.mark.slow

DOC = REPO / "docs" / "writing-checks.md"
DAYS = 35  # make demo's world: the doc's dates are its dates
AT = "2026-10-01"


def walkthrough_blocks() -> tuple[str, str]:
    """The check file and the monitor, as the walkthrough shows them."""
    text = DOC.read_text()
    section = text.split("## A walkthrough", 1)[1].split("\n## ", 1)[0]
    sql = re.search(r"```sql\n(.*?)```", section, re.DOTALL)
    monitor = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert sql and monitor, "the walkthrough lost its check file or its monitor"
    assert f"--at {AT}" in section
    return sql.group(1), monitor.group(1)


@pytest.fixture(scope="module")
def analyst(tmp_path_factory):
    root = tmp_path_factory.mktemp("walkthrough")
    sql, monitor = walkthrough_blocks()
    (root / "sql" / "custom").mkdir(parents=True)
    (root / "sql" / "custom" / "high_score_share.sql").write_text(sql)
    doc = yaml.safe_load((REPO / "alerts.yaml").read_text())
    doc["warehouse"]["path"] = str(root / "warehouse.duckdb")
    doc["sql_dirs"] = [str(REPO / "sql"), str(root / "sql")]
    doc["dbt"]["project_dir"] = str(REPO / "dbt_project")
    doc["dbt"]["build_before_checks"] = False
    doc["notify"] = {}
    doc["monitors"] = yaml.safe_load(monitor)
    path = root / "alerts.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    write_world(root / "warehouse.duckdb", days=DAYS, rows_per_day=1000, seed=7)
    build(load_config(path))
    return path


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_the_new_check_is_listed_validated_and_renders_for_other_engines(analyst) -> None:
    assert "high_score_share" in cli("list", "--config", str(analyst))
    assert "ok" in cli("validate", "--config", str(analyst))
    for dialect in ("duckdb", "postgres", "spark"):
        sql = cli("render", "high_score_share", "--monitor", "shadow-high-scores",
                  "--at", AT, "--dialect", dialect, "--config", str(analyst))  # fmt: skip
        assert "both_samples" in sql and "'2026-09-30 00:00:00" in sql


def test_it_fires_for_portugal_alone_with_the_right_numbers(analyst) -> None:
    first_day = incidents_for(DAYS).shadow_country[0]
    assert first_day.isoformat() == "2026-09-30"  # the doc's story
    output = cli("run", "--monitor", "shadow-high-scores", "--at", AT, "--config", str(analyst))
    assert "country=PT" in output

    db = yaml.safe_load(analyst.read_text())["warehouse"]["path"]
    con = duckdb.connect(db, read_only=True)
    alerts = con.execute("SELECT segment, state, severity FROM monitor.alerts").fetchall()
    assert alerts == [("country=PT", "firing", "page")]
    stored = con.execute(
        "SELECT value, sample_size, baseline_value, baseline_size, p_value FROM monitor.metrics "
        "WHERE monitor = 'shadow-high-scores' AND segment = 'country=PT'"
    ).fetchone()

    # Independently: the counts straight from the table, the test from scipy.
    def counts(start: str, end: str) -> tuple[int, int]:
        return con.execute(
            "SELECT count(*) FILTER (WHERE score >= 0.5), count(*) FROM prediction_outcomes "
            "WHERE role = 'shadow' AND country = 'PT' AND isfinite(score) "
            "AND ts >= CAST(? AS TIMESTAMP) AND ts < CAST(? AS TIMESTAMP)",
            [start, end],
        ).fetchone()

    high, n = counts("2026-09-30", "2026-10-01")
    high_base, n_base = counts("2026-09-23", "2026-09-30")
    con.close()
    table = [[high, n - high], [high_base, n_base - high_base]]
    p_value = stats.chi2_contingency(table, correction=False).pvalue
    # Shares from integer counts: exact up to one rounding (1e-12). The p-value comes
    # from the z statistic through the normal tail, scipy's from chi2 = z²: 1e-9.
    assert stored[:4] == pytest.approx((high / n, n, high_base / n_base, n_base), rel=1e-12)
    assert stored[4] == pytest.approx(p_value, rel=1e-9)
    assert high == n > 50 and high_base / n_base < 0.05
    assert datetime.fromisoformat(AT).date() > first_day
