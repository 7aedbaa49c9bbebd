"""Routing, table-driven: severity, receivers and channel per alert, in the documented
order (monitor/alerts/routing.py): first matching `notify.routes` rule, then the monitor's
channel, `notify.slack.routes[severity]`, the default channel; receivers cut to the
enabled ones and PagerDuty/Alertmanager to their severities."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.alerts.routing import route, severity_for
from monitor.config import load_config
from monitor.errors import ConfigError

ALL = ("slack", "pagerduty", "alertmanager")


def config(tmp_path: Path, **notify: object):
    doc = {
        "warehouse": {"type": "duckdb", "path": "wh.duckdb"},
        "models": {"fraud": {"predictions": "p"}, "credit": {"predictions": "p"}},
        "notify": {
            "slack": {"default_channel": "#ml-alerts", "routes": {"page": "#oncall"}},
            "pagerduty": {},
            "alertmanager": {"url": "http://am:9093", "severities": ["page", "ticket"]},
            "routes": [
                {"segment": "country=PT*", "channel": "#pt", "receivers": ["slack"]},
                {"monitor": "shadow-*", "severity": "page", "channel": "#shadow"},
                {"model": "credit", "receivers": ["slack", "alertmanager"]},
            ],
            **notify,
        },
        "defaults": {"severity": "page"},
        "monitors": [
            {"name": "fraud-drift", "model": "fraud", "check": "row_count"},
            {"name": "fraud-own", "model": "fraud", "check": "row_count", "channel": "#fraud"},
            {"name": "shadow-x", "model": "fraud", "check": "row_count"},
            {"name": "credit-drift", "model": "credit", "check": "row_count", "severity": "ticket"},
            {"name": "fraud-info", "model": "fraud", "check": "row_count", "severity": "info"},
        ],
    }
    path = tmp_path / "alerts.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_config(path)


# monitor, level, segment, enabled → severity, channel, thread receivers, alert receivers
CASES = [
    # no rule: severity route for the channel, every receiver within its severities
    ("fraud-drift", "alert", "all", ALL, "page", "#oncall", ("slack",), ("pagerduty", "alertmanager")),
    ("fraud-drift", "warn", "all", ALL, "ticket", "#ml-alerts", ("slack",), ("alertmanager",)),
    ("fraud-info", "alert", "all", ALL, "info", "#ml-alerts", ("slack",), ()),
    # the monitor's own channel beats the severity route
    ("fraud-own", "alert", "device=ios", ALL, "page", "#fraud", ("slack",), ("pagerduty", "alertmanager")),
    # a segment rule comes first: its channel, only its receivers
    ("fraud-own", "alert", "country=PT,device=ios", ALL, "page", "#pt", ("slack",), ()),
    ("fraud-drift", "alert", "country=PT", ALL, "page", "#pt", ("slack",), ()),
    ("fraud-drift", "alert", "country=PL", ALL, "page", "#oncall", ("slack",), ("pagerduty", "alertmanager")),
    # a rule by monitor and severity: at page it sets the channel, its warning falls through
    ("shadow-x", "alert", "all", ALL, "page", "#shadow", ("slack",), ("pagerduty", "alertmanager")),
    ("shadow-x", "warn", "all", ALL, "ticket", "#ml-alerts", ("slack",), ("alertmanager",)),
    # a rule by model names receivers: no PagerDuty even for a ticket it would not take
    ("credit-drift", "alert", "all", ALL, "ticket", "#ml-alerts", ("slack",), ("alertmanager",)),
    ("credit-drift", "warn", "all", ALL, "info", "#ml-alerts", ("slack",), ()),
    # receivers not enabled in this process (no secret): cut, whatever the rules say
    ("fraud-drift", "alert", "all", ("slack",), "page", "#oncall", ("slack",), ()),
    ("fraud-drift", "alert", "all", ("console", "pagerduty"), "page", "#oncall", ("console",), ("pagerduty",)),
    # ...the console stands in for a Slack the rule names (as for every other alert)
    ("fraud-drift", "alert", "country=PT", ("console", "pagerduty"), "page", "#pt", ("console",), ()),
    ("fraud-drift", "alert", "country=PT", ("pagerduty",), "page", "#pt", (), ()),
    # run-level alerts (error, no_data, deadman) are segment `all`, warn level
    ("fraud-drift", None, "all", ALL, "ticket", "#ml-alerts", ("slack",), ("alertmanager",)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("monitor", "level", "segment", "enabled", "severity", "channel", "threads", "alerts"), CASES
)
def test_route(tmp_path, monitor, level, segment, enabled, severity, channel, threads, alerts):
    cfg = config(tmp_path)
    m = cfg.monitor(monitor)
    assert severity_for(m, level) == severity
    got = route(cfg, m, severity, segment, enabled)
    assert (got.channel, got.threads, got.alerts) == (channel, threads, alerts)


def test_without_slack_the_channel_is_the_fallback(tmp_path) -> None:
    cfg = config(tmp_path, slack=None, routes=[])
    got = route(cfg, cfg.monitor("fraud-drift"), "page", "all", ("console", "pagerduty"))
    assert (got.channel, got.threads, got.alerts) == ("#ml-alerts", ("console",), ("pagerduty",))


def test_a_rule_naming_an_unconfigured_receiver_is_a_config_error(tmp_path) -> None:
    config(tmp_path, pagerduty=None)  # no rule names PagerDuty: fine
    with pytest.raises(ConfigError) as err:
        config(tmp_path, alertmanager=None)
    assert "routes[2] sends to alertmanager, but notify.alertmanager is not configured" in str(
        err.value
    )


def test_unknown_receiver_and_owner_are_config_errors(tmp_path) -> None:
    with pytest.raises(ConfigError) as err:
        config(tmp_path, routes=[{"receivers": ["pager"]}])
    assert "pager" in str(err.value) and "alerts.yaml:" in str(err.value)
    doc = yaml.safe_load((tmp_path / "alerts.yaml").read_text())
    doc["notify"]["routes"] = []
    doc["monitors"][0]["owners"] = ["U0123ABC", "S0456DEF", "here", "@channel"]
    (tmp_path / "alerts.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "alerts.yaml")
    assert "monitors[0].owners[3]" in str(err.value)
    assert "'@channel' is not a Slack user (U…, W…) or user-group (S…) id, here or channel" in str(
        err.value
    )
