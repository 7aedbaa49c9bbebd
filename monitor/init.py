"""`monitor init`: a starter alerts.yaml written from one's own warehouse tables.

It reads the prediction (and feedback) log's columns, checks them against the input
contract (docs/data-model.md), types the features from the column types, names the
models from `model_name`, and writes a commented config that builds the bundled dbt
project over those tables and runs a sensible first set of monitors. The text is
loaded with the same loader as any config before it is written, so what init writes
validates; `monitor validate` then checks it against the warehouse.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from monitor import sqltext
from monitor.config import DuckDBWarehouse, PostgresWarehouse, load_config
from monitor.errors import ConfigError, MonitorError
from monitor.warehouse import Warehouse, connect

# The columns the bundled dbt project reads (docs/data-model.md, "Input data").
PREDICTION_COLUMNS = (
    "prediction_id", "request_id", "ts", "model_name", "model_version", "role", "score", "is_test",
)  # fmt: skip
FEEDBACK_COLUMNS = ("prediction_id", "request_id", "label", "label_ts")
OPTIONAL_COLUMNS = ("predicted_label",)
# An ingestion-time column, when the log has one: dbt keeps the latest delivery by it.
LOADED_AT_NAMES = ("loaded_at", "_loaded_at", "ingested_at", "_ingested_at", "inserted_at")

# Scalar types only (DuckDB's and PostgreSQL's spellings): a list, array, struct or map
# column is no feature.
NUMERIC_TYPE = re.compile(
    r"^(u?(tiny|small|big|huge)?int|int[248]?|integer|u?bigint|u?smallint|u?tinyint|u?hugeint"
    r"|u?integer|double( precision)?|float[48]?|real|(decimal|numeric)(\(\d+(,\s*\d+)?\))?)$"
)
STRING_TYPE = re.compile(
    r"^((varchar|text|string|character varying|character|char|bpchar)(\(\d+\))?|enum\(.*\))$"
)
BOOLEAN_TYPE = re.compile(r"^bool(ean)?$")
SLICE_MAX_VALUES = 20  # a string column with at most this many values is a slice
SLICE_LIMIT = 2  # slices kept (the fewest values first): every slice multiplies segments
CATEGORICAL_MAX_VALUES = 1000  # more looks like an id: not a feature
SAMPLE_ROWS = 200_000  # distinct counts are read on a sample, so init stays quick


@dataclass
class ModelPlan:
    """What init learned about one model of the log."""

    key: str
    model_name: str
    rows: int


@dataclass
class Plan:
    """Everything the starter config is written from."""

    warehouse: dict[str, Any]
    predictions: str
    feedback: str | None
    models: list[ModelPlan]
    more_models: bool  # the log holds more models than init lists
    numeric: list[str]
    categorical: list[str]
    slices: list[str]
    skipped: dict[str, str] = field(default_factory=dict)  # column -> why it is no feature
    loaded_at: str | None = None
    feedback_loaded_at: str | None = None
    shadow: bool = False
    classification: bool = True
    label_maturity_days: int | None = None
    first_day: str | None = None
    last_day: str | None = None


def warehouse_spec(
    target: str, out_dir: Path
) -> tuple[dict[str, Any], DuckDBWarehouse | PostgresWarehouse]:
    """`--warehouse` as written into the config, and as init connects to it: a DuckDB
    file (written relative to the config's folder), or a postgresql:// URL (its password
    is used to connect but never written: the config names a variable instead)."""
    if re.match(r"^postgres(ql)?://", target):
        try:
            from psycopg.conninfo import conninfo_to_dict, make_conninfo
        except ImportError:
            raise MonitorError(
                "PostgreSQL needs its client: pip install 'sql-drift-monitor[postgres]'"
            ) from None
        try:
            parts = conninfo_to_dict(target)
        except Exception as exc:  # psycopg's ProgrammingError: a malformed URL
            raise MonitorError(f"--warehouse: not a PostgreSQL URL: {exc}") from None
        spec: dict[str, Any] = {"type": "postgres", "url": target}
        if parts.pop("password", None) is not None:
            spec["url"] = make_conninfo("", **parts)
            spec["password_env"] = "MONITOR_PG_PASSWORD"
        return spec, PostgresWarehouse(type="postgres", url=target)
    if "://" in target:
        raise MonitorError(
            f"--warehouse {target!r}: init reads a DuckDB file or a postgresql:// URL; for "
            "another engine, write `warehouse:` by hand (docs/engines.md)"
        )
    path = Path(target).expanduser().resolve()
    if not path.is_file():
        raise MonitorError(f"--warehouse {target}: no DuckDB file there")
    try:
        shown = Path(os.path.relpath(path, out_dir.resolve()))
    except ValueError:  # another drive
        shown = path
    return {"type": "duckdb", "path": str(shown)}, DuckDBWarehouse(type="duckdb", path=path)


def plan(target: str, predictions: str, feedback: str | None, out: Path) -> Plan:
    """Read the tables and decide the config; every contract problem at once."""
    spec, wh_config = warehouse_spec(target, out.parent)
    with connect(wh_config, read_only=True) as wh:
        columns = _columns(wh, predictions, "--predictions")
        fb_columns = _columns(wh, feedback, "--feedback") if feedback else None
        problems = _missing(predictions, columns, PREDICTION_COLUMNS)
        if fb_columns is not None and feedback:
            problems += _missing(feedback, fb_columns, FEEDBACK_COLUMNS)
        if problems:
            raise MonitorError(
                "the tables lack what the monitor reads (docs/data-model.md, 'Input data'):\n"
                + "\n".join(f"  - {p}" for p in problems)
            )
        models, more = _models(wh, predictions)
        result = Plan(
            warehouse=spec,
            predictions=predictions,
            feedback=feedback,
            models=models,
            more_models=more,
            numeric=[],
            categorical=[],
            slices=[],
        )
        _features(wh, predictions, columns, result)
        roles = _distinct(wh, predictions, "role")
        result.shadow = "shadow" in {str(r).lower() for r in roles}
        span = wh.execute(
            f"SELECT min(ts) AS first, max(ts) AS last FROM {sqltext.table(predictions)}"
        )[0]
        if isinstance(span["first"], datetime) and isinstance(span["last"], datetime):
            result.first_day = f"{span['first']:%Y-%m-%d}"
            result.last_day = f"{span['last']:%Y-%m-%d}"
        if feedback and fb_columns is not None:
            result.feedback_loaded_at = next(
                (name for name in fb_columns if name.lower() in LOADED_AT_NAMES), None
            )
            labels = _distinct(wh, feedback, "label")
            result.classification = len([v for v in labels if v is not None]) <= 2
            result.label_maturity_days = _label_delay_days(wh, predictions, feedback)
    return result


def _columns(wh: Warehouse, table: str, option: str) -> dict[str, str]:
    """Column name (as the warehouse spells it) -> its SQL type."""
    try:
        return dict(wh.columns(table))
    except MonitorError as exc:
        raise MonitorError(f"{option} {table}: not found in the warehouse ({exc})") from None


def _missing(table: str, columns: dict[str, str], required: tuple[str, ...]) -> list[str]:
    present = {name.lower() for name in columns}  # as dbt (raw_columns) compares them
    lacking = [c for c in required if c not in present]
    return [f"{table} lacks the column(s) {', '.join(lacking)}"] if lacking else []


MAX_MODELS = 20


def _models(wh: Warehouse, table: str) -> tuple[list[ModelPlan], bool]:
    """The busiest models of the log (at most MAX_MODELS), and whether it has more."""
    rows = wh.execute(
        f"SELECT model_name, count(*) AS n FROM {sqltext.table(table)} "
        f"WHERE model_name IS NOT NULL GROUP BY model_name ORDER BY n DESC, model_name "
        f"LIMIT {MAX_MODELS + 1}"
    )
    if not rows:
        raise MonitorError(
            f"{table} has no rows with a model_name: init names the models from the log, "
            "so load some predictions first"
        )
    models, keys = [], set()
    for row in rows[:MAX_MODELS]:
        name = str(row["model_name"])
        key = re.sub(r"[^a-z0-9_-]+", "_", name.lower()).strip("_-") or "model"
        while key in keys:
            key += "_"
        keys.add(key)
        models.append(ModelPlan(key, name, int(row["n"])))
    return models, len(rows) > MAX_MODELS


def _sample(table: str, *columns: str) -> str:
    """The first SAMPLE_ROWS rows of `table`, as a subquery: init reads samples only."""
    names = ", ".join(sqltext.ident(c) for c in columns)
    return f"(SELECT {names} FROM {sqltext.table(table)} LIMIT {SAMPLE_ROWS})"


def _distinct(wh: Warehouse, table: str, column: str, limit: int = 50) -> list[Any]:
    rows = wh.execute(
        f"SELECT DISTINCT {sqltext.ident(column)} AS v FROM {_sample(table, column)} AS s "
        f"LIMIT {limit}"
    )
    return [r["v"] for r in rows]


def _distinct_count(wh: Warehouse, table: str, column: str) -> int:
    rows = wh.execute(
        f"SELECT count(DISTINCT {sqltext.ident(column)}) AS n FROM {_sample(table, column)} AS s"
    )
    return int(rows[0]["n"])


def _features(wh: Warehouse, table: str, columns: dict[str, str], plan: Plan) -> None:
    """Every column beyond the contract's is a feature, typed by its SQL type;
    low-cardinality strings are slices too."""
    contract = set(PREDICTION_COLUMNS) | set(OPTIONAL_COLUMNS)
    cardinality: dict[str, int] = {}
    for name, kind in columns.items():
        if name.lower() in contract:
            continue
        if name.lower() in LOADED_AT_NAMES and plan.loaded_at is None:
            plan.loaded_at = name
            continue
        kind = kind.lower().strip()
        if NUMERIC_TYPE.match(kind):
            plan.numeric.append(name)
        elif STRING_TYPE.match(kind) or BOOLEAN_TYPE.match(kind):
            n = _distinct_count(wh, table, name)
            if n == 0:
                plan.skipped[name] = "no values in the sample: nothing to type it by"
                continue
            if n > CATEGORICAL_MAX_VALUES:
                plan.skipped[name] = f"{n:,}+ distinct values: an id, not a feature"
                continue
            plan.categorical.append(name)
            if STRING_TYPE.match(kind) and 2 <= n <= SLICE_MAX_VALUES:
                cardinality[name] = n
        else:
            plan.skipped[name] = f"type {kind}: neither numeric nor categorical"
    plan.slices = sorted(cardinality, key=lambda c: (cardinality[c], c))[:SLICE_LIMIT]


def _label_delay_days(wh: Warehouse, predictions: str, feedback: str) -> int | None:
    """The 90th percentile of how long labels took to arrive (matched as dbt matches
    them: by prediction_id, else by request_id), in whole days (at least one): the
    label maturity a performance check waits for. Two equi-joins on a sample of the
    predictions, so it stays quick on a log of any size."""
    sample = _sample(predictions, "prediction_id", "request_id", "ts")
    labels = sqltext.table(feedback)
    rows = wh.execute(
        f"SELECT p.ts AS ts, f.label_ts AS label_ts FROM {sample} AS p "
        f"JOIN {labels} AS f ON f.prediction_id = p.prediction_id "
        "WHERE f.label_ts IS NOT NULL "
        f"UNION ALL SELECT p.ts AS ts, f.label_ts AS label_ts FROM {sample} AS p "
        f"JOIN {labels} AS f ON f.request_id = p.request_id "
        "WHERE f.prediction_id IS NULL AND f.label_ts IS NOT NULL"
    )
    delays = sorted(
        (_utc(r["label_ts"]) - _utc(r["ts"])).total_seconds()
        for r in rows
        if isinstance(r["ts"], datetime) and isinstance(r["label_ts"], datetime)
    )
    if not delays:
        return None
    p90 = delays[min(len(delays) - 1, math.ceil(0.9 * len(delays)) - 1)]
    return max(1, math.ceil(p90 / timedelta(days=1).total_seconds()))


def _utc(value: datetime) -> datetime:
    """Naive times in the logs are UTC; an aware one is converted (one log may be
    TIMESTAMPTZ and the other not)."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


