"""`monitor test`: tests files beside small checks of the test's own, run for real on an
in-memory DuckDB (and once on PostgreSQL), through the CLI as a user runs it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.errors import MonitorError

# Rows per segment in the window and their share of the window's rows; with a baseline
# (time ranges or a reference table) the baseline's share too. No macros: the tests do
# not depend on the repository's sql/ (being rewritten) but on this file alone.
SHARE_CHECK = """\
/* ---
name: share
description: |
  Rows in the window, and each segment's share of them, with the baseline's share.
params:
  by: {type: list[str], default: []}
  min_rows: {type: int, default: 0}
metrics: [rows, share]
returns: [segment, feature, metric, value, sample_size, baseline_value, baseline_size, reason]
--- */
{%- if min_rows < 0 %}{{ fail("min_rows must be at least 0") }}{% endif %}
{%- macro rows_of(ranges) -%}
SELECT * FROM {{ model.predictions | table }}
WHERE model_name = {{ model.name | literal }} AND role = {{ role | literal }}
  AND ({% for r in ranges %}(ts >= {{ r.start | literal }} AND ts < {{ r.end | literal }}){% if not loop.last %} OR {% endif %}{% else %}FALSE{% endfor %})
{%- endmacro %}
WITH cur AS (
    {{ rows_of([window]) }}
),
base AS (
{%- if baseline is none %}
    SELECT * FROM cur WHERE FALSE
{%- elif baseline.table %}
    SELECT * FROM {{ baseline.table | table }}
{%- else %}
    {{ rows_of(baseline.ranges) }}
{%- endif %}
),
samples AS (
    SELECT 'all' AS segment, 'none' AS sample
    UNION ALL SELECT 'all', 'cur' FROM cur
    UNION ALL SELECT 'all', 'base' FROM base
    {%- for col in by %}
    UNION ALL SELECT {{ (col ~ '=') | literal }} || CAST({{ col | ident }} AS VARCHAR), 'cur' FROM cur
    UNION ALL SELECT {{ (col ~ '=') | literal }} || CAST({{ col | ident }} AS VARCHAR), 'base' FROM base
    {%- endfor %}
),
counted AS (
    SELECT segment,
           SUM(CASE WHEN sample = 'cur' THEN 1 ELSE 0 END) AS n_cur,
           SUM(CASE WHEN sample = 'base' THEN 1 ELSE 0 END) AS n_base
    FROM samples
    GROUP BY segment
),
totals AS (
    SELECT n_cur AS t_cur, n_base AS t_base FROM counted WHERE segment = 'all'
)
SELECT 'all' AS segment, '' AS feature, 'rows' AS metric, t_cur * 1.0 AS value,
       t_cur AS sample_size, CAST(NULL AS DOUBLE) AS baseline_value,
       CAST(NULL AS BIGINT) AS baseline_size, CAST(NULL AS VARCHAR) AS reason
FROM totals
UNION ALL
SELECT segment, '' AS feature, 'share' AS metric, n_cur * 1.0 / NULLIF(t_cur, 0) AS value,
       n_cur AS sample_size, n_base * 1.0 / NULLIF(t_base, 0) AS baseline_value,
       n_base AS baseline_size,
       CASE WHEN t_cur = 0 THEN 'no rows in the window' END AS reason
FROM counted CROSS JOIN totals
"""

SHARE_TESTS = """\
model:
  slices: [device]
