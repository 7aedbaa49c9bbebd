"""`monitor validate`: find every problem before anything runs, and report them all.

Config errors come from ``load_config``, header errors from discovering the checks.
Then, for every check in ``sql_dirs``: the template uses only declared params, the
runner's context and the macros it imports (jinja2's meta API); it renders; the SQL
parses; its select list matches `returns`; it transpiles to the warehouse's dialect
(unsupported constructs raise). A check a monitor uses renders with each monitor's
params; one that no monitor uses yet renders with its params' defaults (a placeholder
for a required one), so an analyst's new file is checked before any monitor runs it.
The checks' tests files are read as `monitor test` reads them. With the warehouse reachable, for each monitor: the tables and columns the query reads
exist (sqlglot resolves every column against the warehouse's schema), and a dry run
(`SELECT * FROM (query) LIMIT 0`) succeeds, which catches what only the engine knows
(a misspelt function, a type error). Each problem names the check file and line.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import sqlglot
from jinja2 import meta, nodes
from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.qualify import qualify

from monitor import bundled
from monitor import checks as checks_mod
from monitor.check_tests import read_cases
from monitor.checks import MACRO_DIR, RESERVED_NAMES, Check, discover_checks, find_check
from monitor.config import Config, MonitorConfig
from monitor.errors import MonitorError, did_you_mean
from monitor.execute import baseline, compile_monitor
from monitor.segments import check_slices, segment_budget
from monitor.warehouse import Warehouse, connect
from monitor.windows import window_for

CONTRACT_COLUMNS = ("model_name", "role", "ts")
_UNRESOLVED = re.compile(r"Column '(?P<column>[^']+)' could not be resolved")


def validate(config: Config) -> tuple[list[str], list[str]]:
    """(problems, notes): problems make validation fail; notes are for information."""
    notes: list[str] = receiver_notes(config)
    wh: Warehouse | None = None
    if config.warehouse.type == "duckdb" and not config.warehouse.path.exists():
        notes.append(f"{config.warehouse.path} does not exist yet: tables and columns not checked")
    else:
        try:
            wh = connect(config.warehouse, read_only=True)
        except MonitorError as exc:
            notes.append(f"warehouse not reachable, tables and columns not checked: {exc}")
    try:
        return _validate(config, wh, notes)
    finally:
        if wh is not None:
            wh.close()


def receiver_notes(config: Config) -> list[str]:
    """Receivers configured whose secret is not in this environment: this process
    neither queues nor sends anything for them (a cron host without the key)."""
    n = config.notify
    secrets = [
        ("slack", n.slack.token_env if n.slack else None),
        ("webhook", n.webhook.url_env if n.webhook else None),
        ("pagerduty", n.pagerduty.routing_key_env if n.pagerduty else None),
    ]
    return [
        f"notify.{name}: ${var} is not set here, so this process sends nothing to {name}"
        for name, var in secrets
        if var and not os.environ.get(var)
    ]


def _validate(
    config: Config, wh: Warehouse | None, notes: list[str]
) -> tuple[list[str], list[str]]:
    checks = discover_checks(config.check_dirs)
    problems: list[str] = []
    now = datetime.now(UTC)
    dialect = config.warehouse.type
    compiled: list[tuple[int, MonitorConfig, Check, str]] = []
    undeclared: dict[str, list[str]] = {}
    for at, m in enumerate(config.monitors):
        try:
            check = find_check(checks, m.check)
        except MonitorError as exc:
            problems.append(f"{_at(config, at, 'check')}monitor {m.name!r}: {exc}")
            continue
        problems += _unknown_rule_metrics(config, at, m, check)
        if check.name not in undeclared:
            undeclared[check.name] = undeclared_names(check, config.check_dirs)
            problems += undeclared[check.name]
        if undeclared[check.name]:
            continue  # rendering would only fail on the same names
        if _without_columns(config, check, m.model, wh, notes, f"monitor {m.name!r}"):
            continue
        try:
            part = compile_monitor(
                config, checks, m, window_for(now, m), now, dialect, wh=wh, fit=False
            )
        except MonitorError as exc:  # an unknown or mistyped param, a fail() of the check
            where = _at(config, at, "params") if "param" in str(exc) else ""
            problems.append(f"{where}monitor {m.name!r}: {exc}")
            continue
        compiled.append((at, m, check, part.sql))
    unused = sorted(set(checks) - set(undeclared))
    problems += _unused_checks(config, checks, unused, wh, now, notes)
    problems += read_cases(config, checks=checks)[1]  # as `monitor test` reads them
    notes += [
        f"check {c.name}: {c.path} overrides the built-in {c.overrides}"
        for c in checks.values()
        if c.overrides is not None
    ]
    notes += layout_notes(config)
    if wh is None:
        return problems, notes
    problems += _model_columns(config, wh, notes)
    for at, m, check, sql in compiled:
        found = _against_warehouse(check, sql, wh, config, notes)
        problems += [f"monitor {m.name!r}: {p}" for p in found]
        if not found:
            notes += _segment_notes(config, at, m, check, wh, now)
    return list(dict.fromkeys(problems)), list(dict.fromkeys(notes))


def _segment_notes(
    config: Config, at: int, m: MonitorConfig, check: Check, wh: Warehouse, now: datetime
) -> list[str]:
    """A warning per slice of the monitor with more segments than its max_segments in
    the latest window and its baseline: a run pools the smallest as `col=<other>`."""
    params = checks_mod.resolve_params(check, m.params)
    slices = check_slices(check, params, config.models[m.model].slices)
    if not slices:
        return []
    window = window_for(now, m)
    try:
        budget = segment_budget(config, check, m, slices, window, baseline(m, window, None), wh)
    except MonitorError:
        return []  # the dry run above reports what is wrong with the table
    where = _at(config, at, "params")
    return [f"{where}monitor {m.name!r}: {note}" for note in budget.notes]


def _at(config: Config, index: int, key: str) -> str:
    """`alerts.yaml:LINE: ` of monitor `index`'s `key` (else of the monitor), or ''."""
    line = config.lines.get(("monitors", index, key)) or config.lines.get(("monitors", index))
    return f"{config.path.name}:{line}: " if line else ""


