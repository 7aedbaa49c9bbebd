"""SQL checks: discover the files, read their headers, render, parse and transpile.

A check is one ``.sql`` file under a ``sql_dirs`` folder: a YAML header in a
``/* --- ... --- */`` comment, then a Jinja template in DuckDB's dialect. Rendering
uses StrictUndefined (a typo is an error, not an empty string) and the quoting
filters from ``monitor.sqltext``; every rendered query is parsed by sqlglot before it
reaches the warehouse and transpiled to the warehouse's dialect.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import sqlglot
import yaml
from jinja2 import meta, nodes
from jinja2.sandbox import SandboxedEnvironment
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError

from monitor import bundled, dialects, sqltext
from monitor.config import yaml_lines
from monitor.errors import CheckError, did_you_mean
from monitor.fit import METHODS

# The row contract (docs/writing-checks.md, "The rows"): every check returns these columns.
REQUIRED_COLUMNS = ("segment", "feature", "metric", "value", "sample_size")
# test/dof: the runner computes p_value from the statistic (monitor.stats); reason: why
# a value is undefined; histogram: the bins and their counts (JSON), frozen per monitor;
# detail: JSON facts behind the value for people (e.g. a column's old and new type);
# statistic: the test statistic when it is not the value itself (a z score).
OPTIONAL_COLUMNS = (
    "baseline_value", "baseline_size", "p_value", "test", "dof", "statistic", "reason",
    "histogram", "detail",
)  # fmt: skip
RESULT_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# Names the runner puts in the template context; a param may not shadow them.
RESERVED_NAMES = (
    "params", "model", "monitor", "role", "window", "baseline", "run_at", "fail", "frozen_bins",
    "state", "live", "mature_before", "table_schema", "fits", "segment_pools", "wall_clock",
)  # fmt: skip
HEADER = re.compile(r"\A\s*/\*\s*---\s*\n(?P<body>.*?)\n\s*---\s*\*/", re.DOTALL)
PARAM_TYPES = (
    "str",
    "int",
    "float",
    "bool",
    "list[str]",
    "list[int]",
    "list[float]",
    "list[list[str]]",
)
MACRO_DIR = "macros"
# Headers write `{type: list[str]}` unquoted; brackets are not allowed in a YAML flow
# scalar, so bracketed type names are quoted before the header is parsed.
BRACKETED_TYPE = re.compile(r"(\btype:\s*)([a-z]+\[[a-z\[\]]+\])")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    required: bool = False
    default: Any = None
    description: str = ""


@dataclass(frozen=True)
class Check:
    """One parsed check file."""

    name: str
    path: Path
    root: Path  # the sql_dir it was found in
    family: str
    description: str
    params: dict[str, Param]
    returns: tuple[str, ...]
    source: str
    header: dict[str, Any] = field(repr=False, default_factory=dict)
    metrics: tuple[str, ...] = ()  # the metric names it emits, when the header declares them
    # A list param the runner splits on: one query per item, each reading only its own
    # column, so a sort-heavy check's memory stays one column's (bench/RESULTS.md, measured).
    split: str | None = None
    # {query, method}: a macro that summarises the baseline per segment, and the
    # monitor/fit.py method that turns each segment's summary into the spec the check
    # reads as `fits[segment]` (frozen in monitor.bin_specs like the bins).
    fit: dict[str, str] | None = None
    # Run each window again once all its predictions have matured (label_maturity after
    # its end), so the metrics it computes from matured labels fill in beside those it
    # computed without them (estimated_performance's realized_*).
    rerun_when_mature: bool = False
    # A macro `name(days)` of the check: per whole UTC day of `days`, the counts its
    # statistics sum over the baseline's rows (day, segment, feature, item, n), which
    # the runner stores so later runs read them instead of the rows (monitor/day_counts.py).
    day_counts: str | None = None
    # The built-in check of the same name this one replaces (validate names the winner).
    overrides: Path | None = None

    @property
    def template_name(self) -> str:
        return self.path.relative_to(self.root).as_posix()


def discover_checks(sql_dirs: list[Path]) -> dict[str, Check]:
    """Every ``*.sql`` below the folders except ``macros/``; all header problems at once.

    A check in one of a config's own folders overrides a built-in check of the same
    name; two of one's own with one name are an error (which one was meant is unclear).
    """
    builtin = bundled.checks_dir().resolve()
    checks: dict[str, Check] = {}
    problems: list[str] = []
    for root in sql_dirs:
        if not root.is_dir():
            problems.append(f"{root}: sql folder not found (see sql_dirs in alerts.yaml)")
            continue
        is_builtin = root.resolve() == builtin
        for path in sorted(root.rglob("*.sql")):
            if path.relative_to(root).parts[0] == MACRO_DIR:
                continue
            earlier = checks.get(path.stem)
            if is_builtin and earlier is not None:
                checks[path.stem] = dataclasses.replace(earlier, overrides=path)
                continue
            try:
                check = parse_check(path, root)
            except CheckError as exc:
                problems.append(str(exc))
                continue
            if check.name in checks:
                problems.append(
                    f"{path}: check name {check.name!r} is already defined by {checks[check.name].path}"
                )
                continue
            checks[check.name] = check
    if problems:
        raise CheckError("\n".join(problems))
    return checks


def find_check(checks: dict[str, Check], name: str) -> Check:
    """Look a check up by name ('numeric_drift') or by path ('drift/numeric_drift')."""
    key = name.removesuffix(".sql").split("/")[-1]
    if key in checks:
        return checks[key]
    hint = did_you_mean(key, checks) or f" (known: {', '.join(sorted(checks))})"
    raise CheckError(f"unknown check {name!r}{hint}")


def parse_check(path: Path, root: Path) -> Check:
    source = path.read_text(encoding="utf-8")
    match = HEADER.match(source)
    if not match:
        raise CheckError(f"{path}:1: a check must start with a /* --- YAML header --- */ comment")
    body_line = source[: match.start("body")].count("\n") + 1
    text = BRACKETED_TYPE.sub(r'\1"\2"', match.group("body"))
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()  # the nodes give each key's line
        header = (loader.construct_document(node) if node is not None else None) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = body_line + mark.line if mark else body_line
        raise CheckError(
            f"{path}:{line}: invalid YAML in the header: {getattr(exc, 'problem', exc)}"
        ) from None
    finally:
        loader.dispose()
    if not isinstance(header, dict):
        raise CheckError(f"{path}:{body_line}: the header must be a YAML mapping")
    lines = yaml_lines(node) if node is not None else {}

    def fail(msg: str, *key: Any) -> CheckError:
        """The error at the line of `key` (a path of header keys), else the header's."""
        line = lines.get(key, 1) + body_line - 1 if key else body_line
        return CheckError(f"{path}:{line}: {msg}")

    known = {"name", "description", "family", "params", "returns", "metrics", "split", "fit",
             "rerun_when_mature", "day_counts"}  # fmt: skip
    for key in header:
        if key not in known:
            raise fail(f"unknown header key {key!r}{did_you_mean(str(key), known)}", key)
    name = header.get("name")
    if name != path.stem:
        raise fail(f"header name {name!r} must equal the file name {path.stem!r}", "name")
    if not header.get("description"):
        raise fail("the header needs a description (what it measures, the formula, a reference)")
    returns = header.get("returns")
    if not isinstance(returns, list) or not all(isinstance(c, str) for c in returns):
        raise fail("'returns' must be a list of column names", "returns")
    missing = [c for c in REQUIRED_COLUMNS if c not in returns]
    if missing:
        raise fail(f"'returns' lacks the required column(s) {', '.join(missing)}", "returns")
    extra = [c for c in returns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if extra:
        raise fail(
            f"'returns' has unknown column(s) {', '.join(extra)}; "
            f"allowed: {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}",
            "returns",
        )
    params: dict[str, Param] = {}
    if not isinstance(header.get("params") or {}, dict):
        raise fail("'params' must be a mapping of param names to {type, default, ...}", "params")
    for pname, spec in (header.get("params") or {}).items():
        where = ("params", pname)
        if pname in RESERVED_NAMES:
            raise fail(
                f"param name {pname!r} is reserved for the template context; choose another", *where
            )
        if not isinstance(spec, dict):
            raise fail(f"param {pname!r} must be a mapping like {{type: int, default: 10}}", *where)
        ptype = spec.get("type", "str")
        if ptype not in PARAM_TYPES:
            raise fail(
                f"param {pname!r} has unknown type {ptype!r}; use one of {', '.join(PARAM_TYPES)}",
                *where,
            )
        unknown = set(spec) - {"type", "required", "default", "description"}
        if unknown:
            raise fail(f"param {pname!r} has unknown key(s) {', '.join(sorted(unknown))}", *where)
        default = spec.get("default")
        if default is not None:
            try:
                default = _coerce(default, ptype)
            except ValueError as exc:
                raise fail(f"param {pname!r} default: {exc}", *where) from None
        params[pname] = Param(
            pname, ptype, bool(spec.get("required", False)), default, spec.get("description", "")
        )
    family = header.get("family") or path.parent.name
    split = header.get("split")
    if split is not None and (split not in params or params[split].type != "list[str]"):
        raise fail(
            "'split' must name a list[str] param (the runner runs one query per item)", "split"
        )
    fit = header.get("fit")
    if fit is not None:
        if (
            not isinstance(fit, dict)
            or set(fit) != {"query", "method"}
            or not all(isinstance(v, str) for v in fit.values())
        ):
            raise fail("'fit' must be {query: <a macro of this check>, method: <name>}", "fit")
        if split is not None:
            raise fail("'fit' and 'split' do not combine: one fit covers all the columns", "fit")
        if fit["method"] not in METHODS:
            raise fail(
                f"unknown fit method {fit['method']!r}; known: {', '.join(sorted(METHODS))}",
                "fit",
                "method",
            )
        if not defines_macro(source, fit["query"]):
            raise fail(
                f"'fit' query {fit['query']!r} must be a macro the check defines: "
                f"{{% macro {fit['query']}(skip) %}}",
                "fit",
                "query",
            )
    day_counts = header.get("day_counts")
    if day_counts is not None:
        if not isinstance(day_counts, str):
            raise fail(
                "'day_counts' must name a macro of this check: day_counts: <name>", "day_counts"
            )
        if split is not None:
            raise fail(
                "'day_counts' and 'split' do not combine: one query counts every column",
                "day_counts",
            )
        if not defines_macro(source, day_counts):
            raise fail(
                f"'day_counts' query {day_counts!r} must be a macro the check defines: "
                f"{{% macro {day_counts}(days) %}}",
                "day_counts",
            )
    metrics = header.get("metrics", [])
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise fail("'metrics' must be a list of metric names", "metrics")
    rerun_when_mature = header.get("rerun_when_mature", False)
    if not isinstance(rerun_when_mature, bool):
        raise fail("'rerun_when_mature' must be true or false", "rerun_when_mature")
    return Check(
        name=name,
        path=path,
        root=root,
        family=str(family),
        description=str(header["description"]).strip(),
        params=params,
        returns=tuple(returns),
        source=source,
        header=header,
        metrics=tuple(metrics),
        split=split,
        fit=dict(fit) if fit else None,
        rerun_when_mature=rerun_when_mature,
        day_counts=day_counts,
    )


def defines_macro(source: str, name: str) -> bool:
    """Whether a check's text defines the macro `name` (its `fit` or `day_counts` query)."""
    return re.search(rf"{{%-?\s*macro\s+{re.escape(name)}\s*\(", source) is not None


def _coerce(value: Any, ptype: str) -> Any:
    def scalar(v: Any, t: str) -> Any:
        if t == "str" and isinstance(v, str):
            return v
        if t == "int" and isinstance(v, int) and not isinstance(v, bool):
            return v
        if t == "float" and isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
        if t == "bool" and isinstance(v, bool):
            return v
        raise ValueError(f"expected {t}, got {v!r}")

    if ptype.startswith("list[list["):
        inner = ptype[len("list[list[") : -2]
        if not isinstance(value, list):
            raise ValueError(f"expected a list of lists, got {value!r}")
        # A bare column name is shorthand for a one-column list.
        return [[scalar(v, inner) for v in (x if isinstance(x, list) else [x])] for x in value]
    if ptype.startswith("list["):
        inner = ptype[len("list[") : -1]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ValueError(f"expected a list, got {value!r}")
        return [scalar(v, inner) for v in value]
    return scalar(value, ptype)


def resolve_params(check: Check, given: dict[str, Any]) -> dict[str, Any]:
    """Declared params only, typed, with defaults; every problem in one error."""
    problems = []
    for key in given:
        if key not in check.params:
            declared = f" (declared: {', '.join(check.params) or 'none'})"
            hint = did_you_mean(key, check.params) or declared
            problems.append(f"unknown param {key!r} for check {check.name}{hint}")
    out: dict[str, Any] = {}
    for name, p in check.params.items():
        if name in given:
            try:
                out[name] = _coerce(given[name], p.type)
            except ValueError as exc:
                problems.append(f"param {name!r} of check {check.name}: {exc}")
        elif p.required:
            problems.append(f"check {check.name} needs param {name!r} ({p.type})")
        else:
            out[name] = p.default
    if problems:
        raise CheckError("; ".join(problems))
    return out


# ----------------------------------------------------------------------------- render


@functools.lru_cache(maxsize=8)
def _environment(sql_dirs: tuple[Path, ...]) -> SandboxedEnvironment:
    # Sandboxed: a check file can render SQL, not run Python. One per set of folders, so
    # compiled macro templates are reused (the loader reloads a file that changed).
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader([str(d) for d in sql_dirs]),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    env.filters["ident"] = sqltext.ident
    env.filters["literal"] = sqltext.literal
    env.filters["table"] = sqltext.table
    env.globals["fail"] = _fail
    return env


def _fail(message: str) -> str:
    """`{{ fail("...") }}` in a template: stop rendering with a message for the user."""
    raise CheckError(message)


def macro_files(sql_dirs: list[Path]) -> list[Path]:
    """Every macros/*.sql of the folders: the helpers a check may import."""
    return [path for root in sql_dirs for path in sorted((root / MACRO_DIR).glob("*.sql"))]


def template_environment(sql_dirs: list[Path]) -> SandboxedEnvironment:
    """The Jinja environment checks render in (filters, globals, macro loader)."""
    return _environment(tuple(sql_dirs))


def macro_imports(sql_dirs: list[Path]) -> dict[str, str]:
    """Each macro's name and the line that imports it into a check, for the hint when a
    check calls a macro it did not import."""
    env = template_environment(sql_dirs)
    imports: dict[str, str] = {}
    for path in macro_files(sql_dirs):
        for macro in env.parse(path.read_text(encoding="utf-8")).find_all(nodes.Macro):
            template = f"{MACRO_DIR}/{path.name}"
            imports.setdefault(macro.name, f"{{% from {template!r} import {macro.name} %}}")
    return imports


def imported_files(check: Check, sql_dirs: list[Path]) -> list[Path]:
    """The helper files the check imports (`{% from 'macros/x.sql' import x %}`), as the
    loader finds them: where else an error about the check's SQL can come from."""
    env = template_environment(sql_dirs)
    try:
        tree = env.parse(template_body(check))
    except jinja2.TemplateSyntaxError:
        return []
    files = []
    for node in tree.find_all((nodes.FromImport, nodes.Import)):
        name = getattr(node, "template", None)
        if isinstance(name, nodes.Const) and env.loader is not None:
            with contextlib.suppress(jinja2.TemplateNotFound):
                files.append(Path(env.loader.get_source(env, name.value)[1] or ""))
    return files


def template_body(check: Check) -> str:
    """The check's template with its header blanked out, so line numbers are the file's."""
    return HEADER.sub(lambda m: "\n" * m.group(0).count("\n"), check.source, count=1)


def context_names(check: Check, sql_dirs: list[Path]) -> frozenset[str]:
    """The names a check's template reads from its context (jinja2 meta): the runner
    looks up costly context, such as the table's columns, only for checks that read it."""
    return _undeclared(template_body(check), tuple(sql_dirs))


@functools.lru_cache(maxsize=256)
def _undeclared(source: str, sql_dirs: tuple[Path, ...]) -> frozenset[str]:
    try:
        tree = _environment(sql_dirs).parse(source)
    except jinja2.TemplateSyntaxError:  # rendering reports it, with its line
        return frozenset()
    return frozenset(meta.find_undeclared_variables(tree))


@functools.lru_cache(maxsize=64)
def _template(sql_dirs: tuple[Path, ...], path: Path, body: str) -> jinja2.Template:
    """A check's compiled template, kept while its text is unchanged (compiling it again
    for every run and window took most of a demo run). The macros it imports are the
    loader's: a changed macro file is reloaded. Compiled under the check's own file
    name, so a runtime error's traceback points at the check's line."""
    env = _environment(sql_dirs)
    code = env.compile(body, name=path.name, filename=str(path))
    return env.template_class.from_code(env, code, env.make_globals(None))


def render(check: Check, context: dict[str, Any], sql_dirs: list[Path]) -> str:
    """Render the template to DuckDB SQL; errors name the check file and line."""
    with _template_errors(check, sql_dirs):
        template = _template(tuple(sql_dirs), check.path, template_body(check))
        return template.render(**context).strip()


def render_macro(
    check: Check, context: dict[str, Any], sql_dirs: list[Path], name: str, *args: Any
) -> str:
    """Render one macro the check defines (its `fit` query) with the run's context."""
    with _template_errors(check, sql_dirs):
        template = _template(tuple(sql_dirs), check.path, template_body(check))
        macro = getattr(template.make_module(context), name)
        return str(macro(*args)).strip()


@contextlib.contextmanager
def _template_errors(check: Check, sql_dirs: list[Path]) -> Iterator[None]:
    """Jinja's errors as CheckErrors that name the check file and line."""
    try:
        yield
    except jinja2.TemplateSyntaxError as exc:
        where = f"{check.path}:{exc.lineno}"
        if exc.filename and Path(exc.filename) != check.path:  # in a macro file it imports
            where = _where(exc, check, inner=f"{exc.filename}:{exc.lineno}")
        raise CheckError(f"{where}: template syntax error: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise CheckError(
            f"{_where(exc, check)}: {exc.name!r} not found in the sql folders "
            f"({', '.join(str(d) for d in sql_dirs)}); macros are imported as "
            "{% from 'macros/<name>.sql' import <name> %}"
        ) from None
    except jinja2.UndefinedError as exc:
        raise CheckError(
            f"{_where(exc, check)}: {exc.message} (see `monitor render` for the context)"
        ) from None
    except ValueError as exc:  # raised by the quoting filters
        raise CheckError(f"{_where(exc, check)}: {exc}") from None
    except OverflowError as exc:  # the sandbox's range() limit, or arithmetic beyond floats
        raise CheckError(
            f"{_where(exc, check)}: {exc} (the sandbox's range() holds at most "
            f"{jinja2.sandbox.MAX_RANGE:,} items)"
        ) from None
    except CheckError as exc:  # raised by fail()
        raise CheckError(f"{_where(exc, check)}: {exc}") from None
    except jinja2.TemplateError as exc:  # e.g. the sandbox refusing an attribute
        raise CheckError(f"{_where(exc, check)}: template error: {exc}") from None


def _where(exc: BaseException, check: Check, inner: str | None = None) -> str:
    """`check.sql:LINE` of the line that was rendering when `exc` was raised, and the
    helper's file and line (`inner`, else the innermost template frame) when the error
    came from a helper the check imports. Jinja rewrites a template's frames in the
    traceback to carry the template's file and line."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".sql")]
    own = [f for f in frames if f.filename == str(check.path)]
    where = f"{check.path}:{own[-1].lineno}" if own else str(check.path)
    if inner is None and frames and frames[-1].filename != str(check.path):
        inner = f"{frames[-1].filename}:{frames[-1].lineno}"
    return f"{where} (in {inner})" if inner else where


def parse_sql(sql: str, check: Check) -> exp.Query:
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except ParseError as exc:
        detail = exc.errors[0] if exc.errors else {}
        raise CheckError(
            f"{check.path}: rendered SQL does not parse at line {detail.get('line', '?')}, "
            f"column {detail.get('col', '?')}: {detail.get('description', exc)} "
            f"(run `monitor render {check.name}` to see it)"
        ) from None
    if not isinstance(tree, exp.Query):
        raise CheckError(f"{check.path}: a check must be a single SELECT query")
    return tree


def output_columns(tree: exp.Expr) -> list[str]:
    """The names of the query's result columns (the first branch of a UNION)."""
    node: exp.Expr = tree
    while isinstance(node, exp.SetOperation):
        node = node.left
    if isinstance(node, exp.Subquery):
        node = node.this
    return [s.alias_or_name for s in node.selects] if isinstance(node, exp.Query) else []


def verify_returns(tree: exp.Expr, check: Check) -> None:
    columns = output_columns(tree)
    if "*" in columns:
        raise CheckError(f"{check.path}: the final SELECT must name its columns, not use *")
    if sorted(columns) != sorted(check.returns):
        line = next(
            (
                i
                for i, text in enumerate(check.source.splitlines(), 1)
                if text.startswith("returns:")
            ),
            1,
        )
        raise CheckError(
            f"{check.path}:{line}: the query returns ({', '.join(columns)}) but the header declares "
            f"returns: [{', '.join(check.returns)}]"
        )


def transpile(tree: exp.Expr, dialect: str, check: Check, consume: bool = False) -> str:
    """The tree in `dialect`. With `consume` the caller does not read the tree again, so
    the generator may work on it in place instead of on a deep copy (for a check of a
    few hundred lines, the copy was half of the transpile)."""
    try:
        prepared = dialects.prepare(tree, dialect)  # a copy already, unless DuckDB's own
        return prepared.sql(
            dialect=dialect,
            pretty=True,
            unsupported_level=ErrorLevel.RAISE,
            copy=prepared is tree and not consume,
        )
    except SqlglotError as exc:
        raise CheckError(
            f"{check.path}: cannot be written in the {dialect} dialect: {exc}"
        ) from None


@dataclass(frozen=True)
class CompiledCheck:
    check: Check
    params: dict[str, Any]
    rendered: str  # DuckDB dialect, as the analyst wrote it
    sql: str  # in the warehouse's dialect
    spec_key: str = ""  # identity of the binning settings (runner.bin_spec_key)
    # Specs this compilation fitted (check `fit:`), {segment: spec}, not frozen yet.
    new_fits: dict[str, dict[str, Any]] = field(default_factory=dict)
    # For people: the slices over the segment budget and what was pooled (monitor/segments.py).
    notes: list[str] = field(default_factory=list)


def compile_check(
    check: Check, context: dict[str, Any], sql_dirs: list[Path], dialect: str
) -> CompiledCheck:
    """Render → parse → verify declared returns → transpile."""
    return compile_rendered(
        check, context.get("params", {}), render(check, context, sql_dirs), dialect
    )


def compile_rendered(
    check: Check, params: dict[str, Any], rendered: str, dialect: str
) -> CompiledCheck:
    """Parse → verify declared returns → transpile, from rendered DuckDB SQL."""
    tree = parse_sql(rendered, check)
    verify_returns(tree, check)
    return CompiledCheck(check, params, rendered, transpile(tree, dialect, check, consume=True))


def render_helper(sql_dirs: list[Path], template: str, name: str, *args: Any) -> str:
    """Render one macro of a helper file (`macros/x.sql`) on its own: SQL the runner
    itself runs around a check, written where analysts read the checks' SQL."""
    env = template_environment(sql_dirs)
    try:
        macro = getattr(env.get_template(template).module, name)
        return str(macro(*args)).strip()
    except jinja2.TemplateError as exc:
        raise CheckError(f"{template}: {exc}") from exc