cases:
  - name: counts_and_shares_per_device
    description: |
      Three rows in [2026-01-08, 2026-01-09): two ios, one android. The row at
      2026-01-09 00:00 is the next window's, the one on the 7th the previous one's.
    params: {by: [device]}
    predictions:
      - {device: ios}
      - {device: ios, ts: 2026-01-08 23:59:59}
      - {device: android, ts: "2026-01-08T12:00:00Z"}
      - {device: ios, ts: 2026-01-09 00:00:00}
      - {device: ios, ts: 2026-01-07 12:00:00}
    expect:
      - {metric: rows, value: 3, sample_size: 3}
      - {segment: device=ios, metric: share, value: 0.6666666666666666, sample_size: 2}
      - {segment: device=android, metric: share, value: 0.3333, tolerance: 1e-3}
  - name: shares_against_a_fixed_baseline
    baseline: {kind: fixed, start: 2026-01-01, end: 2026-01-02}
    params: {by: [device]}
    predictions:
      - {device: ios}
      - {device: android, ts: 2026-01-01 06:00:00}
      - {device: ios, ts: 2026-01-01 07:00:00}
      - {device: ios, ts: 2026-01-01 08:00:00}
      - {device: ios, ts: 2026-01-02 00:00:00}
    expect:
      - {segment: device=ios, metric: share, value: 1.0, baseline_value: 0.6666666666666666, baseline_size: 2}
  - name: shares_against_a_reference_table
    baseline: {kind: table, name: golden}
    params: {by: [device]}
    predictions: [{device: ios}]
    reference: [{device: ios}, {device: android, model_name: other}]
    expect:
      - {segment: device=ios, metric: share, value: 1.0, baseline_value: 0.5, baseline_size: 1}
      - {segment: device=android, metric: share, value: 0.0, baseline_value: 0.5}
  - name: only_the_monitors_role_and_a_shadow_window
    role: shadow
    window: 2h
    at: 2026-03-01T10:30:00Z
    predictions:
      - {role: shadow, ts: 2026-03-01 08:00:00}
      - {role: shadow}
      - {role: production}
      - {role: shadow, ts: 2026-03-01 10:00:00}
    expect:
      - {metric: rows, value: 2}
  - name: an_empty_window_has_no_share
    expect:
      - {metric: share, reason: no rows in the window, sample_size: 0}
  - name: a_negative_minimum_is_refused
    params: {min_rows: -1}
    error: min_rows must be at least 0
  - name: params_are_checked_as_a_monitors
    params: {by: device, min_rows: many}
    error: "param 'min_rows' of check share: expected int, got 'many'"
"""

# Every prediction in the window as a row, to see the tables the cases load.
ECHO_CHECK = """\
/* ---
name: echo
description: Each prediction in the window as a row (segment prediction_id, feature request_id).
returns: [segment, feature, metric, value, sample_size, detail]
--- */
SELECT prediction_id AS segment, request_id AS feature,
       model_name || '/' || model_version || '/' || role AS metric,
       score AS value,
       CASE WHEN is_test THEN 1 ELSE 0 END AS sample_size,
       JSON_OBJECT('ts', CAST(ts AS VARCHAR), 'label', label,
                   'label_ts', CAST(label_ts AS VARCHAR)) AS detail