# ---------------------------------------------------------------------------- writing


def _flow(value: Any) -> str:
    """A value as one line of YAML flow style (quoted only where YAML needs it)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False)
    return text.strip().removesuffix("...").strip()


def render(plan: Plan) -> str:
    """The commented starter config."""
    p = plan
    lines = [
        "# alerts.yaml: a starter config written by `monitor init` from the columns of",
        f"# {p.predictions}" + (f" and {p.feedback}" if p.feedback else "") + ". Edit freely:",
        "# `monitor validate` checks it, `monitor schema` gives editors its JSON Schema.",
    ]
    if p.first_day and p.last_day:
        lines.append(
            f"# The log spans {p.first_day} .. {p.last_day}: "
            f"`monitor backfill --from {p.first_day} --to {p.last_day}` fills the history."
        )
    lines += ["", f"warehouse: {_flow(p.warehouse)}"]
    if "password_env" in p.warehouse:
        lines.append(f"# The password comes from ${p.warehouse['password_env']}, never this file.")
    dbt_vars: dict[str, Any] = {"predictions_table": p.predictions, "feedback_table": p.feedback}
    if p.loaded_at:
        dbt_vars["loaded_at_column"] = p.loaded_at
    if p.feedback_loaded_at:
        dbt_vars["feedback_loaded_at_column"] = p.feedback_loaded_at
    lines += [
        "state: {schema: monitor}   # runs, metrics and alert state, in this schema",
        "",
        "# The bundled dbt project turns the raw logs into the tables the checks read:",
        "# prediction_outcomes (predictions with their feedback) and shadow_pairs.",
        "dbt:",
        "  build_before_checks: true",
        f"  vars: {_flow(dbt_vars)}",
        "",
        "# Alerts go to Slack once $SLACK_BOT_TOKEN is set; until then, to the console.",
        "notify:",
        '  slack: {token_env: SLACK_BOT_TOKEN, default_channel: "#ml-alerts"}',
        "",
        "# Checks: the built-in ones (`monitor list`); add your own with sql_dirs: [folder].",
        "",
        "models:",
    ]
    for name, why in sorted(p.skipped.items()):
        lines.append(f"  # not a feature: {name} ({why})")
    if p.more_models:
        lines.append(f"  # the log holds more than {MAX_MODELS} models: add the others like these")
    features = {"numeric": p.numeric, "categorical": p.categorical}
    maturity = f"{p.label_maturity_days}d" if p.label_maturity_days else "14d"
    for m in p.models:
        lines.append(f"  {_flow(m.key)}:   # {m.rows:,} rows in the log")
        if m.model_name != m.key:
            lines.append(f"    model_name: {_flow(m.model_name)}   # its value in the log")
        lines += [
            "    predictions: prediction_outcomes",
            f"    shadow_pairs: {'shadow_pairs' if p.shadow else 'null'}",
            f"    features: {_flow(features)}",
            f"    slices: {_flow(p.slices)}",
            # The marts carry the log's ingestion column, which only a new delivery of a
            # prediction moves; built_at moves with every rebuild (labels, maturity) too.
            f"    changed_at: {_flow(p.loaded_at or 'built_at')}   # large baselines: "
            "categorical_drift reuses the counts of days whose rows did not change",
        ]
        if p.feedback:
            how = (
                "90% of labels arrived within it"
                if p.label_maturity_days
                else "no feedback matched a prediction: set how long labels take"
            )
            lines.append(f"    label_maturity: {maturity}   # {how}")
    lines += [
        "",
        "# Every monitor inherits these unless it sets the key itself.",
        "defaults:",
        '  schedule: "0 6 * * *"   # daily at 06:00 UTC, for yesterday',
        "  window: 1d",
        "  baseline: {kind: rolling, days: 7}   # the previous 7 days, pooled",
        "  min_samples: 100",
        "  severity: ticket   # page: wakes on-call (owners, PagerDuty); info: no ping",
        "",
        "monitors:",
    ]
    for m in p.models:
        lines += _monitors(p, m.key, maturity)
    return "\n".join(lines) + "\n"


def _monitor(name: str, model: str, check: str, params: dict[str, Any] | None,
             rules: list[tuple[dict[str, Any], str]], extra: dict[str, Any] | None = None,
             comment: str = "") -> list[str]:  # fmt: skip
    lines = [f"  - name: {_flow(name)}" + (f"   # {comment}" if comment else "")]
    lines += [f"    model: {_flow(model)}", f"    check: {check}"]
    if params:
        lines.append(f"    params: {_flow(params)}")
    for key, value in (extra or {}).items():
        lines.append(f"    {key}: {_flow(value)}")
    lines.append("    rules:")
    for rule, why in rules:
        lines.append(f"      - {_flow(rule)}" + (f"   # {why}" if why else ""))
    return [*lines, ""]


def _monitors(p: Plan, key: str, maturity: str) -> list[str]:
    out: list[str] = []
    by = {"by": [p.slices[:1]]} if p.slices else {}
    psi = ({"metric": "psi", "warn": 0.1, "alert": 0.25}, "0.1 moderate, 0.25 large shift")
    nulls = {"metric": "null_rate", "measure": "delta", "warn": 0.05, "alert": 0.1}
    if p.numeric:
        out += _monitor(f"{key}-feature-drift", key, "numeric_drift", {"columns": p.numeric},
                        [psi, (nulls, "")], comment="numeric features against the baseline")  # fmt: skip
    if len(p.numeric) >= 2:
        out += _monitor(
            f"{key}-feature-relations", key, "multivariate_drift", {"columns": p.numeric},
            [({"metric": "reconstruction_error", "measure": "relative_delta", "alert": 0.5,
               "max_p_value": 0.001}, "")],
            comment="how the features relate: a drift no single feature shows",
        )  # fmt: skip
    if p.categorical:
        out += _monitor(f"{key}-category-drift", key, "categorical_drift",
                        {"columns": p.categorical}, [psi, (nulls, "")])  # fmt: skip
    out += _monitor(f"{key}-score-drift", key, "numeric_drift", {"columns": ["score"]},
                    [psi], comment="the model's output, before any label arrives")  # fmt: skip
    out += _monitor(
        f"{key}-traffic", key, "row_count", by or None,
        [({"metric": "row_count_ratio", "direction": "below", "warn": 0.7, "alert": 0.5, "clear": 0.85}, "volume dropped"),
         ({"metric": "row_count_ratio", "direction": "above", "warn": 1.5, "alert": 2.0, "clear": 1.3}, "volume surged")],
    )  # fmt: skip
    if p.numeric or p.categorical:
        out += _monitor(f"{key}-feature-nulls", key, "null_rate",
                        {"columns": p.numeric + p.categorical}, [(nulls, "")])  # fmt: skip
    out += _monitor(
        f"{key}-freshness", key, "freshness", None,
        [({"metric": "freshness", "warn": 28800, "alert": 43200}, "seconds since the newest prediction"),
         ({"metric": "future_rows", "warn": 0}, "predictions dated after the run: a clock is off")],
    )  # fmt: skip
    if p.feedback:
        late = {"window": "7d", "lag": maturity}
        coverage = (
            {"metric": "label_coverage", "direction": "below", "warn": 0.7, "alert": 0.5},
            "feedback stopped?",
        )
        if p.classification:
            out += _monitor(
                f"{key}-performance", key, "classification", None,
                [({"metric": "auc", "measure": "delta", "direction": "below", "warn": -0.05, "alert": -0.1}, ""), coverage],
                late, comment="once labels matured (lag = label_maturity)",
            )  # fmt: skip
            # The map is fitted on the baseline's mature labelled predictions: a rolling
            # baseline twice the label maturity always has its older half mature.
            days = 2 * (p.label_maturity_days or 14)
            out += _monitor(
                f"{key}-estimated-performance", key, "estimated_performance", None,
                [({"metric": "estimated_auc", "measure": "delta", "direction": "below", "warn": -0.05, "alert": -0.1},
                  "against the baseline's measured AUC")],
                {"baseline": {"kind": "rolling", "days": days}, "min_samples": 30},
                comment="performance before the labels arrive (CBPE; each window's realized values fill in once they have)",
            )  # fmt: skip
            if p.slices:
                out += _monitor(
                    f"{key}-guardrails", key, "slice_metrics",
                    {"slices": [[s] for s in p.slices], "metrics": ["positive_rate"]},
                    [({"metric": "positive_rate", "measure": "delta", "warn": 0.05, "alert": 0.1, "max_q_value": 0.01},
                      "significant after Benjamini-Hochberg")],
                    comment="a regression in one slice that the aggregate hides",
                )  # fmt: skip
        else:
            out += _monitor(
                f"{key}-performance", key, "regression", None,
                [({"metric": "mae", "measure": "relative_delta", "warn": 0.2, "alert": 0.5}, ""), coverage],
                late, comment="once labels matured (lag = label_maturity)",
            )  # fmt: skip
    if p.shadow:
        slices = {"slices": [[s] for s in p.slices]} if p.slices else None
        out += _monitor(
            f"{key}-shadow-disagreement", key, "shadow_disagreement", slices,
            [({"metric": "shadow_coverage", "direction": "below", "warn": 0.95, "alert": 0.8}, ""),
             ({"metric": "disagreement_rate", "measure": "delta", "warn": 0.15, "alert": 0.3, "max_q_value": 0.01}, "")],
            comment="production against shadow, request by request",
        )  # fmt: skip
        out += _monitor(
            f"{key}-shadow-comovement", key, "score_comovement", slices,
            [({"metric": "ks_gap", "direction": "both", "warn": 0.2, "alert": 0.35}, "one model's scores moved, the other's did not")],
        )  # fmt: skip
        if p.feedback and p.classification:
            out += _monitor(
                f"{key}-shadow-outcomes", key, "paired_outcomes", slices,
                [({"metric": "win_rate", "direction": "below", "warn": 0.4, "alert": 0.3, "max_q_value": 0.01}, "")],
                {"window": "7d", "lag": maturity}, comment="which model is right when they disagree",
            )  # fmt: skip
    return out


def write(target: str, predictions: str, feedback: str | None, out: Path, force: bool) -> Plan:
    """Plan, render, prove the text loads as a config, then write it."""
    if out.exists() and not force:
        raise MonitorError(f"{out} exists: pass --force to overwrite it, or --out another file")
    if not out.parent.is_dir():
        raise MonitorError(f"--out {out}: no folder {out.parent}")
    result = plan(target, predictions, feedback, out)
    text = render(result)
    scratch = out.with_name(f".{out.name}.init")
    scratch.write_text(text, encoding="utf-8")
    try:
        load_config(scratch)
    except ConfigError as exc:  # a bug here, not the user's: say so plainly
        scratch.unlink()
        raise MonitorError(
            f"init wrote a config that does not load (please report): {exc}"
        ) from None
    scratch.replace(out)
    return result
