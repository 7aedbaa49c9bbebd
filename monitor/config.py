"""alerts.yaml: load, merge defaults, validate, and explain every problem at once.

Errors name the file, the line and the key path, and suggest the nearest valid key
("unknown key 'alrt' in monitors[2].rules[0] (alerts.yaml:41) — did you mean
'alert'?"). Positions come from PyYAML's node tree, so no second YAML library is
needed.
"""

from __future__ import annotations

import math
import re
import types
import typing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor import bundled
from monitor.cron import cron_schedule
from monitor.durations import parse_duration
from monitor.errors import ConfigError, did_you_mean

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than zero")
    return value


PositiveDuration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_positive)]


def _utc(value: object) -> object:
    """Dates and naive datetimes in the config are UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if hasattr(value, "isoformat") and not isinstance(value, str):  # a date
        return datetime.fromisoformat(value.isoformat()).replace(tzinfo=UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return value


UtcDatetime = Annotated[datetime, BeforeValidator(_utc)]


class Strict(BaseModel):
    """Unknown keys are errors (with a suggestion), never silently ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class DuckDBWarehouse(Strict):
    type: Literal["duckdb"] = "duckdb"
    path: Path
    memory_limit: str | None = None  # e.g. "8GB"; DuckDB's default is 80% of RAM
    threads: int | None = None
    temp_directory: Path | None = None
    # DuckDB lets one process write at a time: wait this long for another process (a
    # run, an analyst's shell) to close the file before failing with who holds it.
    lock_timeout: Duration = timedelta(seconds=10)


class PostgresWarehouse(Strict):
    """PostgreSQL through psycopg 3 (docs/engines.md)."""

    type: Literal["postgres"]
    # A libpq URL or conninfo string: postgresql://user@host:5432/db. Keep the password
    # out of the file: name the environment variable that holds it.
    url: str
    password_env: str | None = None
    connect_timeout: PositiveDuration = timedelta(seconds=10)


class SparkWarehouse(Strict):
    """Spark SQL through pyspark: a local session, or a cluster via Spark Connect."""

    type: Literal["spark"]
    master: str = "local[*]"  # ignored when connect_url is set
    connect_url: str | None = None  # sc://host:15002
    conf: dict[str, str] = Field(default_factory=dict)  # extra spark.* settings


class SnowflakeWarehouse(Strict):
    """Snowflake (extra `snowflake`: snowflake-connector-python)."""

    type: Literal["snowflake"]
    account: str
    user: str
    password_env: str = "SNOWFLAKE_PASSWORD"
    warehouse: str | None = None
    database: str | None = None
    schema_: str | None = Field(None, alias="schema")
    role: str | None = None


class BigQueryWarehouse(Strict):
    """BigQuery (extra `bigquery`: google-cloud-bigquery); credentials from ADC."""

    type: Literal["bigquery"]
    project: str
    dataset: str | None = None  # default dataset for unqualified table names
    location: str | None = None


class TrinoWarehouse(Strict):
    """Trino (extra `trino`: the trino client)."""

    type: Literal["trino"]
    host: str
    port: int = 8080
    user: str
    catalog: str
    schema_: str = Field(alias="schema")
    http_scheme: Literal["http", "https"] = "http"
    password_env: str | None = None


class DatabricksWarehouse(Strict):
    """Databricks SQL (extra `databricks`: databricks-sql-connector)."""

    type: Literal["databricks"]
    server_hostname: str
    http_path: str
    access_token_env: str = "DATABRICKS_TOKEN"
    catalog: str | None = None
    schema_: str | None = Field(None, alias="schema")


def _duckdb_by_default(value: object) -> object:
    """`type:` may be left out for the embedded default."""
    if isinstance(value, dict) and "type" not in value:
        return {"type": "duckdb", **value}
    return value


