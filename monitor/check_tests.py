"""`monitor test`: unit tests for SQL checks, written beside them in YAML.

A check may have a tests file next to it (`sql/drift/numeric_drift.tests.yaml` beside
`sql/drift/numeric_drift.sql`). Each case in it gives a handful of rows (predictions,
feedback, shadow pairs), the monitor's settings (params, time, window, baseline...)
and either the rows the check must return or the error it must raise. A statistic
that is wrong by a factor of two still runs and still looks plausible: a case worked
out by hand on six rows pins the formula, and a later change to the check or to a
macro that breaks it fails here, naming the file, the line, the row and both values.

A case runs through the product's own path, not a copy of it: a real `Config` with
one model and one monitor, then `Runner.compute` (render, parse, transpile, execute,
normalise, p-values). Its rows live in a throwaway database: an in-memory DuckDB, or
a fresh schema on the configured PostgreSQL server, dropped afterwards. What a run
would read from the state store (frozen bins, the last schema snapshot) is given by
the case instead. The file format is in docs/writing-checks.md, "6. Test it".
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlglot import exp
from sqlglot.errors import SqlglotError

from monitor.checks import RESULT_COLUMNS, Check, discover_checks, find_check, resolve_params
from monitor.config import (
    Config,
    DuckDBWarehouse,
    ModelConfig,
    MonitorConfig,
    PostgresWarehouse,
    valid_keys,
    yaml_lines,
)
from monitor.errors import CheckError, MonitorError, did_you_mean
from monitor.evidence import MetricRow
from monitor.execute import compute
from monitor.sqltext import ident
from monitor.warehouse import Warehouse, connect
from monitor.windows import window_for

TESTS_SUFFIX = ".tests.yaml"
DIALECTS = ("duckdb", "postgres")
DEFAULT_AT = datetime(2026, 1, 9, tzinfo=UTC)
DEFAULT_TOLERANCE = 1e-9  # relative
ABSOLUTE_FLOOR = 1e-12  # for values near 0, where a relative tolerance means nothing
MODEL_KEY = "test_model"  # the test model's key, and its rows' model_name by default
BASELINE_KINDS = ("fixed", "rolling", "seasonal", "table")  # pydantic's union tags

FILE_KEYS = ("model", "cases")
MONITOR_KEYS = ("window", "lag", "baseline", "role")
TABLE_KEYS = ("predictions", "shadow_pairs", "reference")
CASE_KEYS = (
    "name", "description", "model", "params", "at", *MONITOR_KEYS, "live", "frozen_bins",
    "previous_schema", *TABLE_KEYS, "feedback", "types", "tolerance", "expect", "error",
    "dialects",
)  # fmt: skip
FEEDBACK_KEYS = ("prediction_id", "request_id", "label", "label_ts")
ROW_KEYS = (*RESULT_COLUMNS, "tolerance")
NUMBER_COLUMNS = ("value", "baseline_value", "p_value", "statistic")  # within the tolerance
COUNT_COLUMNS = ("sample_size", "baseline_size", "dof")  # exactly
JSON_COLUMNS = ("histogram", "detail")  # text, or a YAML mapping/list compared as JSON
TIME_COLUMNS = ("ts", "label_ts")  # ISO strings in them are timestamps

# The contract's columns (docs/data-model.md) and their types; the defaults a row gets
# when it leaves one out are in `_prediction_row` and `_shadow_pair_row`.
PREDICTION_COLUMNS = {
    "prediction_id": "VARCHAR", "request_id": "VARCHAR", "ts": "TIMESTAMP",
    "model_name": "VARCHAR", "model_version": "VARCHAR", "role": "VARCHAR",
    "score": "DOUBLE", "is_test": "BOOLEAN", "label": "DOUBLE", "label_ts": "TIMESTAMP",
}  # fmt: skip
SHADOW_PAIR_COLUMNS = {
    "model_name": "VARCHAR", "request_id": "VARCHAR", "ts": "TIMESTAMP",
    "has_production": "BOOLEAN", "has_shadow": "BOOLEAN", "prod_score": "DOUBLE",
    "shadow_score": "DOUBLE", "label": "DOUBLE", "label_ts": "TIMESTAMP",
}  # fmt: skip


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads `1e-12` as a number, as YAML 1.2 does: PyYAML (YAML 1.1)
    reads it as text, and a tolerance or a p-value is naturally written that way."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


# ------------------------------------------------------------------------------ cases


@dataclass(frozen=True)
class Expectation:
    """One expected row: which row (segment/feature/metric), the columns it pins."""

    segment: str
    feature: str
    metric: str
    pins: dict[str, Any]
    tolerance: float
    line: int

    @property
    def key(self) -> str:
        return f"{self.segment}/{self.feature}/{self.metric}"


@dataclass(frozen=True)
class Table:
    """A table a case loads: its columns (name → DuckDB type) and rows, as written
    (defaults that depend on the window are filled in when the case runs)."""

    name: str
    columns: dict[str, str]
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class Case:
    """One case of a tests file, checked for shape when the file is read."""

    check: str
    name: str
    path: Path
    line: int
    lines: dict[str, int]  # the line of each key the case sets
    model: dict[str, Any]  # the file's model with the case's merged over it
    monitor: dict[str, Any]  # window, lag, baseline, role as written
    params: dict[str, Any]
    at: datetime
    live: bool
    tables: dict[str, Table]  # predictions, shadow_pairs and the reference table
    expect: tuple[Expectation, ...] | None
    error: str | None
    frozen_bins: dict[str, dict[str, Any]] | None = None
    previous_schema: dict[str, str] | None = None
    description: str = ""
    dialects: tuple[str, ...] = DIALECTS  # the engines it runs on (type names differ)

    @property
    def title(self) -> str:
        return f"{self.check}::{self.name}"

    def where(self, key: str | None = None, line: int | None = None) -> str:
        """`file:LINE: case 'NAME'`, at the line of `key` (or `line`), else the case's."""
        at = line or (self.lines.get(key, self.line) if key else self.line)
        return f"{shown(self.path)}:{at}: case {self.name!r}"


