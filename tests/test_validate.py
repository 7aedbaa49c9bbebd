"""`monitor validate`: every problem of every check, at once, with its file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor.checks import parse_check
from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.validate import undeclared_names, validate
from tests.conftest import REPO
from tests.test_cli import monitor

HEADER = """\
/* ---
name: {name}
description: A test check.
params:
  cutoff: {{type: float, default: 0.9}}
returns: [segment, feature, metric, value, sample_size]
--- */
"""

# Each body starts on line 8 of its file, after the 7-line header.
CHECKS = {
    # line 9: a param the header does not declare (a typo of `cutoff`)
    "undeclared": """\
SELECT 'all' AS segment, '' AS feature, 'share' AS metric,
       AVG(CASE WHEN x > {{ cutof }} THEN 1.0 ELSE 0.0 END) AS value,
       COUNT(*) AS sample_size
FROM {{ model.predictions | table }}
""",
    # line 10: a column the table does not have
    "missing_column": """\

SELECT 'all' AS segment, '' AS feature, 'mean' AS metric,
       AVG(amout) AS value,
       COUNT(*) AS sample_size
FROM {{ model.predictions | table }}
""",
    # line 10: a misspelt function, which only the engine can tell
    "typo_function": """\
-- root mean square
SELECT 'all' AS segment, '' AS feature, 'rms' AS metric,
       SQRTT(AVG(x * x)) AS value,
       COUNT(*) AS sample_size
FROM {{ model.predictions | table }}
""",
    # line 6 (the header's `returns:`): the select list does not match it
    "wrong_returns": """\
SELECT 'all' AS segment, '' AS feature, 'n' AS metric,
       COUNT(*) AS n