FROM {{ model.predictions | table }}
WHERE ts >= {{ window.start | literal }} AND ts < {{ window.end | literal }}
"""

ECHO_TESTS = """\
cases:
  - name: contract_columns_get_defaults
    model: {model_name: fraud}
    predictions:
      - {}
      - {prediction_id: q, score: 0.25, is_test: true, model_version: v2}
      - {request_id: shared, role: shadow, label: 1, label_ts: "2026-01-20T00:00:00"}
    expect:
      - {segment: p1, feature: p1, metric: fraud/v1/production, value: null, sample_size: 0,
         detail: {ts: "2026-01-08 00:00:00", label: null, label_ts: null}}
      - {segment: q, feature: q, metric: fraud/v2/production, value: 0.25, sample_size: 1}
      - {segment: p3, feature: shared, metric: fraud/v1/shadow,
         detail: {ts: "2026-01-08 00:00:00", label: 1, label_ts: "2026-01-20 00:00:00"}}
  - name: the_earliest_feedback_labels_a_prediction
    description: |
      p1: two labels by prediction_id, the earlier (0) wins. p2: by request_id r2 (the
      feedback names no prediction); a tie on label_ts goes to the smaller label. p3:
      feedback naming another prediction does not match by request_id. p4: none.
    predictions:
      - {}
      - {request_id: r2}
      - {request_id: r3}
      - {}
    feedback:
      - {prediction_id: p1, label: 1, label_ts: 2026-01-12 00:00:00}
      - {prediction_id: p1, label: 0, label_ts: 2026-01-10 00:00:00}
      - {request_id: r2, label: 1, label_ts: 2026-01-11 00:00:00}
      - {request_id: r2, label: 0, label_ts: 2026-01-11 00:00:00}
      - {prediction_id: elsewhere, request_id: r3, label: 1, label_ts: 2026-01-09 00:00:00}
    expect:
      - {segment: p1, feature: p1, metric: test_model/v1/production,
         detail: {ts: "2026-01-08 00:00:00", label: 0, label_ts: "2026-01-10 00:00:00"}}
      - {segment: p2, feature: r2, metric: test_model/v1/production,
         detail: {ts: "2026-01-08 00:00:00", label: 0, label_ts: "2026-01-11 00:00:00"}}
      - {segment: p3, feature: r3, metric: test_model/v1/production,
         detail: {ts: "2026-01-08 00:00:00", label: null, label_ts: null}}
      - {segment: p4, feature: p4, metric: test_model/v1/production,
         detail: {ts: "2026-01-08 00:00:00", label: null, label_ts: null}}
"""

# The shadow_pairs rows, to see their defaults.
PAIRS_CHECK = """\
/* ---
name: pairs
description: Each shadow pair in the window as a row (segment request_id).
returns: [segment, feature, metric, value, sample_size, baseline_value, detail]
--- */
SELECT request_id AS segment, model_name AS feature,
       CASE WHEN has_production AND has_shadow THEN 'both' ELSE 'one' END AS metric,
       shadow_score AS value, CAST(NULL AS BIGINT) AS sample_size, prod_score AS baseline_value,
       JSON_OBJECT('label', label, 'label_ts', CAST(label_ts AS VARCHAR)) AS detail
FROM {{ model.shadow_pairs | table }}
WHERE ts >= {{ window.start | literal }} AND ts < {{ window.end | literal }}
"""

PAIRS_TESTS = """\
cases:
  - name: pair_defaults
    shadow_pairs:
      - {prod_score: 0.2, shadow_score: 0.7, label: 1}
      - {has_shadow: false, prod_score: 0.4}
    expect:
      - {segment: r1, feature: test_model, metric: both, value: 0.7, baseline_value: 0.2,
         detail: {label: 1, label_ts: null}}
      - {segment: r2, metric: one, feature: test_model, value: null, baseline_value: 0.4}
"""

# What the runner hands a template: the table's columns now and at the last snapshot,
# the frozen bins, live; and a z statistic whose p-value the runner fills.
CONTEXT_CHECK = """\
/* ---
name: context
description: The template context a case sets, as rows.
returns: [segment, feature, metric, value, sample_size, baseline_size, detail, statistic, test]
--- */
{%- set previous = dict(table_schema.previous or []) %}
{%- for name, type in table_schema.current %}
SELECT 'all' AS segment, {{ name | literal }} AS feature, 'column' AS metric,
       {{ (0.0 if previous.get(name) == type else 1.0) | literal }} AS value,
       CAST(NULL AS BIGINT) AS sample_size, CAST(NULL AS BIGINT) AS baseline_size,
       {{ type | literal }} AS detail,
       CAST(NULL AS DOUBLE) AS statistic, CAST(NULL AS VARCHAR) AS test
UNION ALL
{%- endfor %}
{%- for feature, segments in frozen_bins | dictsort %}{% for segment, items in segments | dictsort %}
SELECT {{ segment | literal }}, {{ feature | literal }}, 'frozen', {{ (items | sum) | literal }},
       {{ items | length }}, NULL, NULL, NULL, NULL