WarehouseConfig = Annotated[
    DuckDBWarehouse
    | PostgresWarehouse
    | SparkWarehouse
    | SnowflakeWarehouse
    | BigQueryWarehouse
    | TrinoWarehouse
    | DatabricksWarehouse,
    Field(discriminator="type"),
    BeforeValidator(_duckdb_by_default),
]
# Where the state store (runs, metrics, alerts, outbox, ledger) can live: engines with
# cheap small transactions and INSERT ... ON CONFLICT.
StateDatabase = Annotated[
    DuckDBWarehouse | PostgresWarehouse,
    Field(discriminator="type"),
    BeforeValidator(_duckdb_by_default),
]
STATE_ENGINES = ("duckdb", "postgres")


class StateConfig(Strict):
    # A plain name: it is quoted as one identifier everywhere it is used.
    schema_: str = Field("monitor", alias="schema", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    # A separate database for the state (default: the warehouse itself). Required when
    # the warehouse cannot hold it (Spark, Snowflake, BigQuery, Trino, Databricks).
    database: StateDatabase | None = None


class DbtConfig(Strict):
    # Default: the dbt project bundled with the package (monitor.bundled).
    project_dir: Path | None = None
    # Default: $DBT_PROFILES_DIR when set, else the project's own profiles.yml.
    profiles_dir: Path | None = None
    # The profile's output; default: $DBT_TARGET when set, else warehouse.type.
    target: str | None = None
    # Where dbt writes target/ and logs/ (never inside the project, which may be an
    # installed package); default: a cache folder per project (monitor.dbt.work_dir).
    work_dir: Path | None = None
    build_before_checks: bool = True
    vars: dict[str, Any] = Field(default_factory=dict)


Severity = Literal["page", "ticket", "info"]
PAGE_ONLY: tuple[Severity, ...] = ("page",)


class SlackConfig(Strict):
    token_env: str = "SLACK_BOT_TOKEN"
    default_channel: str = "#ml-alerts"
    base_url: str | None = None  # a Slack-API-compatible server (proxies, tests)
    # Channel per severity, for monitors that set no `channel` of their own.
    routes: dict[Severity, str] = Field(default_factory=dict)
    timeout: float = Field(10.0, gt=0)  # seconds per HTTP request


class WebhookConfig(Strict):
    """A generic JSON webhook: each notification is POSTed as one JSON object."""

    url_env: str = "MONITOR_WEBHOOK_URL"
    timeout: float = Field(10.0, gt=0)


class PagerDutyConfig(Strict):
    """PagerDuty Events API v2: a `trigger` per alert of a listed severity, `resolve`
    when it resolves; the alert's fingerprint is the dedup_key."""

    routing_key_env: str = "PAGERDUTY_ROUTING_KEY"  # an Events API v2 integration key
    url: str = "https://events.pagerduty.com/v2/enqueue"
    severities: list[Severity] = Field(default_factory=lambda: list(PAGE_ONLY), min_length=1)
    timeout: float = Field(10.0, gt=0)


class AlertmanagerConfig(Strict):
    """Prometheus Alertmanager: alerts POSTed to `<url>/api/v2/alerts`, routed by the
    team's own Alertmanager configuration."""

    url: str  # e.g. http://alertmanager:9093
    severities: list[Severity] = Field(
        default_factory=lambda: list(typing.get_args(Severity)), min_length=1
    )
    timeout: float = Field(10.0, gt=0)


Receiver = Literal["slack", "webhook", "pagerduty", "alertmanager", "console"]


class RouteConfig(Strict):
    """One routing rule: alerts matching every given glob go to `receivers` (default:
    every enabled one) and, on Slack, to `channel`. The first matching rule wins."""

    monitor: str = "*"
    model: str = "*"
    severity: str = "*"
    segment: str = "*"  # the alert's segment, e.g. "country=PT*" (glob)
    receivers: list[Receiver] | None = None
    channel: str | None = None


class NotifyConfig(Strict):
    slack: SlackConfig | None = None
    webhook: WebhookConfig | None = None
    pagerduty: PagerDutyConfig | None = None
    alertmanager: AlertmanagerConfig | None = None
    routes: list[RouteConfig] = Field(default_factory=list)
    top_k: int = Field(10, ge=1, le=40)  # breaching items listed per message, then "+N more"
    report_url: str | None = None  # base URL of the HTML report, linked from messages
    # Retry caps for the outbox: a notification is retried until delivered, with
    # exponential backoff up to `max_backoff`; a 429's Retry-After is honoured up to it.
    max_backoff: Duration = timedelta(hours=1)
    # How long a one-shot verb (run, backfill --notify, send, demo) keeps retrying
    # before it exits 3 with the notifications still waiting.
    deliver_within: Duration = timedelta(minutes=2)

    @model_validator(mode="after")
    def _receivers_configured(self) -> NotifyConfig:
        for i, route in enumerate(self.routes):
            for name in route.receivers or []:
                if name != "console" and getattr(self, name) is None:
                    raise ValueError(
                        f"routes[{i}] sends to {name}, but notify.{name} is not configured"
                    )
        return self


class Features(Strict):
    numeric: list[str] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)