def _unknown_rule_metrics(
    config: Config, index: int, monitor: MonitorConfig, check: Check
) -> list[str]:
    """Rules on a metric the check never emits (a misspelt `freshnes`): they could
    never fire. Only for a check that declares its metrics."""
    if not check.metrics:
        return []
    problems = []
    for j, rule in enumerate(monitor.rules):
        if rule.metric in check.metrics:
            continue
        line = config.lines.get(("monitors", index, "rules", j, "metric")) or config.lines.get(
            ("defaults", "rules", j, "metric")
        )
        where = f"{config.path.name}:{line}: " if line else ""
        problems.append(
            f"{where}monitor {monitor.name!r}: rules[{j}]: check {check.name} emits no metric "
            f"{rule.metric!r}{did_you_mean(rule.metric, check.metrics)}; it emits "
            f"{', '.join(check.metrics)}"
        )
    return problems


# What a required param of a check no monitor uses takes, to render it with defaults.
PLACEHOLDERS: dict[str, object] = {
    "str": "example", "int": 1, "float": 0.5, "bool": False, "list[str]": ["example", "example_2"],
    "list[int]": [1], "list[float]": [0.5], "list[list[str]]": [["example"]],
}  # fmt: skip


def _unused_checks(
    config: Config,
    checks: dict[str, Check],
    names: list[str],
    wh: Warehouse | None,
    now: datetime,
    notes: list[str],
) -> list[str]:
    """Checks no monitor uses yet: their names, then each rendered with its params'
    defaults (a placeholder for a required one) over a one-day window and a rolling
    week's baseline, parsed, its select list checked against `returns`, and transpiled
    to the warehouse's dialect. The config's first model stands in, given a
    shadow_pairs table if it has none."""
    problems: list[str] = []
    renderable = []
    for name in names:
        check = checks[name]
        own = undeclared_names(check, config.check_dirs)
        problems += own
        if own:
            continue
        first_model = next(iter(config.models), None)
        if first_model and _without_columns(config, check, first_model, wh, notes, f"check {name}"):
            continue
        renderable.append(check)
    if renderable and not config.models:
        notes.append(f"no model in the config: {len(renderable)} check(s) no monitor uses "
                     "not rendered (they render for the config's first model)")  # fmt: skip
    if not renderable or not config.models:
        return problems
    key, model = next(iter(config.models.items()))
    stand_in = model.model_copy(update={"shadow_pairs": model.shadow_pairs or "shadow_pairs"})
    example = config.model_copy(update={"models": {**config.models, key: stand_in}})
    for check in renderable:
        params = {n: PLACEHOLDERS[p.type] for n, p in check.params.items() if p.required}
        monitor = MonitorConfig.model_validate({
            "name": f"{check.name} (no monitor uses it)", "model": key, "check": check.name,
            "params": params, "baseline": {"kind": "rolling", "days": 7},
        })  # fmt: skip
        try:
            compile_monitor(
                example, checks, monitor, window_for(now, monitor), now, config.warehouse.type,
                wh=wh, fit=False,
            )  # fmt: skip
        except MonitorError as exc:
            placeholders = f" and {params} for its required params" if params else ""
            problems.append(f"check {check.name} (no monitor uses it; rendered with its "
                            f"defaults{placeholders}): {exc}")  # fmt: skip
    return problems