UNION ALL
{%- endfor %}{% endfor %}
SELECT 'all', '', 'live', {{ (1.0 if live else 0.0) | literal }}, 1, 1, NULL, 1.96, 'z'
"""

CONTEXT_TESTS = """\
cases:
  - name: types_schema_bins_and_p_values
    live: false
    frozen_bins: {x: {all: [1.0, 2.5], device=ios: [3.0]}}
    previous_schema: {ts: timestamp, n: DOUBLE}
    predictions:
      - {n: 1, mixed: 1, flag: true, text: a, when: 2026-01-01 00:00:00, nothing: null, forced: 1}
      - {n: 2, mixed: 2.5, flag: false, text: b}
    types: {predictions: {forced: VARCHAR}}
    tolerance: 1e-6
    expect:
      - {feature: ts, metric: column, value: 0, detail: TIMESTAMP}
      - {feature: n, metric: column, value: 1, detail: BIGINT}
      - {feature: mixed, metric: column, value: 1, detail: DOUBLE}
      - {feature: flag, metric: column, detail: BOOLEAN}
      - {feature: text, metric: column, detail: VARCHAR}
      - {feature: when, metric: column, detail: TIMESTAMP}
      - {feature: nothing, metric: column, detail: DOUBLE}
      - {feature: forced, metric: column, detail: VARCHAR}
      - {feature: score, metric: column, detail: DOUBLE}
      - {feature: is_test, metric: column, detail: BOOLEAN}
      - {feature: x, metric: frozen, value: 3.5, sample_size: 2}
      - {segment: device=ios, feature: x, metric: frozen, value: 3.0, sample_size: 1}
      - {metric: live, value: 0, test: z, statistic: 1.96, p_value: 0.0499958}