@dataclass
class CaseResult:
    case: Case
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: bool = False  # the case does not run on this engine (its `dialects:`)

    @property
    def passed(self) -> bool:
        return not self.failures and not self.skipped


def shown(path: Path) -> str:
    """A path as the user would type it: relative to the working folder when inside it."""
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    return str(path)


# ---------------------------------------------------------------------------- finding


def tests_files(sql_dirs: list[Path], checks: dict[str, Check]) -> dict[str, Path]:
    """Check name → its tests file. A tests file with no check beside it (a renamed or
    deleted check) is an error: its cases would silently stop running."""
    found: dict[str, Path] = {}
    problems = []
    for root in sql_dirs:
        for path in sorted(root.rglob(f"*{TESTS_SUFFIX}")) if root.is_dir() else []:
            name = path.name.removesuffix(TESTS_SUFFIX)
            check = checks.get(name)
            beside = path.with_name(f"{name}.sql")
            if check is not None and check.overrides == beside:
                continue  # the cases of a built-in check that one's own replaces
            if check is None or check.path.resolve() != beside.resolve():
                problems.append(
                    f"{shown(path)}: no check {beside.name} beside this tests file "
                    "(a tests file sits in the same folder as its check, named after it)"
                )
                continue
            found[name] = path
    if problems:
        raise CheckError("\n".join(problems))
    return found


def read_cases(
    config: Config,
    check: str | None = None,
    checks: dict[str, Check] | None = None,
    builtin: bool = True,
) -> tuple[list[Case], list[str]]:
    """Every case of the checks found (or of one check), and every problem in the tests
    files, each with its file:line (`monitor validate` reports them too, with the checks
    it has discovered already). Without `builtin`, only the checks of `sql_dirs`."""
    checks = checks if checks is not None else discover_checks(config.check_dirs)
    problems: list[str] = []
    dirs = config.check_dirs if builtin or check is not None else config.own_check_dirs
    try:
        files = tests_files(dirs, checks)
    except CheckError as exc:
        problems += str(exc).splitlines()
        files = {}
    if check is not None:
        wanted = find_check(checks, check)
        if wanted.name not in files and not problems:
            raise MonitorError(
                f"check {wanted.name} has no tests file: write "
                f"{shown(wanted.path.with_name(wanted.name + TESTS_SUFFIX))} "
                "(docs/writing-checks.md, '6. Test it')"
            )
        files = {k: v for k, v in files.items() if k == wanted.name}
    cases: list[Case] = []
    for name, path in sorted(files.items()):
        try:
            cases += load_tests_file(path, checks[name])
        except CheckError as exc:
            problems += str(exc).splitlines()
    return cases, problems