def layout_notes(config: Config) -> list[str]:
    """What is found but unused, or replaced, by the search order: a helper of one's own
    named like a built-in one replaces it for the built-in checks too; a sql/ or
    dbt_project/ folder beside the config is not used unless the config names it."""
    builtin = bundled.checks_dir()
    notes = []
    for folder in config.own_check_dirs:
        for path in sorted((folder / MACRO_DIR).glob("*.sql")):
            if (builtin / MACRO_DIR / path.name).exists():
                notes.append(
                    f"{path} replaces the built-in helper {MACRO_DIR}/{path.name} for every "
                    "check that imports it, the built-in checks too"
                )
    beside = config.path.parent
    used = {d.resolve() for d in config.check_dirs}
    if (beside / "sql").is_dir() and (beside / "sql").resolve() not in used:
        notes.append(
            f"{beside / 'sql'} is not in sql_dirs: its checks are not used "
            "(add sql_dirs: [sql] to use them)"
        )
    project = beside / "dbt_project"
    if (
        config.dbt is not None
        and (project / "dbt_project.yml").exists()
        and project.resolve() != config.dbt_project.resolve()
    ):
        notes.append(
            f"{project} is not dbt.project_dir: the dbt build uses {config.dbt_project} "
            "(set dbt.project_dir: dbt_project to build yours)"
        )
    return notes


def _without_columns(
    config: Config, check: Check, model: str, wh: Warehouse | None, notes: list[str], who: str
) -> bool:
    """A check that renders from the predictions table's columns cannot render without
    the warehouse, or before dbt has built that table: a note, not a problem."""
    if "table_schema" not in checks_mod.context_names(check, config.check_dirs):
        return False
    if wh is None:
        notes.append(f"{who}: {check.name} renders with the table's columns: "
                     "not rendered without the warehouse")  # fmt: skip
        return True
    table = config.models[model].predictions if model in config.models else None
    if table is None or not _is_dbt_model(config, table):
        return False
    try:
        wh.columns(table)
    except MonitorError:
        notes.append(f"{who}: dbt model {table!r} is not built yet: {check.name} not rendered")
        return True
    return False


