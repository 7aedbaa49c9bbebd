"""alerts.yaml: loading, defaults, paths, and errors that name file, line and key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import RollingBaseline, SeasonalBaseline, load_config
from monitor.errors import ConfigError
from tests.conftest import REPO

MINIMAL = """\
warehouse: {type: duckdb, path: data/wh.duckdb}
models:
  fraud: {predictions: preds, label_maturity: 14d}
defaults:
  window: 1d
  min_samples: 50
  baseline: {kind: rolling, days: 7}
monitors:
  - name: a
    model: fraud
    check: numeric_drift
    params: {columns: [x]}
  - name: b
    model: fraud
    check: numeric_drift
    window: 1h
    baseline: {kind: seasonal, weeks: 2}
"""


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.problems


def test_repository_alerts_yaml_is_valid() -> None:
    config = load_config(REPO / "alerts.yaml")
    assert config.warehouse.path == REPO / "demo" / "warehouse.duckdb"
    assert config.sql_dirs == [] and config.check_dirs == [REPO / "sql"]
    assert config.dbt is not None and config.dbt_project == REPO / "dbt_project"
    assert {m.name for m in config.monitors} >= {"fraud-feature-drift"}


def test_defaults_are_inherited_and_overridden(write_config) -> None:
    config = load_config(write_config(MINIMAL))
    a, b = config.monitors
    assert a.window == timedelta(days=1) and b.window == timedelta(hours=1)
    assert a.min_samples == b.min_samples == 50
    assert isinstance(a.baseline, RollingBaseline) and a.baseline.days == 7
    assert isinstance(b.baseline, SeasonalBaseline) and b.baseline.weeks == 2
    assert config.models["fraud"].label_maturity == timedelta(days=14)


def test_relative_paths_resolve_against_the_config_folder(
    write_config, tmp_path, monkeypatch
) -> None:
    path = write_config(MINIMAL + "sql_dirs: [mine]\ndbt: {project_dir: dbt, work_dir: w}\n")
    (tmp_path / "dbt").mkdir()  # a project folder that exists
    monkeypatch.chdir("/")
    config = load_config(path)
    assert config.warehouse.path == tmp_path / "data" / "wh.duckdb"
    assert config.sql_dirs == [tmp_path / "mine"]
    assert config.check_dirs == [tmp_path / "mine", REPO / "sql"]  # then the built-in checks
    assert config.dbt is not None and config.dbt.work_dir == tmp_path / "w"
    assert config.dbt_project == tmp_path / "dbt"


def test_unknown_key_names_file_line_path_and_suggests(write_config) -> None:
    text = MINIMAL + "    rules:\n      - {metric: psi, warn: 0.2, alrt: 0.3}\n"
    line = text.splitlines().index("      - {metric: psi, warn: 0.2, alrt: 0.3}") + 1
    assert problems(write_config(text)) == [
        f"unknown key 'alrt' in monitors[1].rules[0] (alerts.yaml:{line}) — did you mean 'alert'?"
    ]


def test_unknown_key_without_a_near_match_lists_the_valid_keys(write_config) -> None:
    text = MINIMAL + "    rules:\n      - {metric: psi, treshold: 0.2, alert: 0.3}\n"
    line = text.splitlines().index("      - {metric: psi, treshold: 0.2, alert: 0.3}") + 1
    assert problems(write_config(text)) == [
        f"unknown key 'treshold' in monitors[1].rules[0] (alerts.yaml:{line}) (valid keys: alert, clear, "
        "direction, feature, max_p_value, max_q_value, measure, metric, segment, warn)"
    ]


def test_misspelt_key_gets_did_you_mean(write_config) -> None:
    path = write_config(MINIMAL.replace("    window: 1h", "    windwo: 1h"))
    line = MINIMAL.splitlines().index("    window: 1h") + 1
    assert problems(path) == [
        f"unknown key 'windwo' in monitors[1] (alerts.yaml:{line}) — did you mean 'window'?"
    ]


def test_all_problems_are_reported_at_once(write_config) -> None:
    text = (
        MINIMAL.replace(
            "model: fraud\n    check: numeric_drift\n    window: 1h",
            "model: frud\n    check: numeric_drift\n    window: 1 day",
        )
        .replace("min_samples: 50", "min_samples: -1")
        .replace("days: 7", "dayz: 7")
    )
    found = problems(write_config(text))
    joined = "\n".join(found)
    assert len(found) == 4, found
    assert (
        "monitors[1].model (alerts.yaml:14): unknown model 'frud' — did you mean 'fraud'?" in joined
    )
    assert (
        "defaults.min_samples (alerts.yaml:6)" in joined
    )  # an inherited key is reported where it is written
    assert (
        "unknown key 'dayz' in defaults.baseline (alerts.yaml:7) — did you mean 'days'?" in joined
    )
    assert (
        "monitors[1].window (alerts.yaml:16): expected a duration like 30m, 1h, 1d, 7d or 2w, got '1 day'"
        in joined
    )


def test_unknown_model_reference_suggests_the_nearest(write_config) -> None:
    path = write_config(
        MINIMAL.replace("  - name: b\n    model: fraud", "  - name: b\n    model: frud")
    )
    assert problems(path) == [
        "monitors[1].model (alerts.yaml:14): unknown model 'frud' — did you mean 'fraud'?"
    ]


def test_invalid_yaml_names_the_line(write_config) -> None:
    path = write_config(MINIMAL.replace("params: {columns: [x]}", "params: {columns: [x}"))
    (problem,) = problems(path)
    assert problem.startswith("invalid YAML at alerts.yaml:12")


def test_bad_cron_time_zone_and_duplicate_names(write_config) -> None:
    text = MINIMAL.replace("  - name: b", "  - name: a").replace(
        "    window: 1h", "    window: 1h\n    schedule: '61 * * * *'\n    timezone: Mars/Olympus"
    )
    joined = "\n".join(problems(write_config(text)))
    assert "invalid cron expression '61 * * * *'" in joined
    assert "unknown time zone 'Mars/Olympus'" in joined


def test_duplicate_monitor_names(write_config) -> None:
    found = problems(write_config(MINIMAL.replace("  - name: b", "  - name: a")))
    assert found == ["monitors[1].name (alerts.yaml:13): duplicate monitor name 'a'"]


def test_rule_needs_a_threshold_and_sane_order(write_config) -> None:
    text = (
        MINIMAL + "    rules:\n      - {metric: psi}\n      - {metric: ks, warn: 0.5, alert: 0.2}\n"
    )
    joined = "\n".join(problems(write_config(text)))
    assert (
        "monitors[1].rules[0] (alerts.yaml:19): a rule needs a 'warn' or an 'alert' threshold"
        in joined
    )
    assert "monitors[1].rules[1] (alerts.yaml:20): 'alert' must be at or above 'warn'" in joined


def test_unknown_baseline_kind(write_config) -> None:
    (problem,) = problems(write_config(MINIMAL.replace("kind: seasonal, weeks: 2", "kind: weekly")))
    assert "monitors[1].baseline (alerts.yaml:17): unknown kind 'weekly'" in problem


def test_missing_file_is_a_clear_error(tmp_path) -> None:
    (problem,) = problems(tmp_path / "nope.yaml")
    assert "file not found" in problem


def test_yaml_on_key_trap_is_explained(write_config) -> None:
    text = MINIMAL + "    rules:\n      - {metric: psi, on: delta, alert: 0.3}\n"
    (problem,) = problems(write_config(text))
    assert problem == (
        "monitors[1].rules[0] (alerts.yaml:19): a key written on/off/yes/no is read by YAML "
        "as True; quote it or use another name (for a rule, the key is 'measure:')"
    )


def test_state_schema_must_be_a_plain_name(write_config) -> None:
    (problem,) = problems(write_config(MINIMAL + "state: {schema: a.b}\n"))
    assert problem.startswith("state.schema (alerts.yaml:18): String should match pattern")


def test_a_key_given_twice_is_an_error_with_both_lines(write_config) -> None:
    """YAML keeps the last of two equal keys without a word: here the second `check:`
    would silently replace the first."""
    path = write_config(
        MINIMAL.replace(
            "    check: numeric_drift\n    params",
            "    check: numeric_drift\n    check: row_count\n    params",
            1,
        )
    )
    (problem,) = problems(path)
    assert problem.startswith("alerts.yaml:12: key 'check' is given twice")
    assert "first at line 11" in problem


def test_an_alias_bomb_is_refused_at_once(write_config) -> None:
    """Nine levels of ten aliases each expand to a billion values; reading stops at the
    structure, in well under a second, instead of spinning for minutes."""
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    path = write_config(MINIMAL + "bomb:\n" + "".join(f"  {line}\n" for line in levels))
    (problem,) = problems(path)
    assert problem.startswith("alerts.yaml:18: key 'bomb': its aliases")
    assert "expand to more than 1,000,000 values" in problem


def test_a_file_that_is_not_utf8_is_named(tmp_path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_bytes(MINIMAL.replace("fraud", "fr\xe4ud").encode("latin-1"))
    (problem,) = problems(path)
    assert problem.startswith("alerts.yaml:3: not UTF-8 text (byte 0xe4 at offset")


@pytest.mark.parametrize("threshold", [".nan", ".inf", "-.inf"])
def test_a_threshold_that_is_not_finite_is_an_error(write_config, threshold) -> None:
    """A rule at NaN or ±infinity can never fire: say so instead of loading it."""
    text = MINIMAL.replace(
        "    params: {columns: [x]}\n",
        f"    params: {{columns: [x]}}\n    rules: [{{metric: psi, alert: {threshold}}}]\n",
        1,
    )
    joined = "\n".join(problems(write_config(text)))
    assert "monitors[0].rules[0].alert" in joined and "finite number" in joined


def test_a_dbt_project_folder_that_does_not_exist_is_named(write_config) -> None:
    path = write_config(MINIMAL + "dbt: {project_dir: no_such_folder}\n")
    (problem,) = problems(path)
    assert problem.startswith("dbt.project_dir (alerts.yaml:18): no folder ")
    assert "no_such_folder" in problem and "bundled project" in problem


def test_connections_must_be_positive_and_spark_takes_one(write_config) -> None:
    """warehouse.connections: a count of at least 1; Spark's connections would be one
    session whose cancel stops every job, so it takes 1 only."""
    duckdb_two = MINIMAL.replace("path: data/wh.duckdb}", "path: data/wh.duckdb, connections: 2}")
    assert load_config(write_config(duckdb_two)).warehouse.connections == 2
    zero = MINIMAL.replace("path: data/wh.duckdb}", "path: data/wh.duckdb, connections: 0}")
    assert any("connections" in p for p in problems(write_config(zero)))
    spark = MINIMAL.replace(
        "warehouse: {type: duckdb, path: data/wh.duckdb}",
        "warehouse: {type: spark, connections: 2}\nstate: {database: {path: data/state.duckdb}}",
    )
    (problem,) = problems(write_config(spark))
    assert "Spark runs one monitor at a time" in problem
    # The state store writes on one connection: the key there is a mistake, not a no-op.
    state_two = MINIMAL.replace(
        "path: data/wh.duckdb}",
        "path: data/wh.duckdb}\nstate: {database: {path: data/state.duckdb, connections: 2}}",
    )
    (problem,) = problems(write_config(state_two))
    assert "state.database" in problem and "set warehouse.connections instead" in problem