JudgedMetric = Literal["accuracy", "auc", "log_loss", "positive_rate"]
DEFAULT_TOLERANCE: dict[JudgedMetric, float] = {
    "accuracy": 0.01,
    "auc": 0.01,
    "log_loss": 0.02,
    "positive_rate": 0.05,
}


class CompareSettings(Strict):
    """How `monitor compare` judges a shadow model against production (docs/compare.md)."""

    window: PositiveDuration = timedelta(days=7)
    min_samples: int = Field(200, ge=1)  # per segment; thinner segments are not judged
    max_q_value: float = Field(0.01, gt=0, le=1)  # BH across every test of the comparison
    min_coverage: float = Field(0.9, ge=0, le=1)  # share of production requests shadowed
    # The smallest change that matters, per metric (absolute; positive_rate either way).
    tolerance: dict[JudgedMetric, float] = Field(default_factory=lambda: dict(DEFAULT_TOLERANCE))

    @field_validator("tolerance")
    @classmethod
    def _complete(cls, value: dict[JudgedMetric, float]) -> dict[JudgedMetric, float]:
        """Keys not given keep their defaults; a tolerance is a finite number >= 0."""
        bad = [k for k, v in value.items() if not (math.isfinite(v) and v >= 0)]
        if bad:
            raise ValueError(f"tolerances must be finite and >= 0 (not for {', '.join(bad)})")
        return {**DEFAULT_TOLERANCE, **value}