def undeclared_names(check: Check, sql_dirs: list[Path]) -> list[str]:
    """Names the template reads that are neither declared params, nor the runner's
    context, nor macros it imports: a typo, a param the header forgot to declare, or a
    macro used without its import line."""
    env = checks_mod.template_environment(sql_dirs)
    try:
        tree = env.parse(checks_mod.template_body(check))
    except Exception:  # a syntax error: rendering reports it with its line
        return []
    # Names the template sets itself count as known: meta is conservative about names
    # set in only one branch of an {% if %}.
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    known = set(check.params) | set(RESERVED_NAMES) | set(env.globals) | assigned
    macros = checks_mod.macro_imports(sql_dirs)
    problems = []
    for name in sorted(meta.find_undeclared_variables(tree) - known):
        line = next((n.lineno for n in tree.find_all(nodes.Name) if n.name == name), 1)
        if name in macros:
            problems.append(
                f"{check.path}:{line}: {name!r} is a macro the check does not import: "
                f"add {macros[name]} at its top"
            )
            continue
        hint = did_you_mean(name, [*check.params, *RESERVED_NAMES])
        problems.append(
            f"{check.path}:{line}: {name!r} is not a declared param of {check.name} "
            f"nor part of the template context{hint} (declare it under params:)"
        )
    return problems


def _against_warehouse(
    check: Check, sql: str, wh: Warehouse, config: Config, notes: list[str]
) -> list[str]:
    """Columns resolved against the warehouse's schema, then a dry run. A dbt model
    that is not built yet is a note: the next build makes it."""
    sql_dirs = config.check_dirs
    try:
        tree = sqlglot.parse_one(sql, read=wh.dialect)
    except SqlglotError as exc:
        return [f"{check.path}: the transpiled SQL does not parse back: {exc}"]
    schema: dict[str, dict[str, str]] = {}
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if table.name in ctes or not table.name:
            continue
        name = ".".join(p for p in (table.db, table.name) if p)
        try:
            schema[name] = dict(wh.columns(name))
        except MonitorError:
            if _is_dbt_model(config, name):
                notes.append(f"dbt model {name!r} is not built yet: {check.name} not checked")
                return []
            word = table.name
            return [f"{_line(check, word, sql_dirs)}: table {name!r} not found in the warehouse"]
    problems = []
    try:
        qualify(tree, schema=dict(schema), dialect=wh.dialect, validate_qualify_columns=True)
    except OptimizeError as exc:
        m = _UNRESOLVED.search(str(exc))
        if m:
            column = m.group("column")
            present = sorted({c for cols in schema.values() for c in cols})
            problems.append(
                f"{_line(check, column, sql_dirs)}: column {column!r} not found in "
                f"{', '.join(sorted(schema)) or 'the tables read'}{did_you_mean(column, present)}"
            )
    except SqlglotError:
        pass  # a construct the resolver does not follow: the dry run still checks
    if problems:  # the dry run would fail on the same column
        return problems
    try:
        wh.execute(f"SELECT * FROM ({sql}) AS dry_run LIMIT 0")
    except MonitorError as exc:
        message = str(exc)
        problems.append(f"{_line(check, _culprit(message), sql_dirs)}: dry run failed: {message}")
    return problems


def _culprit(message: str) -> str:
    """The name an engine's error message is about (a function, a column), if any."""
    m = re.search(r'(?:name|column|Column|function)\s+"?([A-Za-z_][A-Za-z0-9_]*)', message)
    if m:
        return m.group(1)
    m = re.search(r'"([A-Za-z_][A-Za-z0-9_]*)"', message)
    return m.group(1) if m else ""


def _line(check: Check, word: str, sql_dirs: list[Path]) -> str:
    """`file:line` of the first line of the check's SQL (or else of a helper it imports)
    that mentions `word`; the check's first line when none does."""
    if word:
        pattern = re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE)
        sources = [(check.path, checks_mod.template_body(check))]
        sources += [
            (p, p.read_text(encoding="utf-8")) for p in checks_mod.imported_files(check, sql_dirs)
        ]
        for path, text in sources:
            for number, line in enumerate(text.splitlines(), 1):
                if pattern.search(line):
                    return f"{path}:{number}"
    return f"{check.path}:1"


def _model_columns(config: Config, wh: Warehouse, notes: list[str]) -> list[str]:
    """The contract columns and every feature and slice of each model exist."""
    problems = []
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
    return problems


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
    return any((config.dbt_project / "models").rglob(f"{name.split('.')[-1]}.sql"))