FROM {{ model.predictions | table }}
""",
}


def _write_checks(folder: Path, names: list[str]) -> None:
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / f"{name}.sql").write_text(HEADER.format(name=name) + CHECKS[name])


def test_every_problem_with_file_and_line(world) -> None:
    world.load({"x": [1.0, 2.0]}, {"x": [3.0]})
    folder = world.root / "checks"
    _write_checks(folder, list(CHECKS))
    world.sql_dirs = [str(REPO / "sql"), str(folder)]
    path = world.config([{"name": n, "check": n} for n in CHECKS])

    done = monitor("validate", "--config", str(path))

    assert done.returncode == 1
    err = " ".join(done.stderr.split())  # rich wraps long lines
    assert "4 problem(s)" in err
    assert (
        f"{folder}/undeclared.sql:9: 'cutof' is not a declared param of undeclared nor part "
        "of the template context — did you mean 'cutoff'? (declare it under params:)"
    ) in err
    assert (
        f"monitor 'missing_column': {folder}/missing_column.sql:10: column 'amout' not found "
        "in preds" in err
    )
    assert f"monitor 'typo_function': {folder}/typo_function.sql:10: dry run failed:" in err
    assert "sqrtt" in err.lower()
    assert (
        f"monitor 'wrong_returns': {folder}/wrong_returns.sql:6: the query returns "
        "(segment, feature, metric, n) but the header declares returns: "
        "[segment, feature, metric, value, sample_size]" in err
    )


def test_a_construct_the_warehouse_dialect_cannot_express(world, tmp_path) -> None:
    """Trino has no exact QUANTILE_CONT: transpiling raises instead of approximating."""
    folder = tmp_path / "checks"
    folder.mkdir()
    (folder / "p95.sql").write_text(
        HEADER.format(name="p95")
        + textwrap.dedent("""\
            SELECT 'all' AS segment, '' AS feature, 'p95' AS metric,
                   QUANTILE_CONT(x, 0.95) AS value, COUNT(*) AS sample_size
            FROM {{ model.predictions | table }}
            """)
    )
    world.sql_dirs = [str(folder)]
    path = world.config(
        [{"name": "p", "check": "p95"}],
        warehouse={"type": "trino", "host": "localhost", "user": "u", "catalog": "c",
                   "schema": "s"},
        state={"database": {"type": "duckdb", "path": str(tmp_path / "state.duckdb")}},
    )  # fmt: skip
    problems, notes = validate(load_config(path))
    assert problems == [
        f"monitor 'p': {folder}/p95.sql: cannot be written in the trino dialect: "
        "Trino has no exact QUANTILE_CONT (only approx_percentile)"
    ]
    assert any("trino" in n and "pip install 'sql-drift-monitor[trino]'" in n for n in notes)


def test_a_check_imports_the_macros_it_calls(tmp_path) -> None:
    """A check in an extra folder imports the repository's macros (sql/macros/) by name;
    a macro called without its import line is named, with the line to add."""
    folder = tmp_path / "checks"
    folder.mkdir()
    (folder / "mine.sql").write_text(
        HEADER.format(name="mine")
        + "{%- from 'macros/segment_label.sql' import segment_label %}\n"
        + "SELECT {{ segment_label([]) }} AS segment, '' AS feature, 'n' AS metric,\n"
        + "       1.0 AS value, COUNT(*) AS sample_size FROM {{ model.predictions | table }}\n"
        + "WHERE {{ finite_double('x') }} > {{ cutof }}\n"
    )
    check = parse_check(folder / "mine.sql", folder)
    problems = undeclared_names(check, [REPO / "sql", folder])
    assert problems == [
        f"{folder}/mine.sql:11: 'cutof' is not a declared param of mine nor part of the "
        "template context — did you mean 'cutoff'? (declare it under params:)",
        f"{folder}/mine.sql:11: 'finite_double' is a macro the check does not import: add "
        "{% from 'macros/finite_double.sql' import finite_double %} at its top",
    ]


def test_a_check_no_monitor_uses_is_validated_too(world) -> None:
    """An analyst's new check is checked before any monitor runs it: its names, and
    rendered with its defaults (its select list against `returns`)."""
    world.load({"x": [1.0, 2.0]}, {"x": [3.0]})
    folder = world.root / "checks"
    _write_checks(folder, ["undeclared", "wrong_returns"])
    world.sql_dirs = [str(REPO / "sql"), str(folder)]
    path = world.config([{"name": "volume", "check": "row_count"}])

    done = monitor("validate", "--config", str(path))

    assert done.returncode == 1
    err = " ".join(done.stderr.split())  # rich wraps long lines
    assert "2 problem(s)" in err
    assert (
        f"{folder}/undeclared.sql:9: 'cutof' is not a declared param of undeclared nor part "
        "of the template context — did you mean 'cutoff'? (declare it under params:)"
    ) in err
    assert (
        "check wrong_returns (no monitor uses it; rendered with its defaults): "
        f"{folder}/wrong_returns.sql:6: the query returns (segment, feature, metric, n)"
    ) in err

    (folder / "undeclared.sql").unlink()
    (folder / "wrong_returns.sql").write_text(
        HEADER.format(name="wrong_returns")
        + CHECKS["wrong_returns"].replace("AS n", "AS value, 1 AS sample_size")
    )
    done = monitor("validate", "--config", str(path))
    assert done.returncode == 0, done.stderr


def test_a_mistake_in_a_tests_file_is_a_problem(world) -> None:
    world.load({"x": [1.0, 2.0]}, {"x": [3.0]})
    folder = world.root / "checks"
    _write_checks(folder, ["wrong_returns"])
    (folder / "wrong_returns.tests.yaml").write_text(
        "cases:\n  - name: one\n    paramz: {}\n    expect: []\n"
    )
    world.sql_dirs = [str(folder)]
    problems, _ = validate(load_config(world.config([])))
    assert (
        f"{folder.name}/wrong_returns.tests.yaml:3: case 'one': unknown key 'paramz' in a case"
        in (" ".join(problems))
    )


def test_the_repository_checks_validate_clean() -> None:
    problems, _ = validate(load_config(REPO / "alerts.yaml"))
    assert problems == []


def test_a_receiver_without_its_secret_here_is_a_note(world, monkeypatch) -> None:
    monkeypatch.delenv("PAGERDUTY_ROUTING_KEY", raising=False)
    monkeypatch.setenv("TEST_SLACK_TOKEN", "xoxb-test")
    notify = {
        "slack": {"token_env": "TEST_SLACK_TOKEN"},
        "pagerduty": {},
        "alertmanager": {"url": "http://127.0.0.1:9"},
    }
    path = world.config([{"name": "rows", "check": "row_count"}], notify=notify)
    _, notes = validate(load_config(path))
    wanted = "notify.pagerduty: $PAGERDUTY_ROUTING_KEY is not set here"
    assert [n for n in notes if n.startswith("notify.")] == [
        f"{wanted}, so this process sends nothing to pagerduty"
    ]


def test_a_check_of_ones_own_overrides_the_builtin_of_that_name(world, tmp_path) -> None:
    """sql_dirs come before the built-in checks: a file named like a built-in replaces
    it for every monitor, validate says which file won, and the built-in's own test
    cases no longer run against it."""
    folder = tmp_path / "mine" / "quality"
    folder.mkdir(parents=True)
    builtin = REPO / "sql" / "quality" / "row_count.sql"
    mine = folder / "row_count.sql"
    # The built-in, changed: every row counts twice.
    mine.write_text(builtin.read_text().replace("COUNT(*)", "2 * COUNT(*)", 1))
    assert mine.read_text() != builtin.read_text()
    world.load({"x": [1.0] * 10}, {"x": [1.0] * 10})
    world.sql_dirs = [str(tmp_path / "mine")]
    path = world.config([{"name": "volume", "check": "row_count"}])
    config = load_config(path)
    problems, notes = validate(config)
    assert problems == []
    assert f"check row_count: {mine} overrides the built-in {builtin}" in notes
    (result,) = world.run([{"name": "volume", "check": "row_count"}])
    counts = {r.metric: r.value for r in result.rows if r.segment == "all"}
    assert counts["row_count"] == 20  # the override ran, not the built-in (10)
    # `monitor test`: only the config's own checks by default, which have no cases here.
    done = monitor("test", "--config", str(path))
    assert done.returncode == 1 and "no test cases found in" in done.stderr
    done = monitor("test", "--config", str(path), "--check", "row_count")
    assert done.returncode == 1 and "check row_count has no tests file" in done.stderr
    done = monitor("test", "--config", str(path), "--all")  # and the built-in ones' cases
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS freshness::" in done.stdout and "row_count::" not in done.stdout


def test_validate_notes_what_the_search_order_replaces_or_leaves_unused(world, tmp_path) -> None:
    mine = tmp_path / "mine"
    (mine / "macros").mkdir(parents=True)
    # A helper named like a built-in one replaces it for the built-in checks too.
    (mine / "macros" / "model_rows.sql").write_text(
        (REPO / "sql" / "macros" / "model_rows.sql").read_text()
    )
    (mine / "macros" / "extra.sql").write_text("{% macro extra() %}1{% endmacro %}\n")
    # Folders beside the config that the config does not name (the defaults were
    # sql/ and dbt_project/ once).
    (tmp_path / "sql").mkdir()
    (tmp_path / "dbt_project").mkdir()
    (tmp_path / "dbt_project" / "dbt_project.yml").write_text("name: x\n")
    world.load({"x": [1.0]}, {"x": [1.0]})
    world.sql_dirs = [str(mine)]
    path = world.config(
        [{"name": "volume", "check": "row_count"}], dbt={"build_before_checks": False}
    )
    problems, notes = validate(load_config(path))
    assert problems == []
    assert (
        f"{mine}/macros/model_rows.sql replaces the built-in helper macros/model_rows.sql for "
        "every check that imports it, the built-in checks too"
    ) in notes
    assert not [n for n in notes if "extra.sql" in n]  # a new helper replaces nothing
    assert (
        f"{tmp_path / 'sql'} is not in sql_dirs: its checks are not used (add sql_dirs: [sql] to use them)"
        in notes
    )
    assert any(n.startswith(f"{tmp_path / 'dbt_project'} is not dbt.project_dir") for n in notes)


def test_a_rule_on_a_metric_the_check_never_emits(world) -> None:
    """`freshnes` for `freshness`: the rule could never fire. validate names the line,
    the nearest metric and those the check emits."""
    world.load({"x": [1.0]}, {"x": [2.0]})
    path = world.config([
        {"name": "fresh", "check": "freshness", "rules": [{"metric": "freshnes", "warn": 60}]},
        {"name": "count", "check": "row_count", "rules": [{"metric": "row_count", "warn": 1}]},
    ])  # fmt: skip
    problems, _ = validate(load_config(path))
    (problem,) = [p for p in problems if "emits no metric" in p]
    line = path.read_text().splitlines().index("  - metric: freshnes") + 1
    assert problem == (
        f"alerts.yaml:{line}: monitor 'fresh': rules[0]: check freshness emits no metric "
        "'freshnes' — did you mean 'freshness'?; it emits freshness, future_rows"
    )


def test_an_unknown_check_or_param_names_its_line(world) -> None:
    world.load({"x": [1.0]}, {"x": [2.0]})
    path = world.config([
        {"name": "typo", "check": "numeric_drfit", "params": {"columns": ["x"]}},
        {"name": "param", "check": "numeric_drift", "params": {"columns": ["x"], "bns": 3}},
    ])  # fmt: skip
    problems, _ = validate(load_config(path))
    text = path.read_text().splitlines()
    check_line = text.index("  check: numeric_drfit") + 1
    params_line = [i for i, t in enumerate(text, 1) if t.startswith("  params:")][1]
    assert any(
        p.startswith(f"alerts.yaml:{check_line}: monitor 'typo': unknown check 'numeric_drfit'")
        for p in problems
    ), problems
    assert any(
        p.startswith(f"alerts.yaml:{params_line}: monitor 'param': ") and "unknown param 'bns'" in p
        for p in problems
    ), problems


# The configs a hostile-but-fair probe tried, each a change to PROBE_BASE: what
# `monitor validate` must say of it, and where. `mark` is a text on the line the
# problem names (in alerts.yaml, or in the check file for `huge_loop`).
PROBE_BASE = """\
warehouse: {type: duckdb, path: WH}
sql_dirs: [SQL, EXTRA]
models:
  m: {predictions: preds}
