"""Check files: discovery, header validation, params, rendering, parsing, transpiling."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor.checks import compile_check, discover_checks, find_check, parse_check, resolve_params
from monitor.errors import CheckError
from tests.conftest import REPO

GOOD = """\
/* ---
name: tiny
description: A test check.
params:
  columns: {type: list[str], required: true}
  limit: {type: int, default: 3}
returns: [segment, feature, metric, value, sample_size]
--- */
SELECT 'all' AS segment, {{ columns[0] | literal }} AS feature, 'n' AS metric,
       CAST({{ limit }} AS DOUBLE) AS value, 1 AS sample_size
"""


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_discovers_repository_checks_and_skips_macros() -> None:
    checks = discover_checks([REPO / "sql"])
    assert {"numeric_drift", "categorical_drift"} <= set(checks)
    assert not any(c.path.parent.name == "macros" for c in checks.values())
    assert checks["numeric_drift"].family == "drift"
    assert checks["numeric_drift"].params["bins"].default == 10
    assert find_check(checks, "drift/numeric_drift") is checks["numeric_drift"]


def test_new_file_is_a_new_check_from_an_extra_folder(tmp_path: Path) -> None:
    write(tmp_path, "custom/tiny.sql", GOOD)
    checks = discover_checks([REPO / "sql", tmp_path])
    assert checks["tiny"].params["columns"].required


def test_unknown_check_suggests_nearest(tmp_path: Path) -> None:
    with pytest.raises(
        CheckError, match="unknown check 'numeric_drfit' — did you mean 'numeric_drift'"
    ):
        find_check(discover_checks([REPO / "sql"]), "numeric_drfit")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT 1", r"tiny.sql:1: a check must start with a /\* --- YAML header --- \*/ comment"),
        (GOOD.replace("name: tiny", "name: other"), r"tiny.sql:2: header name 'other' must equal the file name 'tiny'"),
        (GOOD.replace("description: A test check.\n", ""), "needs a description"),
        (GOOD.replace("returns: [segment, feature, metric, value, sample_size]", "returns: [segment, metric, value]"),
         "lacks the required column\\(s\\) feature, sample_size"),
        (GOOD.replace("sample_size]", "sample_size, colour]"), "unknown column\\(s\\) colour"),
        (GOOD.replace("{type: int, default: 3}", "{type: integer, default: 3}"), "unknown type 'integer'"),
        (GOOD.replace("{type: int, default: 3}", "{type: int, default: three}"), "default: expected int"),
        (GOOD.replace("returns:", "retruns:"), "unknown header key 'retruns' — did you mean 'returns'"),
        (GOOD.replace("params:", "params: [oops"), r"tiny.sql:\d+: invalid YAML in the header"),
        (GOOD.replace("returns:", "split: limit\nreturns:"), "'split' must name a list\\[str\\] param"),
        (GOOD.replace("returns:", "metrics: psi\nreturns:"), "'metrics' must be a list"),
        (GOOD.replace("returns:", "day_counts: [counts]\nreturns:"), "'day_counts' must name a macro"),
        (GOOD.replace("returns:", "day_counts: counts\nreturns:"),
         r"'day_counts' query 'counts' must be a macro the check defines: \{% macro counts\(days\) %\}"),
        (GOOD.replace("returns:", "day_counts: counts\nsplit: columns\nreturns:") + "{% macro counts(days) %}{% endmacro %}",
         "'day_counts' and 'split' do not combine"),
    ],
)  # fmt: skip
def test_header_validation(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "t/tiny.sql", text)
    with pytest.raises(CheckError, match=message):
        parse_check(path, tmp_path)


def test_discovery_reports_every_bad_file_at_once(tmp_path: Path) -> None:
    write(tmp_path, "a/one.sql", "SELECT 1")
    write(tmp_path, "b/two.sql", GOOD)
    with pytest.raises(CheckError) as info:
        discover_checks([tmp_path])
    text = str(info.value)
    assert "one.sql:1" in text and "two.sql:2: header name 'tiny'" in text


def test_params_are_declared_typed_and_defaulted(tmp_path: Path) -> None:
    check = parse_check(write(tmp_path, "t/tiny.sql", GOOD), tmp_path)
    assert resolve_params(check, {"columns": "x"}) == {"columns": ["x"], "limit": 3}
    with pytest.raises(
        CheckError, match="unknown param 'limt' for check tiny — did you mean 'limit'"
    ):
        resolve_params(check, {"columns": ["x"], "limt": 4})
    with pytest.raises(CheckError, match="check tiny needs param 'columns'"):
        resolve_params(check, {})
    with pytest.raises(CheckError, match="param 'limit' of check tiny: expected int, got 'many'"):
        resolve_params(check, {"columns": ["x"], "limit": "many"})
    numeric = discover_checks([REPO / "sql"])["numeric_drift"]
    assert resolve_params(numeric, {"columns": ["a"], "by": ["device", ["country", "device"]]})[
        "by"
    ] == [
        ["device"],
        ["country", "device"],
    ]


def compile_tiny(tmp_path: Path, text: str, dialect: str = "duckdb", **context: object) -> str:
    check = parse_check(write(tmp_path, "t/tiny.sql", text), tmp_path)
    params = resolve_params(check, {"columns": ["x"]})
    return compile_check(check, {**params, "params": params, **context}, [tmp_path], dialect).sql


def test_undefined_variable_is_an_error_not_an_empty_string(tmp_path: Path) -> None:
    with pytest.raises(CheckError, match=r"tiny.sql:9: 'colums' is undefined"):
        compile_tiny(tmp_path, GOOD.replace("columns[0]", "colums[0]"))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        # the header's own lines: the key a problem is about
        (("{type: int, default: 3}", "{type: integer, default: 3}"), r"tiny.sql:6: param 'limit' has unknown type"),
        (("returns: [segment,", "returns: [segmnt,"), r"tiny.sql:7: 'returns' lacks the required column"),
        (("returns:", "retruns:"), r"tiny.sql:7: unknown header key 'retruns'"),
        # the template's: the line that was rendering
        (("--- */", "--- */\n\n{{ fail('limit too small') if limit < 5 }}"), r"tiny.sql:10: limit too small"),
        (("{{ limit }}", "{{ limit | ident }}"), r"tiny.sql:10: an identifier must be a non-empty string"),
        (("--- */", "--- */\n{%- from 'macros/nope.sql' import nope %}"), r"tiny.sql:9: 'macros/nope.sql' not found in the sql folders"),
        # a helper's failure: the check's line that called it, and the helper's own
        (("--- */", "--- */\n{%- from 'macros/distinct_slices.sql' import distinct_slices %}\n\n{{ distinct_slices([['a'], ['a']]) }}"),
         r"tiny.sql:11 \(in .*/sql/macros/distinct_slices.sql:\d+\): slices must be distinct"),
        # a syntax error in a helper: the check's import line, and the helper's own
        (("--- */", "--- */\n{%- from 'macros/bad.sql' import bad %}\n{{ bad(1) }}"),
         r"tiny.sql:9 \(in .*/macros/bad.sql:2\): template syntax error: unexpected '}'"),
    ],
)  # fmt: skip
def test_errors_name_the_line_in_the_check_file(tmp_path: Path, edit, message: str) -> None:
    write(tmp_path, "macros/bad.sql", "{% macro bad(x) -%}\n{{ x }\n{%- endmacro %}\n")
    text = GOOD.replace(*edit)
    with pytest.raises(CheckError, match=message):
        check = parse_check(write(tmp_path, "t/tiny.sql", text), tmp_path)
        params = resolve_params(check, {"columns": ["x"]})
        compile_check(check, {**params, "params": params}, [tmp_path, REPO / "sql"], "duckdb")


def test_template_syntax_error_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(CheckError, match=r"tiny.sql:10: template syntax error"):
        compile_tiny(tmp_path, GOOD.replace("{{ limit }}", "{{ limit }"))


def test_rendered_sql_must_parse(tmp_path: Path) -> None:
    with pytest.raises(CheckError, match="rendered SQL does not parse"):
        compile_tiny(tmp_path, GOOD.replace("AS sample_size", "AS sample_size FROM WHERE"))


def test_select_list_must_match_declared_returns(tmp_path: Path) -> None:
    with pytest.raises(
        CheckError,
        match=r"returns \(segment, feature, metric, value, size\) but the header declares",
    ):
        compile_tiny(tmp_path, GOOD.replace("1 AS sample_size", "1 AS size"))


def test_transpiles_identifiers_to_each_dialect(tmp_path: Path) -> None:
    text = GOOD.replace("1 AS sample_size", "{{ 'n rows' | ident }} AS sample_size FROM t")
    assert '"n rows" AS sample_size' in compile_tiny(tmp_path, text, dialect="duckdb")
    assert "`n rows` AS sample_size" in compile_tiny(tmp_path, text, dialect="spark")
    assert '"n rows" AS sample_size' in compile_tiny(tmp_path, text, dialect="postgres")
    assert "CAST(3 AS DOUBLE PRECISION) AS value" in compile_tiny(
        tmp_path, text, dialect="postgres"
    )


def test_fail_helper_stops_rendering_with_a_message(tmp_path: Path) -> None:
    text = GOOD.replace("--- */", "--- */\n{{ fail('limit too small') if limit < 5 }}")
    with pytest.raises(CheckError, match="limit too small"):
        compile_tiny(tmp_path, text)


def test_param_may_not_shadow_the_template_context(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "t/tiny.sql",
        GOOD.replace("  limit: {type: int, default: 3}", "  window: {type: int, default: 3}"),
    )
    with pytest.raises(CheckError, match="param name 'window' is reserved"):
        parse_check(path, tmp_path)


def test_templates_are_sandboxed(tmp_path: Path) -> None:
    """A check renders SQL; it cannot reach Python internals."""
    text = GOOD.replace("{{ limit }}", "{{ ''.__class__.__mro__[1].__subclasses__() | length }}")
    with pytest.raises(CheckError, match="unsafe"):
        compile_tiny(tmp_path, text)


def test_a_range_beyond_the_sandbox_limit_names_the_line(tmp_path: Path) -> None:
    """range(10**7) is over the sandbox's 100,000 items: an error at the template's
    line, not a traceback."""
    text = GOOD.replace("{{ limit }}", "{% for i in range(10**7) %}{% endfor %}{{ limit }}")
    with pytest.raises(CheckError, match=r"tiny.sql:10: .*range\(\) holds at most 100,000"):
        compile_tiny(tmp_path, text)