"""


def write_checks(root: Path, files: dict[str, str]) -> Path:
    """Write files under root/sql (paths relative to it) and a config pointing at it."""
    for name, text in files.items():
        path = root / "sql" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    config = root / "alerts.yaml"
    if not config.exists():
        config.write_text(
            f"warehouse: {{type: duckdb, path: {root / 'wh.duckdb'}}}\n"
            f"sql_dirs: [{root / 'sql'}]\nmodels: {{}}\n",
            encoding="utf-8",
        )
    return config


def monitor_test(config: Path, *args: str) -> tuple[int, str]:
    """`monitor test` through typer; the text is its output, or the error the CLI's error
    boundary would print (a MonitorError: one red line, exit 1)."""
    result = CliRunner().invoke(app, ["test", "--config", str(config), *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert isinstance(result.exception, MonitorError), result.exception
        return 1, str(result.exception)
    return result.exit_code, result.output


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.fixture
def share(tmp_path: Path) -> Path:
    return write_checks(
        tmp_path, {"custom/share.sql": SHARE_CHECK, "custom/share.tests.yaml": SHARE_TESTS}
    )


def test_a_tests_file_that_holds_passes(share: Path) -> None:
    code, out = monitor_test(share)
    assert code == 0, out
    for case in (
        "counts_and_shares_per_device", "shares_against_a_fixed_baseline",
        "shares_against_a_reference_table", "only_the_monitors_role_and_a_shadow_window",
        "an_empty_window_has_no_share", "a_negative_minimum_is_refused",
        "params_are_checked_as_a_monitors",
    ):  # fmt: skip
        assert f"PASS share::{case}\n" in out
    assert "7 passed, 0 failed (7 case(s) of 1 check(s), duckdb" in out


def test_a_wrong_expectation_fails_naming_the_case_row_and_values(share: Path) -> None:
    tests = share.parent / "sql" / "custom" / "share.tests.yaml"
    wrong = "{segment: device=ios, metric: share, value: 0.5, sample_size: 2}"
    tests.write_text(SHARE_TESTS.replace(wrong.replace("0.5", "0.6666666666666666"), wrong))
    code, out = monitor_test(share)
    assert code == 1
    line = line_of(tests, wrong)
    assert (
        f"{tests}:{line}: case 'counts_and_shares_per_device': device=ios//share value: "
        "expected 0.5, got 0.6666666666666666 (tolerance 1e-09)"
    ) in out
    assert "FAIL share::counts_and_shares_per_device" in out
    assert "PASS share::shares_against_a_fixed_baseline" in out  # the others still ran
    assert "PASS share::params_are_checked_as_a_monitors" in out
    assert "6 passed, 1 failed" in out
    tests.write_text(SHARE_TESTS)  # fixed
    assert monitor_test(share)[0] == 0


def test_missing_rows_reasons_and_errors_are_judged(share: Path) -> None:
    tests = share.parent / "sql" / "custom" / "share.tests.yaml"
    tests.write_text(
        textwrap.dedent("""\
        cases:
          - name: no_such_row
            predictions: [{}]
            expect:
              - {metric: rows, value: 1}
              - {segment: device=ios, metric: share}
          - name: a_reason_with_a_value
            predictions: [{}]
            expect:
              - {metric: share, reason: no rows in the window}
          - name: the_check_ran
            error: min_rows
          - name: another_error
            params: {min_rows: -1}
            error: bins must be at least 2
          - name: the_check_failed
            params: {min_rows: -1}
            expect: []
          - name: an_unknown_param
            params: {min_row: 1}
            expect: []
        """)
    )
    code, out = monitor_test(share)
    assert code == 1
    assert "0 passed, 6 failed" in out
    assert (
        f"{tests}:6: case 'no_such_row': no row device=ios//share; "
        "the check returned: all//rows, all//share"
    ) in out
    assert (
        f"{tests}:10: case 'a_reason_with_a_value': all//share value: expected NULL, got 1.0"
    ) in out
    assert f"{tests}:10: case 'a_reason_with_a_value': all//share reason: expected 'no rows" in out
    assert (
        f"{tests}:12: case 'the_check_ran': expected an error containing 'min_rows', "
        "but the check returned 2 row(s)"
    ) in out
    assert (
        f"{tests}:15: case 'another_error': expected an error containing 'bins must be at "
        "least 2', got: "
        in out
        and "min_rows must be at least 0" in out
    )
    assert f"{tests}:16: case 'the_check_failed': the check failed: " in out
    assert (
        f"{tests}:20: case 'an_unknown_param': the check failed: unknown param 'min_row' "
        "for check share — did you mean 'min_rows'?"
    ) in out


def test_contract_columns_get_their_defaults_and_feedback_its_earliest_label(
    tmp_path: Path,
) -> None:
    config = write_checks(
        tmp_path,
        {
            "echo.sql": ECHO_CHECK, "echo.tests.yaml": ECHO_TESTS,
            "shadow/pairs.sql": PAIRS_CHECK, "shadow/pairs.tests.yaml": PAIRS_TESTS,
        },
    )  # fmt: skip
    code, out = monitor_test(config)
    assert code == 0, out
    assert "PASS echo::contract_columns_get_defaults" in out
    assert "PASS echo::the_earliest_feedback_labels_a_prediction" in out
    assert "PASS pairs::pair_defaults" in out
    assert "3 passed, 0 failed (3 case(s) of 2 check(s)" in out


def test_types_previous_schema_frozen_bins_live_and_p_values(tmp_path: Path) -> None:
    config = write_checks(
        tmp_path, {"context.sql": CONTEXT_CHECK, "context.tests.yaml": CONTEXT_TESTS}
    )
    code, out = monitor_test(config)
    assert code == 0, out
    assert "PASS context::types_schema_bins_and_p_values" in out


def test_a_feedback_row_and_a_label_on_its_prediction_conflict(tmp_path: Path) -> None:
    tests = ECHO_TESTS.replace("      - {request_id: r2}\n", "      - {request_id: r2, label: 1}\n")
    config = write_checks(tmp_path, {"echo.sql": ECHO_CHECK, "echo.tests.yaml": tests})
    code, out = monitor_test(config)
    assert code == 1
    path = tmp_path / "sql" / "echo.tests.yaml"
    assert (
        f"{path}:{line_of(path, '{request_id: r2, label: 1}')}: case 'the_earliest_feedback_labels_a_prediction': "
        "prediction p2 has feedback: leave its label and label_ts to the feedback"
    ) in out


def test_check_selection(share: Path) -> None:
    write_checks(share.parent, {"echo.sql": ECHO_CHECK, "echo.tests.yaml": ECHO_TESTS})
    write_checks(share.parent, {"pairs.sql": PAIRS_CHECK})  # no tests file
    code, out = monitor_test(share, "--check", "echo")
    assert code == 0, out
    assert "share::" not in out and "2 passed, 0 failed (2 case(s) of 1 check(s)" in out
    code, out = monitor_test(share, "--check", "ecko")
    assert code == 1 and out == "unknown check 'ecko' — did you mean 'echo'?"
    code, out = monitor_test(share, "--check", "pairs")
    assert code == 1
    assert out.startswith(
        f"check pairs has no tests file: write {share.parent}/sql/pairs.tests.yaml"
    )


def test_a_tests_file_without_its_check_is_an_error(share: Path) -> None:
    write_checks(share.parent, {"drift/gone.tests.yaml": "cases: [{name: a, expect: []}]\n"})
    code, out = monitor_test(share)
    assert code == 1
    assert (
        f"{share.parent}/sql/drift/gone.tests.yaml: no check gone.sql beside this tests file" in out
    )


def test_no_cases_at_all_is_an_error(tmp_path: Path) -> None:
    config = write_checks(tmp_path, {"custom/share.sql": SHARE_CHECK})
    code, out = monitor_test(config)
    assert code == 1 and out.startswith("no test cases found in ")


def test_malformed_yaml_is_one_red_line_with_its_line(share: Path) -> None:
    tests = share.parent / "sql" / "custom" / "share.tests.yaml"
    tests.write_text("cases:\n  - name: a\n    expect: [{metric: rows}\n  - name: b\n")
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "test", "--config", str(share)],
        capture_output=True, text=True, timeout=120, cwd=share.parent,
    )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: 1 problem(s) in the tests files:",
        "  - sql/custom/share.tests.yaml:4: invalid YAML: expected ',' or ']', but got '-'",
    ]


def test_mistakes_in_a_tests_file_are_all_reported_with_suggestions(share: Path) -> None:
    tests = share.parent / "sql" / "custom" / "share.tests.yaml"
    tests.write_text(
        textwrap.dedent("""\
        model: {slcies: [device]}
        cases:
          - name: a
            predictons: [{}]
            expect: [{metric: rows, vlaue: 1}]
          - name: a
            expect: []
          - description: no name
            expect: []
          - name: both
            expect: []
            error: x
          - name: neither
          - name: settings
            baseline: {kind: fixed, start: 2026-01-02, ned: 2026-01-03}
            window: 0d
            tolerance: 1e-3
            expect: [{metric: rows, value: .nan}]
        """)
    )
    code, out = monitor_test(share)
    assert code == 1
    where = str(tests)
    assert out.splitlines() == [
        "11 problem(s) in the tests files:",
        f"  - {where}:1: unknown key 'slcies' in model — did you mean 'slices'?",
        f"  - {where}:4: case 'a': unknown key 'predictons' in a case — did you mean 'predictions'?",
        f"  - {where}:5: case 'a': unknown key 'vlaue' in an expected row — did you mean 'value'?",
        f"  - {where}:6: case 'a': duplicate case name 'a' (also at line 3)",
        f"  - {where}:8: a case needs a `name:` (text, unique in the file)",
        f"  - {where}:10: case 'both': give either `expect:` (the rows the check returns) or "
        "`error:` (text of the error it raises), not both",
        f"  - {where}:13: case 'neither': give either `expect:` (the rows the check returns) "
        "or `error:` (text of the error it raises)",
        f"  - {where}:15: case 'settings': baseline.end: missing required key",
        f"  - {where}:15: case 'settings': unknown key 'ned' in baseline — did you mean 'end'?",
        f"  - {where}:16: case 'settings': window: must be longer than zero",
        f"  - {where}:18: case 'settings': `value:` nan: the runner turns NaN and infinities "
        "into NULL: write null",
    ]


def test_a_case_runs_only_on_the_engines_it_lists(share: Path) -> None:
    """`dialects:` keeps a case to the engines it lists (type names are each engine's own):
    elsewhere it is a SKIP, neither passed nor failed, and a wrong list is a problem."""
    tests = share.parent / "sql" / "custom" / "share.tests.yaml"
    wrong = "{segment: device=ios, metric: share, value: 0.5, sample_size: 2}"
    only_there = SHARE_TESTS.replace(wrong.replace("0.5", "0.6666666666666666"), wrong).replace(
        "  - name: counts_and_shares_per_device\n",
        "  - name: counts_and_shares_per_device\n    dialects: [postgres]\n",
    )
    assert only_there.count("dialects: [postgres]") == 1
    tests.write_text(only_there)  # wrong, but not for DuckDB
    code, out = monitor_test(share)
    assert code == 0, out
    assert "SKIP share::counts_and_shares_per_device (runs on postgres)" in out
    assert "6 passed, 0 failed, 1 skipped (not for duckdb)" in out
    tests.write_text(only_there.replace("dialects: [postgres]", "dialects: [spark]"))
    code, out = monitor_test(share)
    assert code == 1
    assert "`dialects:` must be a list of the engines the case runs on (duckdb, postgres)" in out


def test_dialects(share: Path) -> None:
    code, out = monitor_test(share, "--dialect", "spark")
    assert code == 1 and out == "unknown dialect 'spark' for `monitor test`: use duckdb or postgres"
    code, out = monitor_test(share, "--dialect", "postgres")
    assert code == 1 and out.startswith("--dialect postgres runs the tests on a PostgreSQL server")


def test_postgres_gives_the_same_results_and_leaves_no_schema(
    tmp_path: Path, postgres_server
) -> None:
    url = postgres_server.create_database("check_tests")
    (tmp_path / "alerts.yaml").write_text(
        f"warehouse: {{type: duckdb, path: {tmp_path / 'wh.duckdb'}}}\n"
        f"state: {{database: {{type: postgres, url: '{url}'}}}}\n"
        f"sql_dirs: [{tmp_path / 'sql'}]\nmodels: {{}}\n"
    )
    config = write_checks(
        tmp_path,
        {
            "custom/share.sql": SHARE_CHECK, "custom/share.tests.yaml": SHARE_TESTS,
            "echo.sql": ECHO_CHECK, "echo.tests.yaml": ECHO_TESTS,
            "pairs.sql": PAIRS_CHECK, "pairs.tests.yaml": PAIRS_TESTS,
        },
    )  # fmt: skip
    duck = monitor_test(config)
    code, out = monitor_test(config, "--dialect", "postgres")
    assert code == 0, out
    assert duck[0] == 0
    for line in duck[1].splitlines()[:-1]:  # the same cases pass (the summary's time differs)
        assert line in out
    assert "10 passed, 0 failed (10 case(s) of 3 check(s), postgres" in out
    tests = tmp_path / "sql" / "custom" / "share.tests.yaml"
    tests.write_text(SHARE_TESTS.replace("value: 0.3333, tolerance: 1e-3", "value: 0.3"))
    code, out = monitor_test(config, "--dialect", "postgres")
    assert code == 1
    assert (
        "case 'counts_and_shares_per_device': device=android//share value: expected 0.3, "
        "got 0.3333333333333333 (tolerance 1e-09)"
    ) in out
    with psycopg.connect(url) as con:
        left = con.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'monitor_test%'"
        ).fetchall()
    assert left == []