def collect_cases(config: Config, check: str | None = None, builtin: bool = True) -> list[Case]:
    """Every case of the checks found (or of one check); every problem in the tests files
    at once."""
    cases, problems = read_cases(config, check, builtin=builtin)
    if problems:
        raise CheckError(
            f"{len(problems)} problem(s) in the tests files:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
    if not cases:
        dirs = ", ".join(
            shown(d) for d in (config.check_dirs if builtin else config.own_check_dirs)
        )
        raise MonitorError(
            f"no test cases found in {dirs}: write <check>{TESTS_SUFFIX} beside a check "
            "(docs/writing-checks.md, '6. Test it')"
        )
    return cases


# ---------------------------------------------------------------------------- reading


class _Reader:
    """Reads one tests file: the line of every key (from the composed YAML nodes), and
    the problems found, each with its file:line (and case, inside one)."""

    def __init__(self, path: Path, lines: dict[tuple[Any, ...], int]):
        self.path = path
        self.lines = lines
        self.problems: list[tuple[int, str]] = []
        self.case: tuple[tuple[Any, ...], str] | None = None  # (its path, its name)

    def line(self, at: tuple[Any, ...]) -> int:
        while at and at not in self.lines:
            at = at[:-1]
        return self.lines.get(at, 1)

    def problem(self, at: tuple[Any, ...], message: str) -> None:
        if self.case and at[: len(self.case[0])] == self.case[0]:
            message = f"case {self.case[1]!r}: {message}"
        self.problems.append((self.line(at), message))

    def error(self) -> CheckError:
        """Every problem once (the file's `model:` is read for each case), by line."""
        found = dict.fromkeys(sorted(self.problems, key=lambda p: p[0]))
        return CheckError("\n".join(f"{shown(self.path)}:{n}: {m}" for n, m in found))

    def unknown_keys(
        self, raw: Mapping[Any, Any], known: tuple[str, ...], at: tuple[Any, ...], what: str
    ) -> None:
        for key in raw:
            if key not in known:
                hint = did_you_mean(str(key), known) or f" (valid keys: {', '.join(known)})"
                self.problem((*at, key), f"unknown key {key!r} in {what}{hint}")


def load_tests_file(path: Path, check: Check) -> list[Case]:
    """Every case of one tests file; raises CheckError with all of its problems."""
    text = path.read_text(encoding="utf-8")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        raw = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise CheckError(f"{shown(path)}:{line}: invalid YAML: {problem}") from None
    finally:
        loader.dispose()
    reader = _Reader(path, yaml_lines(node) if node is not None else {})
    if not isinstance(raw, dict) or not isinstance(raw.get("cases"), list) or not raw["cases"]:
        reader.problem(("cases",), "a tests file needs a non-empty list under `cases:`")
        raise reader.error()
    reader.unknown_keys(raw, FILE_KEYS, (), "the tests file")
    file_model = raw.get("model") or {}
    if not isinstance(file_model, dict):
        reader.problem(("model",), "`model:` must be a mapping (keys as a model in alerts.yaml)")
        file_model = {}
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw["cases"]):
        case = _read_case(reader, item, ("cases", i), file_model, check)
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name in seen:
            reader.problem(
                ("cases", i, "name"), f"duplicate case name {name!r} (also at line {seen[name]})"
            )
            continue
        if isinstance(name, str):
            seen[name] = reader.line(("cases", i))
        if case is not None:
            cases.append(case)
    if reader.problems:
        raise reader.error()
    return cases


def _read_case(
    reader: _Reader, raw: Any, at: tuple[Any, ...], file_model: dict[str, Any], check: Check
) -> Case | None:
    """One case, or None after recording its problems."""
    before = len(reader.problems)
    if not isinstance(raw, dict):
        reader.problem(at, "a case must be a mapping with at least `name:` and `expect:`")
        return None
    name = raw.get("name")
    reader.case = (at, name) if isinstance(name, str) and name.strip() else None
    reader.unknown_keys(raw, CASE_KEYS, at, "a case")
    if reader.case is None:
        reader.problem(at, "a case needs a `name:` (text, unique in the file)")
    has_expect, has_error = "expect" in raw, "error" in raw
    if has_expect == has_error:
        reader.problem(
            at,
            "give either `expect:` (the rows the check returns) or `error:` "
            "(text of the error it raises)" + (", not both" if has_expect else ""),
        )
    error = raw.get("error")
    if has_error and (not isinstance(error, str) or not error):
        reader.problem((*at, "error"), "`error:` must be the text the error contains")
    tolerance = _tolerance(reader, raw.get("tolerance", DEFAULT_TOLERANCE), (*at, "tolerance"))
    expect = None
    if has_expect:
        expect = _read_expectations(reader, raw["expect"], (*at, "expect"), tolerance)
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        reader.problem((*at, "params"), "`params:` must be a mapping")
    run_at = _read_time(reader, raw.get("at", DEFAULT_AT), (*at, "at"))
    live = raw.get("live", True)
    if not isinstance(live, bool):
        reader.problem((*at, "live"), "`live:` must be true or false")
    model = _read_model(reader, file_model, raw.get("model") or {}, at)
    monitor = {k: raw[k] for k in MONITOR_KEYS if k in raw}
    _validate_monitor(reader, monitor, at, check.name)
    tables = _read_tables(reader, raw, at, monitor.get("baseline"))
    frozen_bins = _read_frozen_bins(reader, raw.get("frozen_bins"), (*at, "frozen_bins"))
    previous_schema = _read_schema(reader, raw.get("previous_schema"), (*at, "previous_schema"))
    dialects = raw.get("dialects", list(DIALECTS))
    if not isinstance(dialects, list) or not dialects or not set(dialects) <= set(DIALECTS):
        reader.problem(
            (*at, "dialects"),
            f"`dialects:` must be a list of the engines the case runs on ({', '.join(DIALECTS)})",
        )
    if len(reader.problems) > before:
        return None
    return Case(
        check=check.name,
        name=str(name),
        path=reader.path,
        line=reader.line(at),
        lines={str(k): reader.line((*at, k)) for k in raw},
        model=model,
        monitor=monitor,
        params=params,
        at=run_at,
        live=live,
        tables=tables,
        expect=expect,
        error=error if has_error else None,
        frozen_bins=frozen_bins,
        previous_schema=previous_schema,
        description=str(raw.get("description") or ""),
        dialects=tuple(dialects),
    )