class ModelConfig(Strict):
    model_name: str | None = None  # value of `model_name` in the logs; default: the key
    predictions: str = "prediction_outcomes"
    shadow_pairs: str | None = "shadow_pairs"
    features: Features = Field(default_factory=Features)
    slices: list[str] = Field(default_factory=list)
    label_maturity: Duration = timedelta(0)
    # Operating threshold per role (a prediction is positive when score >= it): the
    # default of every check's `threshold` param, so a production and a shadow model
    # can each be judged at their own cut-off. Unset roles use 0.5.
    thresholds: dict[Literal["production", "shadow", "canary"], float] = Field(default_factory=dict)

    compare: CompareSettings = Field(default_factory=lambda: CompareSettings.model_validate({}))

    @field_validator("thresholds")
    @classmethod
    def _finite(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [role for role, t in value.items() if not math.isfinite(t)]
        if bad:
            raise ValueError(f"thresholds must be finite numbers (not for {', '.join(bad)})")
        return value


class FixedBaseline(Strict):
    kind: Literal["fixed"]
    start: UtcDatetime
    end: UtcDatetime

    @model_validator(mode="after")
    def _ordered(self) -> FixedBaseline:
        if self.end <= self.start:
            raise ValueError("baseline end must be after its start")
        return self


class RollingBaseline(Strict):
    kind: Literal["rolling"]
    days: int = Field(7, ge=1)
    # Leave out earlier windows in which this monitor raised an alert, so an incident
    # does not become the reference that later, healthy windows are judged against.
    skip_alerting: bool = True


class SeasonalBaseline(Strict):
    kind: Literal["seasonal"]
    weeks: int = Field(4, ge=1)
    skip_alerting: bool = True


class TableBaseline(Strict):
    kind: Literal["table"]
    name: str


Baseline = Annotated[
    Union[FixedBaseline, RollingBaseline, SeasonalBaseline, TableBaseline],  # noqa: UP007
    Field(discriminator="kind"),
]


class Rule(Strict):
    metric: str
    warn: float | None = None
    alert: float | None = None
    direction: Literal["above", "below", "both"] = "above"
    measure: Literal["value", "delta", "relative_delta"] = "value"
    max_p_value: float | None = Field(None, gt=0, le=1)
    max_q_value: float | None = Field(None, gt=0, le=1)
    segment: str = "*"
    feature: str = "*"
    # Hysteresis: a firing alert recovers only once the value is back beyond `clear`
    # (default: the warn level, else the alert level), so a value hovering around the
    # threshold does not resolve and re-fire every run.
    clear: float | None = None

    @model_validator(mode="after")
    def _has_threshold(self) -> Rule:
        if self.warn is None and self.alert is None:
            raise ValueError("a rule needs a 'warn' or an 'alert' threshold (or both)")
        if (
            self.warn is not None
            and self.alert is not None
            and self.direction != "both"
            and (self.alert < self.warn if self.direction == "above" else self.alert > self.warn)
        ):
            worse = "above" if self.direction == "above" else "below"
            raise ValueError(f"'alert' must be at or {worse} 'warn' for direction {self.direction}")
        first = self.warn if self.warn is not None else self.alert
        if self.clear is not None and first is not None:
            inside = {
                "above": self.clear <= first,
                "below": self.clear >= first,
                "both": abs(self.clear) <= abs(first),
            }[self.direction]
            if not inside:
                raise ValueError(
                    f"'clear' ({self.clear}) must be on the healthy side of the first "
                    f"threshold ({first}) for direction {self.direction}"
                )
        return self


def _owner(value: str) -> str:
    if not re.fullmatch(r"[UWS][A-Z0-9]{2,}|here|channel", value):
        raise ValueError(
            f"{value!r} is not a Slack user (U…, W…) or user-group (S…) id, here or channel"
        )
    return value


class MonitorSettings(Strict):
    """Everything a monitor may inherit from `defaults:`."""

    params: dict[str, Any] = Field(default_factory=dict)
    schedule: str = "0 * * * *"
    timezone: str = "UTC"
    window: PositiveDuration = timedelta(days=1)
    lag: Duration = timedelta(0)
    baseline: Baseline | None = None
    role: Literal["production", "shadow", "canary"] = "production"
    rules: list[Rule] = Field(default_factory=list)
    min_samples: int = Field(100, ge=0)
    for_: int = Field(1, alias="for", ge=1)
    # The alert lifecycle (docs/alerts.md): consecutive clear runs before a firing
    # alert resolves, how often a firing alert is re-announced in its thread, and
    # what a run without data means (alert: a no_data alert; ok: the alerts clear;
    # keep: nothing changes).
    keep_firing_for: int = Field(1, ge=1)
    repeat_interval: PositiveDuration = timedelta(hours=24)
    no_data: Literal["alert", "ok", "keep"] = "alert"
    # A warehouse query running longer is cancelled and the run recorded as an error.
    query_timeout: PositiveDuration = timedelta(minutes=30)
    # How late a scheduled run may finish before the daemon's /healthz reports it overdue.
    grace: PositiveDuration = timedelta(minutes=10)
    severity: Severity = "ticket"
    channel: str | None = None
    # Who a page-severity message mentions: Slack user (U…/W…) or user-group (S…)
    # ids, and `here` or `channel` for everyone in the channel.
    owners: list[Annotated[str, AfterValidator(_owner)]] = Field(default_factory=list)

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        try:
            cron_schedule(value)
        except ValueError as exc:
            raise ValueError(f"invalid cron expression {value!r}: {exc}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value


class MonitorConfig(MonitorSettings):
    name: str
    model: str
    check: str


class DaemonConfig(Strict):
    """`monitor daemon` (docs/operations.md)."""

    host: str = "127.0.0.1"
    port: int = Field(9464, ge=0, le=65535)  # 0: any free port (logged at start)
    # After downtime, missed windows are run at start, oldest first, back to this far.
    catch_up_horizon: PositiveDuration = timedelta(days=3)
    # On SIGTERM/SIGINT, how long in-flight runs may take to finish before they are
    # cancelled (keep it below your orchestrator's kill grace period).
    stop_timeout: PositiveDuration = timedelta(seconds=20)
    # How often a standby daemon tries to take over the leader lock.
    leader_poll: PositiveDuration = timedelta(seconds=5)
    # How often the daemon checks for monitors without a recent success (the dead-man's
    # switch) and retries the outbox.
    watchdog_interval: PositiveDuration = timedelta(seconds=30)


class Config(Strict):
    warehouse: WarehouseConfig
    state: StateConfig = Field(default_factory=lambda: StateConfig.model_validate({}))
    dbt: DbtConfig | None = None
    notify: NotifyConfig = Field(default_factory=lambda: NotifyConfig.model_validate({}))
    # Folders of checks of one's own, searched before the built-in ones (which a check
    # of the same name overrides).
    sql_dirs: list[Path] = Field(default_factory=list)
    daemon: DaemonConfig = Field(default_factory=lambda: DaemonConfig.model_validate({}))
    models: dict[str, ModelConfig]
    defaults: MonitorSettings | None = None
    monitors: list[MonitorConfig] = Field(default_factory=list)

    # Set by load_config, not by the YAML.
    path: Path = Field(Path("alerts.yaml"), exclude=True)

    def monitor(self, name: str) -> MonitorConfig:
        for m in self.monitors:
            if m.name == name:
                return m
        raise ConfigError([f"no monitor named {name!r}{did_you_mean(name, self.monitor_names())}"])

    def monitor_names(self) -> list[str]:
        return [m.name for m in self.monitors]

    @property
    def state_database(self) -> DuckDBWarehouse | PostgresWarehouse:
        """Where the state store lives: `state.database`, else the warehouse."""
        if self.state.database is not None:
            return self.state.database
        assert isinstance(self.warehouse, (DuckDBWarehouse, PostgresWarehouse))  # _cross_checks
        return self.warehouse

    @property
    def check_dirs(self) -> list[Path]:
        """Where checks are found, in order: `sql_dirs`, then the built-in checks."""
        builtin = bundled.checks_dir()
        return [*(d for d in self.sql_dirs if d.resolve() != builtin.resolve()), builtin]

    @property
    def dbt_project(self) -> Path:
        """The dbt project to build: `dbt.project_dir`, else the bundled one."""
        if self.dbt is not None and self.dbt.project_dir is not None:
            return self.dbt.project_dir
        return bundled.dbt_project_dir()

    def model_rows_name(self, model_key: str) -> str:
        """The `model_name` value that marks this model's rows in the logs."""
        return self.models[model_key].model_name or model_key


# ---------------------------------------------------------------------------- loading


def load_config(path: str | Path) -> Config:
    """Read, merge `defaults:` into monitors, validate; raise ConfigError with all problems."""
    path = Path(path)
    if not path.exists():
        raise ConfigError([f"{path}: file not found (pass --config PATH)"])
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path.name}:{mark.line + 1}" if mark else path.name
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"invalid YAML at {where}: {problem}"]) from None
    if not isinstance(raw, dict):
        raise ConfigError([f"{path.name}: expected a mapping of keys at the top level"])

    bool_keys = _boolean_keys(raw, ())
    if bool_keys:
        raise ConfigError(bool_keys)
    lines = yaml_lines(node) if node is not None else {}
    merged, inherited = _merge_defaults(raw)
    locate = _Locator(path.name, lines, inherited)

    problems = []
    try:
        config = Config.model_validate(merged)
    except ValidationError as exc:
        problems = [_describe(err, locate) for err in exc.errors()]
    problems += _cross_checks(merged, locate)
    if problems:
        # A bad key in `defaults:` is inherited by every monitor: report it once.
        raise ConfigError(list(dict.fromkeys(problems)))
    base = path.resolve().parent
    return config.model_copy(update={"path": path.resolve(), **_resolved_paths(config, base)})


