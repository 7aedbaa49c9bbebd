"""docs/writing-checks.md's walkthrough, run as written: the check file, the monitor and
the tests file are taken from the doc, on a demo world, through the CLI an analyst
uses. It must list, validate, render for other engines, fire for Portugal alone on
the shadow incident's first day with the numbers an independent computation gives,
and pass its own test cases (and fail, naming the case, when one is wrong)."""

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


TESTS_FILE = "# sql/custom/high_score_share.tests.yaml\n"


def walkthrough_blocks() -> tuple[str, str, str]:
    """The check file, the monitor and the tests file, as the walkthrough shows them."""
    text = DOC.read_text()
    section = text.split("## A walkthrough", 1)[1].split("\n## ", 1)[0]
    sql = re.search(r"```sql\n(.*?)```", section, re.DOTALL)
    yaml_blocks = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    monitors = [b for b in yaml_blocks if not b.startswith(TESTS_FILE)]
    tests = [b for b in yaml_blocks if b.startswith(TESTS_FILE)]
    assert sql and len(monitors) == 1 and len(tests) == 1, "the walkthrough lost a block"
    assert f"--at {AT}" in section
    return sql.group(1), monitors[0], tests[0]


@pytest.fixture(scope="module")
def analyst(tmp_path_factory):
    root = tmp_path_factory.mktemp("walkthrough")
    sql, monitor, tests = walkthrough_blocks()
    (root / "sql" / "custom").mkdir(parents=True)
    (root / "sql" / "custom" / "high_score_share.sql").write_text(sql)
    (root / "sql" / "custom" / "high_score_share.tests.yaml").write_text(tests)
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


def cli(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
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


def test_its_test_cases_pass_and_a_wrong_expectation_fails(analyst, postgres_server) -> None:
    output = cli("test", "--check", "high_score_share", "--config", str(analyst))
    assert "3 passed, 0 failed" in output
    # On PostgreSQL too, which raises on a division by zero where DuckDB gives inf.
    url = postgres_server.create_database("walkthrough")
    on_postgres = analyst.parent / "postgres.yaml"
    on_postgres.write_text(
        f"warehouse: {{type: duckdb, path: {analyst.parent / 'unused.duckdb'}}}\n"
        f"state: {{database: {{type: postgres, url: '{url}'}}}}\n"
        f"sql_dirs: [{REPO / 'sql'}, {analyst.parent / 'sql'}]\nmodels: {{}}\n"
    )
    output = cli(
        "test", "--check", "high_score_share", "--dialect", "postgres", "--config", str(on_postgres)
    )
    assert "3 passed, 0 failed" in output
    tests = analyst.parent / "sql" / "custom" / "high_score_share.tests.yaml"
    text = tests.read_text()
    assert text.count("value: 1.0, sample_size: 2") == 1
    tests.write_text(text.replace("value: 1.0, sample_size: 2", "value: 0.5, sample_size: 2"))
    try:
        output = " ".join(
            cli("test", "--check", "high_score_share", "--config", str(analyst), code=1).split()
        )
    finally:
        tests.write_text(text)
    assert "FAIL high_score_share::one_in_two_then_two_in_two" in output
    assert (
        "case 'one_in_two_then_two_in_two': country=PT//high_score_share value: "
        "expected 0.5, got 1.0"
    ) in output
    assert "2 passed, 1 failed" in output
