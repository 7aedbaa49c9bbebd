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
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from monitor import bundled
from monitor.cron import cron_schedule
from monitor.durations import format_duration, parse_duration
from monitor.errors import ConfigError, did_you_mean

# How editors see a duration: the YAML spelling, not pydantic's ISO 8601.
DURATION_SCHEMA = WithJsonSchema(
    {"anyOf": [{"type": "string", "pattern": r"^\s*(\d+\s*[smhdw]|0)\s*$"}, {"const": 0}],
     "examples": ["30m", "1h", "1d", "2w"]}
)  # fmt: skip
Duration = Annotated[timedelta, BeforeValidator(parse_duration), DURATION_SCHEMA]


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than zero")
    return value


PositiveDuration = Annotated[
    timedelta, BeforeValidator(parse_duration), AfterValidator(_positive), DURATION_SCHEMA
]


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


UtcDatetime = Annotated[
    datetime,
    BeforeValidator(_utc),
    WithJsonSchema({"type": "string", "examples": ["2026-09-01", "2026-09-01T06:00:00Z"]}),
]


class Strict(BaseModel):
    """Unknown keys are errors (with a suggestion), never silently ignored."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, frozen=True, use_attribute_docstrings=True
    )


class _Warehouse(Strict):
    """Settings every engine has."""

    connections: int = Field(default=1, ge=1, le=64)
    """How many monitors of a pass run their queries at once, each on a connection of its
    own (1: one after another)."""


class DuckDBWarehouse(_Warehouse):
    type: Literal["duckdb"] = "duckdb"
    """The engine: duckdb (the embedded default; may be left out)."""
    path: Path
    """The DuckDB file (relative to this file's folder)."""
    memory_limit: str | None = None
    """DuckDB's memory limit, e.g. "8GB" (default: 80% of RAM); set it on shared machines."""
    threads: int | None = None
    """DuckDB worker threads (default: all cores)."""
    temp_directory: Path | None = None
    """Where large sorts spill to disk (default: DuckDB's)."""
    lock_timeout: Duration = timedelta(seconds=10)
    """DuckDB lets one process write at a time: how long to wait for another process (a run, an
    analyst's shell) to close the file before failing with who holds it.
    """


class PostgresWarehouse(_Warehouse):
    """PostgreSQL through psycopg 3 (docs/engines.md)."""

    type: Literal["postgres"]
    """The engine: postgres (psycopg 3)."""
    url: str
    """A libpq URL or conninfo string, e.g. postgresql://user@host:5432/db, without the password."""
    password_env: str | None = None
    """The environment variable holding the password."""
    connect_timeout: PositiveDuration = timedelta(seconds=10)
    """How long to wait for a connection before failing."""


class SparkWarehouse(_Warehouse):
    """Spark SQL through pyspark: a local session, or a cluster via Spark Connect."""

    type: Literal["spark"]
    """The engine: spark (pyspark; Java 17+)."""
    master: str = "local[*]"
    """The local session's master, e.g. local[*]; ignored when connect_url is set."""
    connect_url: str | None = None
    """A Spark Connect server, e.g. sc://host:15002."""
    conf: dict[str, str] = Field(default_factory=dict)
    """Extra spark.* settings for the session."""

    @field_validator("connections")
    @classmethod
    def _one_session(cls, value: int) -> int:
        if value > 1:
            raise ValueError(
                "Spark runs one monitor at a time (connections: 1): every connection is "
                "the same session, and a query_timeout cancels all of its jobs"
            )
        return value


class SnowflakeWarehouse(_Warehouse):
    """Snowflake (extra `snowflake`: snowflake-connector-python)."""

    type: Literal["snowflake"]
    """The engine: snowflake (extra `snowflake`)."""
    account: str
    """The Snowflake account identifier."""
    user: str
    """The user to connect as."""
    password_env: str = "SNOWFLAKE_PASSWORD"
    """The environment variable holding the password."""
    warehouse: str | None = None
    """The virtual warehouse that runs the queries."""
    database: str | None = None
    """The default database for unqualified table names."""
    schema_: str | None = Field(None, alias="schema")
    """The default schema for unqualified table names."""
    role: str | None = None
    """The role to assume."""


class BigQueryWarehouse(_Warehouse):
    """BigQuery (extra `bigquery`: google-cloud-bigquery); credentials from ADC."""

    type: Literal["bigquery"]
    """The engine: bigquery (extra `bigquery`; credentials from application default)."""
    project: str
    """The Google Cloud project that runs the queries."""
    dataset: str | None = None
    """The default dataset for unqualified table names."""
    location: str | None = None
    """The location of the datasets, e.g. EU."""


class TrinoWarehouse(_Warehouse):
    """Trino (extra `trino`: the trino client)."""

    type: Literal["trino"]
    """The engine: trino (extra `trino`)."""
    host: str
    """The coordinator's host name."""
    port: int = 8080
    """The coordinator's port."""
    user: str
    """The user to connect as."""
    catalog: str
    """The catalog of the tables."""
    schema_: str = Field(alias="schema")
    """The schema of the tables."""
    http_scheme: Literal["http", "https"] = "http"
    """http or https."""
    password_env: str | None = None
    """The environment variable holding the password (basic authentication over https)."""


class DatabricksWarehouse(_Warehouse):
    """Databricks SQL (extra `databricks`: databricks-sql-connector)."""

    type: Literal["databricks"]
    """The engine: databricks (extra `databricks`)."""
    server_hostname: str
    """The workspace's server hostname."""
    http_path: str
    """The SQL warehouse's HTTP path."""
    access_token_env: str = "DATABRICKS_TOKEN"
    """The environment variable holding a personal access token."""
    catalog: str | None = None
    """The default catalog for unqualified table names."""
    schema_: str | None = Field(None, alias="schema")
    """The default schema for unqualified table names."""


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
    schema_: str = Field("monitor", alias="schema", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """The schema that holds runs, metrics, bin_specs, the alert tables and the outbox (a plain
    name).
    """
    database: StateDatabase | None = None
    """A separate database for the state (default: the warehouse itself); required when the
    warehouse cannot hold it (Spark, Snowflake, BigQuery, Trino, Databricks).
    """

    @field_validator("database")
    @classmethod
    def _no_connections(cls, value: StateDatabase | None) -> StateDatabase | None:
        # The state store writes on one connection; the key is the warehouse's.
        if value is not None and "connections" in value.model_fields_set:
            raise ValueError(
                "connections has no use here (the state store writes on one connection): "
                "set warehouse.connections instead"
            )
        return value


class DbtConfig(Strict):
    project_dir: Path | None = None
    """The dbt project to build (default: the one bundled with the package)."""
    profiles_dir: Path | None = None
    """Where profiles.yml is (default: $DBT_PROFILES_DIR when set, else the project's own)."""
    target: str | None = None
    """The profile's output to build (default: $DBT_TARGET when set, else warehouse.type)."""
    work_dir: Path | None = None
    """Where dbt writes target/ and logs/, never inside the project (default: a cache folder
    per config and project).
    """
    build_before_checks: bool = True
    """Run `dbt build` (models and tests) before each pass."""
    vars: dict[str, Any] = Field(default_factory=dict)
    """dbt vars, e.g. predictions_table, feedback_table, loaded_at_column."""


Severity = Literal["page", "ticket", "info"]
PAGE_ONLY: tuple[Severity, ...] = ("page",)


class SlackConfig(Strict):
    token_env: str = "SLACK_BOT_TOKEN"
    """The environment variable holding the bot token (xoxb-...)."""
    default_channel: str = "#ml-alerts"
    """The channel for monitors that set none and severities without a route."""
    base_url: str | None = None
    """A Slack-API-compatible server (proxies, tests); default: Slack's."""
    routes: dict[Severity, str] = Field(default_factory=dict)
    """A channel per severity, for monitors that set no channel of their own."""
    timeout: float = Field(10.0, gt=0)
    """Seconds per HTTP request."""


class WebhookConfig(Strict):
    """A generic JSON webhook: each notification is POSTed as one JSON object."""

    url_env: str = "MONITOR_WEBHOOK_URL"
    """The environment variable holding the URL each notification is POSTed to, as JSON."""
    timeout: float = Field(10.0, gt=0)
    """Seconds per request."""


class PagerDutyConfig(Strict):
    """PagerDuty Events API v2: a `trigger` per alert of a listed severity, `resolve`
    when it resolves; the alert's fingerprint is the dedup_key."""

    routing_key_env: str = "PAGERDUTY_ROUTING_KEY"
    """The environment variable holding the Events API v2 integration (routing) key."""
    url: str = "https://events.pagerduty.com/v2/enqueue"
    """The Events API endpoint (EU accounts: https://events.eu.pagerduty.com/v2/enqueue)."""
    severities: list[Severity] = Field(default_factory=lambda: list(PAGE_ONLY), min_length=1)
    """The severities that trigger an incident."""
    timeout: float = Field(10.0, gt=0)
    """Seconds per request."""


class AlertmanagerConfig(Strict):
    """Prometheus Alertmanager: alerts POSTed to `<url>/api/v2/alerts`, routed by the
    team's own Alertmanager configuration."""

    url: str
    """Alertmanager's base URL, e.g. http://alertmanager:9093; alerts are POSTed to
    /api/v2/alerts.
    """
    severities: list[Severity] = Field(
        default_factory=lambda: list(typing.get_args(Severity)), min_length=1
    )
    """The severities sent."""
    timeout: float = Field(10.0, gt=0)
    """Seconds per request."""


Receiver = Literal["slack", "webhook", "pagerduty", "alertmanager", "console"]


class RouteConfig(Strict):
    """One routing rule: alerts matching every given glob go to `receivers` (default:
    every enabled one) and, on Slack, to `channel`. The first matching rule wins."""

    monitor: str = "*"
    """Glob on the monitor's name."""
    model: str = "*"
    """Glob on the model's key."""
    severity: str = "*"
    """Glob on the alert's severity (page, ticket, info)."""
    segment: str = "*"
    """Glob on the alert's segment, e.g. "country=PT*" (all for the whole model and run-level
    alerts).
    """
    receivers: list[Receiver] | None = None
    """Where matching alerts go (default: every enabled receiver)."""
    channel: str | None = None
    """The Slack channel for matching alerts."""


FingerprintField = Literal["kind", "monitor", "check", "model", "metric", "feature", "segment"]
TargetField = Literal["kind", "monitor", "check", "model", "metric", "feature", "segment", "family"]
# Alerts that say a model's input is broken (an error or no_data run, stale data) mute
# that model's drift, performance, guardrail and shadow alerts: those would be noise
# caused by the broken input.
MUTED_BY_BROKEN_INPUT = ["drift", "performance", "guardrails", "shadow"]
DEFAULT_INHIBIT_RULES: list[dict[str, Any]] = [
    {
        "source": {"kind": ["error", "no_data"]},
        "target": {"kind": ["metric"], "family": MUTED_BY_BROKEN_INPUT},
        "equal": ["model"],
    },
    {
        "source": {"metric": ["freshness"]},
        "target": {"kind": ["metric"], "family": MUTED_BY_BROKEN_INPUT},
        "equal": ["model"],
    },
]


class InhibitRule(Strict):
    """While an alert matching `source` is pending or firing, alerts matching `target`
    that agree with it on every `equal` field are not notified (their lifecycle goes on).
    """

    source: dict[FingerprintField, list[str]] = Field(min_length=1)
    """The muting alert: fingerprint field -> globs, one of which must match (every field
    given must match).
    """
    target: dict[TargetField, list[str]] = Field(min_length=1)
    """The muted alerts: fingerprint field (or the check's family) -> globs."""
    equal: list[FingerprintField] = ["model"]  # pydantic copies a mutable default
    """Fields the two alerts must share, e.g. the model."""


class NotifyConfig(Strict):
    slack: SlackConfig | None = None
    """Slack through a bot token (threads and updates need one)."""
    webhook: WebhookConfig | None = None
    """A generic JSON webhook."""
    pagerduty: PagerDutyConfig | None = None
    """PagerDuty Events API v2."""
    alertmanager: AlertmanagerConfig | None = None
    """Prometheus Alertmanager."""
    routes: list[RouteConfig] = Field(default_factory=list)
    """Routing rules; each alert takes the first rule whose globs all match."""
    inhibit_rules: list[InhibitRule] = Field(
        default_factory=lambda: [InhibitRule.model_validate(r) for r in DEFAULT_INHIBIT_RULES]
    )
    """Alerts that mute others while they are active (default: an error, no_data or freshness
    alert mutes its model's drift, performance, guardrail and shadow alerts; [] turns it off).
    """
    top_k: int = Field(10, ge=1, le=40)
    """Breaching items listed per message (worst first), then "+N more"."""
    report_url: str | None = None
    """Where on-call opens the HTML report; messages link each alert to its card."""
    max_backoff: Duration = timedelta(hours=1)
    """The longest wait between two delivery attempts of one notification (a 429's Retry-After
    is capped by it too).
    """
    deliver_within: Duration = timedelta(minutes=2)
    """How long a one-shot verb (run, backfill --notify, send, demo) keeps retrying before it
    exits 3 with notifications still waiting.
    """

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
    """Numeric feature columns."""
    categorical: list[str] = Field(default_factory=list)
    """Categorical feature columns."""


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
    """How much recent traffic `monitor compare` judges."""
    min_samples: int = Field(200, ge=1)
    """Rows per segment below which a segment is not judged."""
    max_q_value: float = Field(0.01, gt=0, le=1)
    """Benjamini-Hochberg q-value across every test of the comparison for a difference to count."""
    min_coverage: float = Field(0.9, ge=0, le=1)
    """The share of production requests that must have a shadow score."""
    tolerance: dict[JudgedMetric, float] = Field(default_factory=lambda: dict(DEFAULT_TOLERANCE))
    """The smallest change that matters, per metric (absolute; positive_rate either way); keys
    not given keep their defaults.
    """

    @field_validator("tolerance")
    @classmethod
    def _complete(cls, value: dict[JudgedMetric, float]) -> dict[JudgedMetric, float]:
        """Keys not given keep their defaults; a tolerance is a finite number >= 0."""
        bad = [k for k, v in value.items() if not (math.isfinite(v) and v >= 0)]
        if bad:
            raise ValueError(f"tolerances must be finite and >= 0 (not for {', '.join(bad)})")
        return {**DEFAULT_TOLERANCE, **value}


class ModelConfig(Strict):
    model_name: str | None = None
    """The value of model_name that marks this model's rows in the logs (default: the model's
    key).
    """
    predictions: str = "prediction_outcomes"
    """The table or dbt model of predictions joined to outcomes."""
    shadow_pairs: str | None = "shadow_pairs"
    """The table or dbt model of production and shadow scores side by side (null: no shadow)."""
    features: Features = Field(default_factory=Features)
    """The feature columns, by kind."""
    slices: list[str] = Field(default_factory=list)
    """Columns that split the traffic into segments (country, device, ...)."""
    label_maturity: Duration = timedelta(0)
    """How long labels take to arrive: a prediction is mature (labelled or never to be) after it."""
    changed_at: str | None = None
    """A column of `predictions` that every change of a row sets to the time of the change
    (the marts' `built_at`, or their `loaded_at` for the predictions' own columns). With it,
    the counts categorical_drift sums over a large baseline's whole days are stored once and
    reused while a day's rows and their latest change are unchanged; null: a baseline is
    always read from its rows.
    """
    thresholds: dict[Literal["production", "shadow", "canary"], float] = Field(default_factory=dict)
    """The operating threshold per role (a prediction is positive when score >= it); unset
    roles use 0.5.
    """

    compare: CompareSettings = Field(default_factory=lambda: CompareSettings.model_validate({}))
    """How `monitor compare` judges a shadow model against production."""

    @field_validator("thresholds")
    @classmethod
    def _finite(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [role for role, t in value.items() if not math.isfinite(t)]
        if bad:
            raise ValueError(f"thresholds must be finite numbers (not for {', '.join(bad)})")
        return value


class FixedBaseline(Strict):
    kind: Literal["fixed"]
    """A fixed period of reference."""
    start: UtcDatetime
    """The first instant of the period (UTC)."""
    end: UtcDatetime
    """The end of the period (UTC, exclusive)."""

    @model_validator(mode="after")
    def _ordered(self) -> FixedBaseline:
        if self.end <= self.start:
            raise ValueError("baseline end must be after its start")
        return self


class RollingBaseline(Strict):
    kind: Literal["rolling"]
    """The days just before the window."""
    days: int = Field(7, ge=1)
    """How many days, pooled."""
    skip_alerting: bool = True
    """Leave out earlier windows in which this monitor raised an alert, so an incident does not
    become the reference.
    """


class SeasonalBaseline(Strict):
    kind: Literal["seasonal"]
    """The same time of the same weekday in previous weeks."""
    weeks: int = Field(4, ge=1)
    """How many previous weeks, pooled."""
    skip_alerting: bool = True
    """Leave out earlier windows in which this monitor raised an alert, so an incident does not
    become the reference.
    """


class TableBaseline(Strict):
    kind: Literal["table"]
    """A reference table of one's own."""
    name: str
    """The table (possibly schema-qualified)."""


Baseline = Annotated[
    Union[FixedBaseline, RollingBaseline, SeasonalBaseline, TableBaseline],  # noqa: UP007
    Field(discriminator="kind"),
]


class Rule(Strict):
    metric: str
    """The metric the rule judges (as the check emits it)."""
    warn: float | None = Field(None, allow_inf_nan=False)
    """The warn threshold."""
    alert: float | None = Field(None, allow_inf_nan=False)
    """The alert threshold."""
    direction: Literal["above", "below", "both"] = "above"
    """above: breaches above the threshold; below: under it (thresholds are signed); both: the
    absolute value.
    """
    measure: Literal["value", "delta", "relative_delta"] = "value"
    """What is compared: the value, delta (value - baseline_value) or relative_delta."""
    max_p_value: float | None = Field(None, gt=0, le=1)
    """A breach also needs a p-value at or under this."""
    max_q_value: float | None = Field(None, gt=0, le=1)
    """A breach also needs a Benjamini-Hochberg q-value (across every row the run tested with
    this rule) at or under this.
    """
    segment: str = "*"
    """Glob on the segment the rule applies to."""
    feature: str = "*"
    """Glob on the feature the rule applies to."""
    clear: float | None = Field(None, allow_inf_nan=False)
    """Hysteresis: a firing alert recovers only once the value is back beyond this (default:
    the warn level, else the alert level).
    """

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
    """The check's parameters (`monitor list` shows each check's)."""
    schedule: str = "0 * * * *"
    """When it runs: a cron expression, in `timezone`."""
    timezone: str = "UTC"
    """The IANA time zone of the schedule."""
    window: PositiveDuration = timedelta(days=1)
    """How much data one run judges, ending at the scheduled time (minus lag)."""
    lag: Duration = timedelta(0)
    """How far before the scheduled time the window ends (e.g. label_maturity for performance
    checks).
    """
    baseline: Baseline | None = None
    """What the window is compared with."""
    role: Literal["production", "shadow", "canary"] = "production"
    """Which rows of the model the check sees: production, shadow or canary."""
    rules: list[Rule] = Field(default_factory=list)
    """Thresholds that turn metric rows into warn and alert."""
    min_samples: int = Field(100, ge=0)
    """A row with fewer samples is no_data, never a breach."""
    max_segments: int = Field(1000, ge=2)
    """The most segments one slice may have: past it, the largest by volume keep theirs
    and the rest are pooled as `col=<other>`.
    """
    for_: int = Field(1, alias="for", ge=1)
    """Consecutive breaching runs before an alert fires."""
    keep_firing_for: int = Field(1, ge=1)
    """Consecutive clear runs before a firing alert resolves."""
    repeat_interval: PositiveDuration = timedelta(hours=24)
    """How often a firing alert is re-announced in its thread."""
    no_data: Literal["alert", "ok", "keep"] = "alert"
    """What a run without data means: alert (a no_data alert), ok (the alerts clear) or keep
    (nothing changes).
    """
    query_timeout: PositiveDuration = timedelta(minutes=30)
    """A warehouse query running longer is cancelled and the run recorded as an error."""
    grace: PositiveDuration = timedelta(minutes=10)
    """How late a scheduled run may finish before the daemon's /healthz reports it overdue."""
    severity: Severity = "ticket"
    """page (wakes on-call), ticket or info."""
    channel: str | None = None
    """The Slack channel for this monitor's alerts."""
    owners: list[Annotated[str, AfterValidator(_owner)]] = Field(default_factory=list)
    """Who a page-severity message mentions: Slack user (U.../W...) or user-group (S...) ids,
    here or channel.
    """

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
    """The monitor's unique name."""
    model: str
    """The key of the model it watches (under models:)."""
    check: str
    """The check it runs, by name (`monitor list`)."""


class DaemonConfig(Strict):
    """`monitor daemon` (docs/operations.md)."""

    host: str = "127.0.0.1"
    """The address the HTTP endpoint listens on."""
    port: int = Field(9464, ge=0, le=65535)
    """The HTTP endpoint's port (0: any free port, logged at start)."""
    api_token_env: str | None = None
    """The environment variable holding a token that `/report` and `/api` then require
    (`Authorization: Bearer <token>`); the probes and `/metrics` stay open.
    """
    http_workers: int = Field(16, ge=1, le=1024)
    """Requests the endpoint serves at once (a connection holds no thread until its request
    has arrived whole)."""
    http_connections: int = Field(256, ge=1, le=100_000)
    """Connections open at once; beyond them new ones wait in the kernel's backlog."""
    http_idle_timeout: PositiveDuration = timedelta(seconds=10)
    """A connection that sends nothing for this long is closed."""
    catch_up_horizon: PositiveDuration = timedelta(days=3)
    """After downtime, missed windows are run at start, oldest first, back to this far."""
    stop_timeout: PositiveDuration = timedelta(seconds=20)
    """On SIGTERM/SIGINT, how long in-flight runs may take to finish before they are cancelled
    (keep it below the orchestrator's kill grace period).
    """
    leader_poll: PositiveDuration = timedelta(seconds=5)
    """How often a standby daemon tries to take over the leader lock."""
    watchdog_interval: PositiveDuration = timedelta(seconds=30)
    """How often the daemon checks for monitors without a recent success (the dead-man's
    switch) and retries the outbox.
    """


class Config(Strict):
    warehouse: WarehouseConfig
    """Where the data lives."""
    state: StateConfig = Field(default_factory=lambda: StateConfig.model_validate({}))
    """Where results and alert state are written."""
    dbt: DbtConfig | None = None
    """The dbt project to build before the checks; omit to skip dbt."""
    notify: NotifyConfig = Field(default_factory=lambda: NotifyConfig.model_validate({}))
    """Where alerts go and how messages look (default: the console)."""
    sql_dirs: list[Path] = Field(default_factory=list)
    """Folders of checks of one's own, searched before the built-in checks (a check there with
    a built-in's name replaces it).
    """
    daemon: DaemonConfig = Field(default_factory=lambda: DaemonConfig.model_validate({}))
    """`monitor daemon`: its HTTP endpoint, catch-up, stop and watchdog settings."""
    models: dict[str, ModelConfig]
    """The monitored models, by key."""
    defaults: MonitorSettings | None = None
    """Monitor settings every monitor inherits unless it sets the key itself."""
    monitors: list[MonitorConfig] = Field(default_factory=list)
    """The monitors."""

    # Set by load_config, not by the YAML.
    path: SkipJsonSchema[Path] = Field(Path("alerts.yaml"), exclude=True)
    # The file's line of every key path, e.g. ("monitors", 0, "params"): for messages
    # that point at a line after loading (`monitor validate`).
    lines: SkipJsonSchema[dict[tuple[Any, ...], int]] = Field(default_factory=dict, exclude=True)

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
    def own_check_dirs(self) -> list[Path]:
        """`sql_dirs` without the built-in folder (a config may list it itself)."""
        builtin = bundled.checks_dir().resolve()
        return [d for d in self.sql_dirs if d.resolve() != builtin]

    @property
    def check_dirs(self) -> list[Path]:
        """Where checks are found, in order: `sql_dirs`, then the built-in checks."""
        return [*self.own_check_dirs, bundled.checks_dir()]

    @property
    def dbt_project(self) -> Path:
        """The dbt project to build: `dbt.project_dir`, else the bundled one."""
        if self.dbt is not None and self.dbt.project_dir is not None:
            return self.dbt.project_dir
        return bundled.dbt_project_dir()

    def model_rows_name(self, model_key: str) -> str:
        """The `model_name` value that marks this model's rows in the logs."""
        return self.models[model_key].model_name or model_key


def json_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of alerts.yaml, for editors and CI (`monitor schema`).

    It describes every key; what only the loader can check (a monitor's model exists,
    its check's params, cron and time zones) stays with `monitor validate`.
    """
    schema = _one_line_descriptions(Config.model_json_schema(by_alias=True, mode="validation"))
    _durations_as_written(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": "alerts.yaml",
        "description": "SQL Drift Monitor: the warehouse, the models and the monitors "
        "that watch them, and where their alerts go.",
    }


def _durations_as_written(schema: dict[str, Any]) -> None:
    """Duration defaults as alerts.yaml spells them ("10s", "1d"), not pydantic's ISO
    8601 ("PT10S"), which an editor would offer and the loader would refuse."""
    models = {m.__name__: m for m in _strict_models()}
    for name, spec in [("Config", schema), *schema.get("$defs", {}).items()]:
        model = models.get(name)
        for key, prop in spec.get("properties", {}).items():
            field = next(
                (
                    f
                    for n, f in (model.model_fields.items() if model else [])
                    if (f.alias or n) == key
                ),
                None,
            )
            if field is not None and isinstance(field.default, timedelta) and "default" in prop:
                prop["default"] = format_duration(field.default)


def _strict_models() -> list[type[Strict]]:
    found: list[type[Strict]] = []
    pending: list[type[Strict]] = [Strict]
    while pending:
        for sub in pending.pop().__subclasses__():
            found.append(sub)
            pending.append(sub)
    return found


def _one_line_descriptions(node: Any) -> Any:
    """Docstrings wrap at the code's width; editors show a description as one line."""
    if isinstance(node, dict):
        return {
            k: " ".join(v.split()) if k == "description" and isinstance(v, str)
            else _one_line_descriptions(v)
            for k, v in node.items()
        }  # fmt: skip
    if isinstance(node, list):
        return [_one_line_descriptions(v) for v in node]
    return node


# ---------------------------------------------------------------------------- loading


def load_config(path: str | Path) -> Config:
    """Read, merge `defaults:` into monitors, validate; raise ConfigError with all problems."""
    path = Path(path)
    if not path.exists():
        raise ConfigError([f"{path}: file not found (pass --config PATH)"])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError([
            f"{path.name}:{line}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}): save the file as UTF-8"
        ]) from None  # fmt: skip
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        structural = _yaml_structure_problems(node, path.name) if node is not None else []
        if structural:
            raise ConfigError(structural)
        raw = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path.name}:{mark.line + 1}" if mark else path.name
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"invalid YAML at {where}: {problem}"]) from None
    if not isinstance(raw, dict):
        raise ConfigError([f"{path.name}: expected a mapping of keys at the top level"])

    lines = yaml_lines(node) if node is not None else {}
    bool_keys = _boolean_keys(raw, (), lines, path.name)
    if bool_keys:
        raise ConfigError(bool_keys)
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
    config = config.model_copy(
        update={"path": path.resolve(), "lines": lines, **_resolved_paths(config, base)}
    )
    project = config.dbt.project_dir if config.dbt is not None else None
    if project is not None and not project.is_dir():
        where = locate.where(("dbt", "project_dir"))
        raise ConfigError([
            f"dbt.project_dir ({where}): no folder {project}: name your dbt project's "
            "folder, or leave the key out to build with the bundled project"
        ])  # fmt: skip
    return config


# A config expands to a few thousand values; a YAML alias bomb (aliases of aliases) to
# billions, which every later step would walk.
MAX_YAML_VALUES = 1_000_000


def _yaml_structure_problems(root: yaml.Node, name: str) -> list[str]:
    """What PyYAML accepts silently: a key given twice in one mapping (the last one
    wins), and aliases that expand the document beyond MAX_YAML_VALUES values."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:  # values once every alias is expanded
        if id(node) not in sizes:
            sizes[id(node)] = 0  # a recursive alias counts once
            children: list[yaml.Node] = []
            if isinstance(node, yaml.MappingNode):
                children = [n for pair in node.value for n in pair]
            elif isinstance(node, yaml.SequenceNode):
                children = list(node.value)
            sizes[id(node)] = min(1 + sum(size(n) for n in children), 10 * MAX_YAML_VALUES)
        return sizes[id(node)]

    if size(root) > MAX_YAML_VALUES:
        where = name
        if isinstance(root, yaml.MappingNode) and root.value:  # the key that holds the most
            key, _ = max(root.value, key=lambda pair: size(pair[1]))
            where = f"{name}:{key.start_mark.line + 1}: key {key.value!r}"
        return [
            f"{where}: its aliases (&name / *name) expand to more than {MAX_YAML_VALUES:,} "
            "values: refusing to read it (an alias bomb?)"
        ]
    problems = []
    for node in _nodes(root):
        if not isinstance(node, yaml.MappingNode):
            continue
        first: dict[str, int] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.value == "<<":
                continue
            line = key.start_mark.line + 1
            if key.value in first:
                problems.append(
                    f"{name}:{line}: key '{key.value}' is given twice in the same mapping "
                    f"(first at line {first[key.value]}); YAML would keep the last one "
                    "silently: remove one"
                )
            first.setdefault(key.value, line)
    return problems


def _nodes(root: yaml.Node) -> list[yaml.Node]:
    """Every node of the document once (an alias is the node it names)."""
    seen: dict[int, yaml.Node] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        if isinstance(node, yaml.MappingNode):
            stack += [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    return list(seen.values())


def _boolean_keys(
    node: Any, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int], filename: str
) -> list[str]:
    """YAML 1.1 reads the keys on/off/yes/no as booleans: name the trap, its line and
    the fix."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, bool):
                hint = (
                    " (for a rule, the key is 'measure:')"
                    if path and path[-2:-1] == ("rules",)
                    else ""
                )
                # The line of the key as written (`on`, `Yes`, ...), else of its mapping.
                written = [n for k, n in lines.items() if k[:-1] == path and _yaml_bool(k[-1])]
                line = min(written) if written else lines.get(path)
                where = f" ({filename}:{line})" if line else ""
                found.append(
                    f"{format_path(path)}{where}: a key written on/off/yes/no is read by YAML "
                    f"as {key}; quote it or use another name{hint}"
                )
            else:
                found += _boolean_keys(value, (*path, key), lines, filename)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found += _boolean_keys(item, (*path, i), lines, filename)
    return found


def _yaml_bool(key: Any) -> bool:
    """A key as written that YAML 1.1 reads as a boolean."""
    words = {"on", "off", "yes", "no", "y", "n", "true", "false"}
    return isinstance(key, str) and key.lower() in words


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