monitors:
  - name: count
    model: m
    check: row_count
    params: {by: [[country]]}
    rules: [{metric: row_count_ratio, direction: below, alert: 0.5}]
"""
RULES = "    rules: [{metric: row_count_ratio, direction: below, alert: 0.5}]\n"
HUGE_LOOP = HEADER.format(name="huge_loop") + (
    "SELECT 'all' AS segment, '' AS feature, 'n' AS metric, 1.0 AS value, 1 AS sample_size\n"
    "{% for i in range(10**7) %}{% endfor %}\n"
)
PROBE_CASES = [
    # (id, replace this, with that, mark, what the problem says)
    ("duplicate_key", "    check: row_count\n", "    check: row_count\n    check: null_rate\n",
     "check: null_rate", "key 'check' is given twice"),
    ("nan_threshold", "alert: 0.5", "alert: .nan", "rules:", "finite number"),
    ("inf_threshold", "alert: 0.5", "alert: .inf", "rules:", "finite number"),
    ("misspelt_rule_metric", "metric: row_count_ratio", "metric: row_count_ration", "rules:",
     "emits no metric 'row_count_ration' — did you mean 'row_count_ratio'?"),
    ("missing_dbt_folder", "models:", "dbt: {project_dir: no_such_folder}\nmodels:", "dbt:",
     "no folder"),
    ("not_utf8", "  m: {predictions: preds}", "  m: {predictions: pr\xe4ds}", "pr\xe4ds",
     "not UTF-8 text"),
    ("alias_bomb", "models:", "bomb: BOMB\nmodels:", "bomb:", "alias bomb"),
    ("on_key", RULES, "    rules: [{metric: row_count_ratio, on: delta, alert: 0.5}]\n", "rules:",
     "a key written on/off/yes/no is read by YAML as True"),
    ("unknown_check", "check: row_count", "check: row_cuont", "check:",
     "unknown check 'row_cuont'"),
    ("unknown_param", "{by: [[country]]}", "{by: [[country]], bins: 3}", "params:",
     "unknown param 'bins'"),
    ("unknown_key", "    model: m\n", "    model: m\n    windw: 1h\n", "windw",
     "did you mean 'window'"),
    ("bad_cron", "    model: m\n", "    model: m\n    schedule: '61 * * * *'\n", "schedule:",
     "invalid cron expression"),
    ("unknown_model", "    model: m\n", "    model: n\n", "model: n", "unknown model 'n'"),
    ("tiny_budget", "    model: m\n", "    model: m\n    max_segments: 1\n", "max_segments",
     "greater than or equal to 2"),
    ("broken_yaml", "    model: m\n", "    model: m\n   bad indent: 1\n", "bad indent",
     "invalid YAML"),
    ("huge_loop", "check: row_count\n    params: {by: [[country]]}", "check: huge_loop",
     "range(10**7)", "Range too big"),
]  # fmt: skip


def _alias_bomb() -> str:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    return "\n" + "".join(f"  {line}\n" for line in levels).rstrip("\n")


@pytest.mark.parametrize(
    ("old", "new", "mark", "says"),
    [case[1:] for case in PROBE_CASES],
    ids=[case[0] for case in PROBE_CASES],
)
def test_the_probes_broken_configs_each_name_file_and_line(world, old, new, mark, says) -> None:
    world.load({"country": ["FR"]}, {"country": ["FR"]})
    extra = world.root / "extra"
    extra.mkdir()
    (extra / "huge_loop.sql").write_text(HUGE_LOOP)
    text = PROBE_BASE.replace("WH", str(world.db)).replace("SQL", str(REPO / "sql"))
    text = text.replace("EXTRA", str(extra))
    assert old in text, old
    text = text.replace(old, new.replace("BOMB", _alias_bomb()), 1)
    path = world.root / "alerts.yaml"
    path.write_bytes(text.encode("latin-1" if "\xe4" in text else "utf-8"))
    try:
        problems, _ = validate(load_config(path))
    except ConfigError as exc:
        problems = exc.problems
    found = [p for p in problems if says in p]
    assert found, problems
    source = extra / "huge_loop.sql" if mark == "range(10**7)" else path
    lines = source.read_text(encoding="latin-1").splitlines()
    line = next(i for i, t in enumerate(lines, 1) if mark in t)
    assert f"{source.name}:{line}" in found[0], found[0]