def _boolean_keys(node: Any, path: tuple[Any, ...]) -> list[str]:
    """YAML 1.1 reads the keys on/off/yes/no as booleans: name the trap and the fix."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, bool):
                hint = (
                    " (for a rule, the key is 'measure:')"
                    if path and path[-2:-1] == ("rules",)
                    else ""
                )
                found.append(
                    f"{format_path(path)}: a key written on/off/yes/no is read by YAML as {key}; "
                    f"quote it or use another name{hint}"
                )
            else:
                found += _boolean_keys(value, (*path, key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found += _boolean_keys(item, (*path, i))
    return found


def _resolved_paths(config: Config, base: Path) -> dict[str, Any]:
    """Relative paths in the file are relative to the file's folder."""

    def resolve(p: Path) -> Path:
        return p if p.is_absolute() else (base / p).resolve()

    def resolve_db(db: Any) -> Any:
        if not isinstance(db, DuckDBWarehouse):
            return db
        temp = resolve(db.temp_directory) if db.temp_directory else None
        return db.model_copy(update={"path": resolve(db.path), "temp_directory": temp})

    update: dict[str, Any] = {
        "warehouse": resolve_db(config.warehouse),
        "sql_dirs": [resolve(d) for d in config.sql_dirs],
    }
    if config.state.database is not None:
        update["state"] = config.state.model_copy(
            update={"database": resolve_db(config.state.database)}
        )
    if config.dbt:
        dbt = config.dbt
        update["dbt"] = dbt.model_copy(
            update={
                key: resolve(value)
                for key, value in (
                    ("project_dir", dbt.project_dir),
                    ("profiles_dir", dbt.profiles_dir),
                    ("work_dir", dbt.work_dir),
                )
                if value is not None
            }
        )
    return update