def _tolerance(reader: _Reader, value: Any, at: tuple[Any, ...]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        reader.problem(at, f"`tolerance:` must be a number, e.g. 1e-9 (not {value!r})")
        return DEFAULT_TOLERANCE
    if not (math.isfinite(value) and value >= 0):
        reader.problem(at, f"`tolerance:` must be a finite number >= 0 (not {value!r})")
        return DEFAULT_TOLERANCE
    return float(value)


def _read_time(reader: _Reader, value: Any, at: tuple[Any, ...]) -> datetime:
    try:
        return _utc(value)
    except ValueError:
        reader.problem(at, f"`at:` must be a time, e.g. 2026-01-09T00:00:00Z (not {value!r})")
        return DEFAULT_AT


def _utc(value: Any) -> datetime:
    """A YAML datetime, date or ISO text as an aware UTC datetime (naive means UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise ValueError(f"not a time: {value!r}")


def _naive(value: Any) -> Any:
    """Timestamps are stored naive UTC, as the logs keep them."""
    if isinstance(value, (datetime, date)):
        return _utc(value).replace(tzinfo=None)
    return value


def _read_model(
    reader: _Reader, file_model: dict[str, Any], case_model: Any, at: tuple[Any, ...]
) -> dict[str, Any]:
    """The file's model with the case's keys over it, validated as alerts.yaml's are."""
    if not isinstance(case_model, dict):
        reader.problem(
            (*at, "model"), "`model:` must be a mapping (keys as a model in alerts.yaml)"
        )
        return {}
    merged = {**file_model, **case_model}

    def origin(key: Any) -> tuple[Any, ...]:
        return (*at, "model", key) if key in case_model else ("model", key)

    for key in ("predictions", "shadow_pairs"):
        if key in merged:
            reader.problem(
                origin(key),
                f"model.{key}: the tests point it at their own table `{key}`: "
                f"give its rows under the case's `{key}:`",
            )
    if any(k in merged for k in ("predictions", "shadow_pairs")):
        return merged
    try:
        ModelConfig.model_validate(merged)
    except ValidationError as exc:
        for err in exc.errors():
            loc = _key_path(tuple(err["loc"]))
            where = origin(loc[0]) + loc[1:] if loc else (*at, "model")
            reader.problem(where, _pydantic_message(err, "model", ("models", MODEL_KEY)))
    return merged


def _validate_monitor(
    reader: _Reader, monitor: dict[str, Any], at: tuple[Any, ...], check: str
) -> None:
    """window, lag, baseline and role, validated as a monitor's in alerts.yaml."""
    try:
        MonitorConfig.model_validate(
            {"name": "test", "model": MODEL_KEY, "check": check, **monitor}
        )
    except ValidationError as exc:
        for err in exc.errors():
            loc = _key_path(tuple(err["loc"]))
            reader.problem((*at, *loc), _pydantic_message(err, "", ("monitors", 0)))


def _key_path(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A pydantic location as keys in the file: a baseline's union tag is not a key."""
    if len(loc) > 1 and loc[0] == "baseline" and loc[1] in BASELINE_KINDS:
        return (loc[0], *loc[2:])
    return loc


def _pydantic_message(err: Any, prefix: str, config_loc: tuple[Any, ...]) -> str:
    """A pydantic error in the words of monitor/config.py's messages; `config_loc` is
    where the model or monitor sits in a Config, to look its valid keys up."""
    raw = tuple(err["loc"])
    loc = _key_path(raw)
    path = ".".join(str(p) for p in (prefix, *loc) if p != "")
    if err["type"] == "extra_forbidden":
        parent = ".".join(str(p) for p in (prefix, *loc[:-1]) if p != "") or "the case"
        valid = valid_keys((*config_loc, *raw[:-1]))
        hint = did_you_mean(str(loc[-1]), valid) or (
            f" (valid keys: {', '.join(sorted(valid))})" if valid else ""
        )
        return f"unknown key {loc[-1]!r} in {parent}{hint}"
    if err["type"] == "missing":
        return f"{path}: missing required key"
    if err["type"] == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return f"{path}: unknown kind {ctx.get('tag', '')!r}; expected one of {ctx.get('expected_tags', '')}"
    return f"{path}: {err['msg'].removeprefix('Value error, ')}"


def _read_expectations(
    reader: _Reader, raw: Any, at: tuple[Any, ...], tolerance: float
) -> tuple[Expectation, ...]:
    if not isinstance(raw, list):
        reader.problem(at, "`expect:` must be a list of rows, e.g. - {metric: ks, value: 0.5}")
        return ()
    out: list[Expectation] = []
    seen: dict[str, int] = {}
    for j, row in enumerate(raw):
        expected = _read_expectation(reader, row, (*at, j), tolerance)
        if expected is None:
            continue
        if expected.key in seen:
            reader.problem(
                (*at, j),
                f"expected row {expected.key} is listed twice (also at line {seen[expected.key]})",
            )
        seen[expected.key] = expected.line
        out.append(expected)
    return tuple(out)


def _read_expectation(
    reader: _Reader, raw: Any, at: tuple[Any, ...], tolerance: float
) -> Expectation | None:
    if not isinstance(raw, dict):
        reader.problem(at, "an expected row must be a mapping, e.g. {metric: ks, value: 0.5}")
        return None
    before = len(reader.problems)
    reader.unknown_keys(raw, ROW_KEYS, at, "an expected row")
    key = {"segment": raw.get("segment", "all"), "feature": raw.get("feature", "")}
    key["metric"] = raw.get("metric")
    for column, value in key.items():
        if not isinstance(value, str) or (column == "metric" and not value):
            reader.problem((*at, column), f"an expected row needs `{column}:` as text")
    pins = {
        k: v
        for k, v in raw.items()
        if k in RESULT_COLUMNS and k not in ("segment", "feature", "metric")
    }
    for column, value in pins.items():
        _check_pin(reader, column, value, (*at, column))
    if "reason" in pins and "value" not in pins:
        pins["value"] = None  # a reason explains a NULL value
    own = _tolerance(reader, raw["tolerance"], (*at, "tolerance")) if "tolerance" in raw else None
    if len(reader.problems) > before:
        return None
    return Expectation(
        key["segment"], key["feature"], key["metric"], pins,
        tolerance if own is None else own, reader.line(at),
    )  # fmt: skip


def _check_pin(reader: _Reader, column: str, value: Any, at: tuple[Any, ...]) -> None:
    """An expected value must be one the row could hold."""
    if value is None:
        return
    if column in NUMBER_COLUMNS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            reader.problem(at, f"`{column}:` must be a number or null (not {value!r})")
        elif not math.isfinite(value):
            reader.problem(
                at,
                f"`{column}:` {value!r}: the runner turns NaN and infinities into NULL: write null",
            )
    elif column in COUNT_COLUMNS:
        if isinstance(value, bool) or not isinstance(value, int):
            reader.problem(at, f"`{column}:` must be a whole number or null (not {value!r})")
    elif column in JSON_COLUMNS:
        if not isinstance(value, (str, dict, list)):
            reader.problem(at, f"`{column}:` must be its JSON text, or a mapping or list")
    elif not isinstance(value, str):
        reader.problem(at, f"`{column}:` must be text or null (not {value!r})")


def _read_frozen_bins(
    reader: _Reader, raw: Any, at: tuple[Any, ...]
) -> dict[str, dict[str, Any]] | None:
    """{feature: {segment: items}}, the shape the state store hands to a run: items a
    list (edges, categories) or a fitted spec (a mapping, for a check with `fit:`)."""
    if raw is None:
        return None
    ok = isinstance(raw, dict) and all(
        isinstance(segments, dict)
        and all(isinstance(items, (list, dict)) for items in segments.values())
        for segments in raw.values()
    )
    if not ok:
        reader.problem(
            at,
            "`frozen_bins:` must be {feature: {segment: items}}, e.g. {x: {all: [2.0]}} "
            "(items a list of edges or categories, or a fitted spec)",
        )
        return None
    return {str(f): {str(s): items for s, items in segs.items()} for f, segs in raw.items()}


def _read_schema(reader: _Reader, raw: Any, at: tuple[Any, ...]) -> dict[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not all(isinstance(t, str) for t in raw.values()):
        reader.problem(at, "`previous_schema:` must be {column: TYPE}, e.g. {ts: TIMESTAMP}")
        return None
    return {str(column): kind.upper() for column, kind in raw.items()}


# ---------------------------------------------------------------------------- tables


def _read_tables(
    reader: _Reader, raw: dict[str, Any], at: tuple[Any, ...], baseline: Any
) -> dict[str, Table]:
    """The case's tables, typed: the contract's columns, then the others in the order
    they first appear (predictions and the reference table share one column list, as
    a reference table has the same columns as the predictions)."""
    rows = {key: _read_rows(reader, raw.get(key), (*at, key), key) for key in TABLE_KEYS}
    feedback = _read_rows(reader, raw.get("feedback"), (*at, "feedback"), "feedback")
    for j, row in enumerate(feedback):
        reader.unknown_keys(row, FEEDBACK_KEYS, (*at, "feedback", j), "a feedback row")
        if row.get("prediction_id") is None and row.get("request_id") is None:
            reader.problem(
                (*at, "feedback", j), "a feedback row needs `prediction_id:` or `request_id:`"
            )
        label, label_ts = row.get("label"), row.get("label_ts")
        if label is not None and (isinstance(label, bool) or not isinstance(label, (int, float))):
            reader.problem((*at, "feedback", j, "label"), f"feedback label {label!r}: a number")
        if label_ts is not None and not isinstance(label_ts, datetime):
            reader.problem(
                (*at, "feedback", j, "label_ts"), f"feedback label_ts {label_ts!r}: a time"
            )
    types = _read_types(reader, raw.get("types"), (*at, "types"))
    reference = None
    if isinstance(baseline, dict) and baseline.get("kind") == "table":
        reference = str(baseline.get("name") or "")
        if "." in reference or reference in ("predictions", "shadow_pairs"):
            reference = None  # the predictions themselves, or a table outside the tests
    if rows["reference"] and reference is None:
        reader.problem(
            (*at, "reference"),
            "`reference:` gives the rows of a `baseline: {kind: table, name: ...}` table "
            "(an unqualified name other than predictions and shadow_pairs)",
        )
    shared = _column_types(
        reader, PREDICTION_COLUMNS,
        [((*at, "predictions"), rows["predictions"]), ((*at, "reference"), rows["reference"])],
        {**types.get("predictions", {}), **types.get("reference", {})},
    )  # fmt: skip
    pairs = _column_types(
        reader, SHADOW_PAIR_COLUMNS, [((*at, "shadow_pairs"), rows["shadow_pairs"])],
        types.get("shadow_pairs", {}),
    )  # fmt: skip
    tables = {
        "predictions": Table("predictions", shared, rows["predictions"]),
        "shadow_pairs": Table("shadow_pairs", pairs, rows["shadow_pairs"]),
    }
    _label(reader, tables["predictions"], feedback, at)
    if reference is not None:
        tables["reference"] = Table(reference, shared, rows["reference"])
    return tables


def _read_rows(reader: _Reader, raw: Any, at: tuple[Any, ...], what: str) -> list[dict[str, Any]]:
    """A list of rows as mappings; timestamps naive UTC, ISO text in ts/label_ts read."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        reader.problem(at, f"`{what}:` must be a list of rows, e.g. - {{x: 1.0}}")
        return []
    out = []
    for j, row in enumerate(raw):
        clean: dict[str, Any] = {}
        for column, value in row.items():
            if not isinstance(column, str):
                reader.problem((*at, j), f"{what} column {column!r}: a column name is text")
                continue
            if isinstance(value, str) and column in TIME_COLUMNS:
                try:
                    value = _utc(value)
                except ValueError:
                    reader.problem((*at, j, column), f"{what}.{column}: {value!r} is not a time")
            if isinstance(value, (list, dict)):
                reader.problem((*at, j, column), f"{what}.{column}: a cell holds one value")
            clean[column] = _naive(value)
        out.append(clean)
    return out


def _read_types(reader: _Reader, raw: Any, at: tuple[Any, ...]) -> dict[str, dict[str, str]]:
    """`types: {predictions: {x: DOUBLE}}`: each a DuckDB type sqlglot knows."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        reader.problem(
            at, "`types:` must be {table: {column: TYPE}}, e.g. {predictions: {x: DOUBLE}}"
        )
        return {}
    reader.unknown_keys(raw, TABLE_KEYS, at, "types")
    out: dict[str, dict[str, str]] = {}
    for table, columns in raw.items():
        for column, kind in columns.items():
            try:
                exp.DataType.build(str(kind), dialect="duckdb")
            except (SqlglotError, ValueError):
                reader.problem(
                    (*at, table, column), f"types.{table}.{column}: unknown type {kind!r}"
                )
                continue
            out.setdefault(str(table), {})[str(column)] = str(kind).upper()
    return out


def _column_types(
    reader: _Reader,
    contract: dict[str, str],
    parts: list[tuple[tuple[Any, ...], list[dict[str, Any]]]],
    overrides: dict[str, str],
) -> dict[str, str]:
    """Column → type: the contract's, `types:`, else inferred from the values."""
    values: dict[str, list[tuple[Any, tuple[Any, ...]]]] = {}
    for at, rows in parts:
        for j, row in enumerate(rows):
            for column, value in row.items():
                values.setdefault(column, []).append((value, (*at, j, column)))
    columns = dict(contract)
    for column, seen in values.items():
        if column not in columns:
            columns[column] = _infer(reader, column, seen)
    return {**columns, **overrides}


def _infer(reader: _Reader, column: str, seen: list[tuple[Any, tuple[Any, ...]]]) -> str:
    """bool BOOLEAN, int BIGINT, float (or ints and floats) DOUBLE, text VARCHAR, times
    TIMESTAMP; only nulls DOUBLE (`types:` says otherwise)."""
    kinds: dict[str, tuple[Any, ...]] = {}
    for value, at in seen:
        if value is None:
            continue
        if isinstance(value, bool):
            kind = "BOOLEAN"
        elif isinstance(value, int):
            kind = "BIGINT"
        elif isinstance(value, float):
            kind = "DOUBLE"
        elif isinstance(value, str):
            kind = "VARCHAR"
        elif isinstance(value, datetime):
            kind = "TIMESTAMP"
        else:
            reader.problem(at, f"column {column}: cannot store {value!r}")
            continue
        kinds.setdefault(kind, at)
    if set(kinds) == {"BIGINT", "DOUBLE"}:
        return "DOUBLE"
    if len(kinds) > 1:
        reader.problem(
            kinds[sorted(kinds)[-1]],
            f"column {column} mixes {' and '.join(sorted(kinds))} values: "
            f"make them one kind, or set its type under `types:`",
        )
    return next(iter(kinds), "DOUBLE")


def _label(
    reader: _Reader, predictions: Table, feedback: list[dict[str, Any]], at: tuple[Any, ...]
) -> None:
    """Give each prediction the label and label_ts of its earliest feedback (by label_ts,
    then label), matched by prediction_id, or by request_id when the feedback names no
    prediction: what dbt's prediction_outcomes does. Ids are the rows' (or their
    defaults, p1, p2, ... by row)."""
    if not feedback:
        return
    for i, row in enumerate(predictions.rows):
        pid = str(row.get("prediction_id", f"p{i + 1}"))
        rid = str(row.get("request_id", pid))
        matched = [
            f for f in feedback
            if (f.get("prediction_id") is not None and str(f["prediction_id"]) == pid)
            or (f.get("prediction_id") is None and str(f.get("request_id")) == rid)
        ]  # fmt: skip
        if not matched:
            continue
        if "label" in row or "label_ts" in row:
            reader.problem(
                (*at, "predictions", i),
                f"prediction {pid} has feedback: leave its label and label_ts to the feedback",
            )
            continue
        first = min(matched, key=_feedback_order)
        row["label"], row["label_ts"] = first.get("label"), first.get("label_ts")


def _feedback_order(row: dict[str, Any]) -> tuple[Any, ...]:
    """SQL's `ORDER BY label_ts, label`: NULLs last."""
    ts, label = row.get("label_ts"), row.get("label")
    return (ts is None, ts or datetime.min, label is None, label if label is not None else 0)


def _prediction_row(row: dict[str, Any], i: int, start: datetime, rows_name: str) -> dict[str, Any]:
    """A predictions (or reference) row with the contract's defaults."""
    pid = row.get("prediction_id", f"p{i}")
    defaults = {
        "prediction_id": pid, "request_id": pid, "ts": start, "model_name": rows_name,
        "model_version": "v1", "role": "production", "score": None, "is_test": False,
        "label": None, "label_ts": None,
    }  # fmt: skip
    return {**defaults, **row}


def _shadow_pair_row(
    row: dict[str, Any], i: int, start: datetime, rows_name: str
) -> dict[str, Any]:
    defaults = {
        "model_name": rows_name, "request_id": f"r{i}", "ts": start, "has_production": True,
        "has_shadow": True, "prod_score": None, "shadow_score": None, "label": None,
        "label_ts": None,
    }  # fmt: skip
    return {**defaults, **row}


def _create(wh: Warehouse, table: Table, rows: list[dict[str, Any]]) -> None:
    """(Re)create the table in the engine's own types and load the rows."""
    columns = ", ".join(
        f"{ident(c)} {exp.DataType.build(t, dialect='duckdb').sql(dialect=wh.dialect)}"
        for c, t in table.columns.items()
    )
    wh.execute(f"DROP TABLE IF EXISTS {ident(table.name)}")
    wh.execute(f"CREATE TABLE {ident(table.name)} ({columns})")
    wh.insert_rows(
        table.name, list(table.columns), [tuple(r.get(c) for c in table.columns) for r in rows]
    )


# ---------------------------------------------------------------------------- running


def postgres_target(config: Config) -> PostgresWarehouse:
    """The PostgreSQL server `--dialect postgres` runs on: the warehouse, else the state
    database."""
    if isinstance(config.warehouse, PostgresWarehouse):
        return config.warehouse
    if isinstance(config.state.database, PostgresWarehouse):
        return config.state.database
    raise MonitorError(
        "--dialect postgres runs the tests on a PostgreSQL server: set `warehouse:` or "
        "`state: {database: ...}` in the config to {type: postgres, url: postgresql://...} "
        "(the tests create a throwaway schema there and drop it afterwards)"
    )


@contextlib.contextmanager
def scratch_database(
    config: Config, dialect: str
) -> Iterator[tuple[Warehouse, DuckDBWarehouse | PostgresWarehouse]]:
    """A database for the cases' tables, gone afterwards: an in-memory DuckDB, or a fresh
    schema `monitor_test_<hex>` on PostgreSQL (first on the session's search_path),
    dropped with everything in it even when a case fails."""
    _check_dialect(dialect)
    if dialect == "duckdb":
        memory = DuckDBWarehouse(path=Path(":memory:"))
        with connect(memory) as wh:
            yield wh, memory
        return
    server = postgres_target(config)
    schema = ident(f"monitor_test_{secrets.token_hex(6)}")
    with connect(server) as wh:
        wh.execute(f"CREATE SCHEMA {schema}")
        try:
            wh.execute(f"SET search_path TO {schema}")
            yield wh, server
        finally:
            wh.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def run_check_tests(
    config: Config,
    check: str | None = None,
    dialect: str = "duckdb",
    progress: Callable[[CaseResult], None] | None = None,
    builtin: bool = True,
) -> list[CaseResult]:
    """Run every case of the checks' tests files (or one check's), each reported to
    `progress` as it finishes. A failing case does not stop the others."""
    _check_dialect(dialect)
    cases = collect_cases(config, check, builtin)
    results = []
    with scratch_database(config, dialect) as (wh, engine):
        for case in cases:
            result = run_case(config, wh, engine, case)
            results.append(result)
            if progress:
                progress(result)
    return results


def _check_dialect(dialect: str) -> None:
    if dialect not in DIALECTS:
        raise MonitorError(
            f"unknown dialect {dialect!r} for `monitor test`: use {' or '.join(DIALECTS)}"
        )


def run_case(
    config: Config, wh: Warehouse, engine: DuckDBWarehouse | PostgresWarehouse, case: Case
) -> CaseResult:
    """One case: load its tables, compute the check as a run would, compare."""
    if wh.dialect not in case.dialects:
        return CaseResult(case, skipped=True)
    started = time.monotonic()
    try:
        failures = _run(config, wh, engine, case)
    except MonitorError as exc:  # the case's tables or settings, not the check
        failures = [f"{case.where()}: {exc}"]
    except Exception as exc:  # a bug must not stop the other cases
        failures = [f"{case.where()}: internal error: {type(exc).__name__}: {exc}"]
    return CaseResult(case, failures, time.monotonic() - started)


def case_config(
    config: Config, case: Case, engine: DuckDBWarehouse | PostgresWarehouse
) -> tuple[Config, MonitorConfig]:
    """A real Config: the test model, and one monitor running the case's check."""
    model = ModelConfig.model_validate(
        {**case.model, "predictions": "predictions", "shadow_pairs": "shadow_pairs"}
    )
    monitor = MonitorConfig.model_validate(
        {
            "name": case.title, "model": MODEL_KEY, "check": case.check,
            "params": case.params, "min_samples": 1, **case.monitor,
        }
    )  # fmt: skip
    built = Config(
        warehouse=engine,
        state=config.state,
        sql_dirs=list(config.sql_dirs),
        models={MODEL_KEY: model},
        monitors=[monitor],
        path=config.path,
    )
    return built, monitor


def _run(
    config: Config, wh: Warehouse, engine: DuckDBWarehouse | PostgresWarehouse, case: Case
) -> list[str]:
    built, monitor = case_config(config, case, engine)
    checks = discover_checks(built.check_dirs)
    try:
        resolve_params(find_check(checks, case.check), case.params)
    except CheckError as exc:
        return _judge_error(case, exc, key="params")
    window = window_for(case.at, monitor)
    start = window.start.replace(tzinfo=None)
    rows_name = built.model_rows_name(MODEL_KEY)
    for key, table in case.tables.items():
        fill = _shadow_pair_row if key == "shadow_pairs" else _prediction_row
        _create(wh, table, [fill(r, i, start, rows_name) for i, r in enumerate(table.rows, 1)])
    try:
        rows, _ = compute(
            built, checks, wh, monitor, window, case.at, store=None, live=case.live,
            frozen_bins=case.frozen_bins, previous_schema=case.previous_schema,
        )  # fmt: skip
    except MonitorError as exc:
        return _judge_error(case, exc)
    return _judge_rows(case, rows)


# -------------------------------------------------------------------------- comparing


def _judge_error(case: Case, exc: MonitorError, key: str | None = None) -> list[str]:
    if case.error is None:
        return [f"{case.where(key)}: the check failed: {exc}"]
    if case.error in str(exc):
        return []
    return [f"{case.where('error')}: expected an error containing {case.error!r}, got: {exc}"]


def _judge_rows(case: Case, rows: list[MetricRow]) -> list[str]:
    if case.error is not None:
        return [
            f"{case.where('error')}: expected an error containing {case.error!r}, "
            f"but the check returned {len(rows)} row(s)"
        ]
    by_key: dict[str, list[MetricRow]] = {}
    for row in rows:
        by_key.setdefault(f"{row.segment}/{row.feature}/{row.metric}", []).append(row)
    failures = []
    for expected in case.expect or ():
        found = by_key.get(expected.key, [])
        where = case.where(line=expected.line)
        if not found:
            failures.append(f"{where}: no row {expected.key}; the check returned: {_keys(by_key)}")
        elif len(found) > 1:
            failures.append(f"{where}: {expected.key}: the check returned {len(found)} such rows")
        else:
            failures += [f"{where}: {m}" for m in _mismatches(expected, found[0])]
    return failures


def _keys(by_key: dict[str, list[MetricRow]], limit: int = 20) -> str:
    keys = sorted(by_key)
    if not keys:
        return "no rows"
    more = f" (+{len(keys) - limit} more)" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def _mismatches(expected: Expectation, row: MetricRow) -> list[str]:
    out = []
    tol = expected.tolerance
    for column, want in expected.pins.items():
        got = getattr(row, column)
        if column in NUMBER_COLUMNS:
            same = (want is None and got is None) or (
                want is not None and got is not None
                and math.isclose(got, want, rel_tol=tol, abs_tol=ABSOLUTE_FLOOR)
            )  # fmt: skip
            note = f" (tolerance {tol:g})" if want is not None and got is not None else ""
        elif column in JSON_COLUMNS and isinstance(want, (dict, list)):
            same, note = _json_equal(want, _json(got), tol), f" (tolerance {tol:g})"
        else:
            same, note = want == got, ""
        if not same:
            out.append(f"{expected.key} {column}: expected {_show(want)}, got {_show(got)}{note}")
    return out


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return text


def _json_equal(want: Any, got: Any, tol: float) -> bool:
    """Equal as JSON, numbers within the tolerance."""
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and want.keys() == got.keys()
            and all(_json_equal(v, got[k], tol) for k, v in want.items())
        )
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(want) == len(got)
            and all(_json_equal(w, g, tol) for w, g in zip(want, got, strict=True))
        )
    numbers = (int, float)
    if isinstance(want, numbers) and isinstance(got, numbers) and not isinstance(want, bool):
        return not isinstance(got, bool) and math.isclose(
            got, want, rel_tol=tol, abs_tol=ABSOLUTE_FLOOR
        )
    return bool(want == got)


def _show(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return repr(value)