def yaml_lines(node: yaml.Node) -> dict[tuple[Any, ...], int]:
    """The 1-based line of every key and list item of a composed YAML document, by its
    path of keys and indices (() is the document): errors name the line they are about."""
    lines: dict[tuple[Any, ...], int] = {}
    _record_lines(node, (), lines)
    return lines


def _record_lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*path, key)] = key_node.start_mark.line + 1
            _record_lines(value_node, (*path, key), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*path, i)] = item.start_mark.line + 1
            _record_lines(item, (*path, i), out)


def _merge_defaults(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[int, set[str]]]:
    """Monitors inherit every key of `defaults:` they do not set themselves (shallow)."""
    defaults = raw.get("defaults") or {}
    monitors = raw.get("monitors")
    inherited: dict[int, set[str]] = {}
    if not isinstance(defaults, dict) or not isinstance(monitors, list):
        return raw, inherited
    merged_monitors = []
    for i, mon in enumerate(monitors):
        if isinstance(mon, dict):
            keys = set(defaults) - set(mon)
            inherited[i] = keys
            mon = {**{k: defaults[k] for k in keys}, **mon}
        merged_monitors.append(mon)
    return {**raw, "monitors": merged_monitors}, inherited


class _Locator:
    """Maps a pydantic error location to a readable key path and a file line."""

    def __init__(
        self, filename: str, lines: dict[tuple[Any, ...], int], inherited: dict[int, set[str]]
    ):
        self.filename = filename
        self.lines = lines
        self.inherited = inherited

    def yaml_path(self, loc: tuple[Any, ...]) -> tuple[Any, ...]:
        """Drop the parts pydantic adds (union tags) that are not keys in the file."""
        path: tuple[Any, ...] = ()
        for part in loc:
            if (*path, part) in self.lines or not self.lines:
                path = (*path, part)
            elif part in ("fixed", "rolling", "seasonal", "table", "duckdb"):
                continue  # a discriminated-union tag
            else:
                path = (*path, part)
        # A key inherited from defaults lives in the defaults block.
        if (
            len(path) >= 3
            and path[0] == "monitors"
            and isinstance(path[1], int)
            and path[2] in self.inherited.get(path[1], set())
        ):
            path = ("defaults", *path[2:])
        return path

    def line(self, path: tuple[Any, ...]) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None

    def where(self, path: tuple[Any, ...]) -> str:
        line = self.line(path)
        return f"{self.filename}:{line}" if line else self.filename


def format_path(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _describe(err: Any, locate: _Locator) -> str:
    loc = tuple(err["loc"])
    path = locate.yaml_path(loc)
    where = locate.where(path)
    if err["type"] == "extra_forbidden":
        key, parent = path[-1], path[:-1]
        valid = valid_keys(loc[:-1])
        hint = did_you_mean(str(key), valid)
        if not hint and valid:
            hint = f" (valid keys: {', '.join(sorted(valid))})"
        return f"unknown key {key!r} in {format_path(parent)} ({where}){hint}"
    if err["type"] == "missing":
        return f"missing required key {path[-1]!r} in {format_path(path[:-1])} ({where})"
    if err["type"] == "union_tag_invalid":
        tags = err.get("ctx", {}).get("expected_tags", "")
        got = err.get("ctx", {}).get("tag", "")
        return f"{format_path(path)} ({where}): unknown kind {got!r}; expected one of {tags}"
    msg = err["msg"].removeprefix("Value error, ")
    return f"{format_path(path)} ({where}): {msg}"


def valid_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model at `loc` accepts (aliases as written in YAML)."""
    current: Any = Config
    for part in loc:
        if typing.get_origin(_unwrap(current, None)) in (Union, types.UnionType):
            current = _unwrap(current, part)  # `part` is a discriminated union's tag
            continue
        current = _step(current, part)
        if current is None:
            return []
    current = _unwrap(current, None)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items() if name != "path"]
    return []


def _unwrap(tp: Any, tag: Any) -> Any:
    """Strip Optional/Annotated; pick a union member by discriminator tag when given."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
            for m in members:
                kind = getattr(m, "model_fields", {}).get("kind")
                if kind is not None and tag in typing.get_args(kind.annotation):
                    return m
            return tp
        else:
            return tp


def _step(tp: Any, part: Any) -> Any:
    tp = _unwrap(tp, part)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, field in tp.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    origin = typing.get_origin(tp)
    if origin in (list, dict):
        return typing.get_args(tp)[-1]
    return None


def _cross_checks(merged: dict[str, Any], locate: _Locator) -> list[str]:
    """Problems pydantic cannot see (references between sections, duplicate names),
    read from the raw mapping so they are reported together with pydantic's."""
    problems: list[str] = []
    models = merged.get("models")
    model_keys = [str(k) for k in models] if isinstance(models, dict) else []
    monitors = merged.get("monitors")
    seen: set[str] = set()
    for i, mon in enumerate(monitors if isinstance(monitors, list) else []):
        if not isinstance(mon, dict):
            continue
        name, model = mon.get("name"), mon.get("model")
        if isinstance(name, str):
            if name in seen:
                where = locate.where(("monitors", i, "name"))
                problems.append(f"monitors[{i}].name ({where}): duplicate monitor name {name!r}")
            seen.add(name)
        if isinstance(model, str) and model_keys and model not in model_keys:
            where = locate.where(("monitors", i, "model"))
            hint = did_you_mean(model, model_keys) or f" (models: {', '.join(model_keys)})"
            problems.append(f"monitors[{i}].model ({where}): unknown model {model!r}{hint}")
    warehouse, state = merged.get("warehouse"), merged.get("state")
    engine = warehouse.get("type", "duckdb") if isinstance(warehouse, dict) else None
    has_state_db = isinstance(state, dict) and state.get("database") is not None
    if isinstance(engine, str) and engine not in STATE_ENGINES and not has_state_db:
        where = locate.where(("warehouse", "type"))
        problems.append(
            f"warehouse.type ({where}): a {engine} warehouse cannot hold the state store "
            "(runs, alerts, outbox need small transactions): name one in state.database, "
            "e.g. state: {database: {type: duckdb, path: monitor_state.duckdb}}"
        )
    return problems
