"""PagerDuty and Alertmanager end to end: a real DuckDB file, the real runner and CLI,
and local servers that speak Events API v2 and Alertmanager's API v2
(tests/paging_servers.py), beside the Slack-compatible one.

The data: model m, 100 rows a day; x shifts by 25 on day 3 (KS 0.25: warn) and by
50 on day 4 (KS 0.5: alert), then returns. The `drift` monitor is page severity, so
its warnings are tickets and its alerts pages, for x in all, FR and DE.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from tests.conftest import World, read_db
from tests.paging_servers import FakeAlertmanager, FakePagerDuty
from tests.slack_server import FakeSlack
from tests.test_alert_delivery import DRIFT, config_path, write_days

SHIFTS = {3: 25.0, 4: 50.0}


@pytest.fixture
def pagerduty(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePagerDuty]:
    server = FakePagerDuty()
    monkeypatch.setenv("TEST_PD_KEY", server.routing_key)
    yield server
    server.stop()


@pytest.fixture
def alertmanager() -> Iterator[FakeAlertmanager]:
    server = FakeAlertmanager()
    yield server
    server.stop()


def paging_config(
    world: World, slack: FakeSlack, pd: FakePagerDuty, am: FakeAlertmanager, **notify: Any
) -> Path:
    return config_path(
        world, slack, [DRIFT],
        pagerduty={"routing_key_env": "TEST_PD_KEY", "url": pd.url, "timeout": 2},
        alertmanager={"url": am.url, "timeout": 2},
        **notify,
    )  # fmt: skip


def backfill(path: Path, last_day: str) -> str:
    result = CliRunner().invoke(
        app, ["backfill", "--config", str(path), "--from", "2026-09-02", "--to", last_day,
              "--notify"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output


def fingerprints(world: World) -> dict[str, str]:
    """Segment → fingerprint of the x alerts."""
    rows = read_db(world.db, "SELECT segment, fingerprint FROM monitor.alerts WHERE feature = 'x'")
    return dict(rows)


def test_pagerduty_triggers_once_per_page_and_resolves_after_recovery(
    world, slack, pagerduty, alertmanager
) -> None:
    write_days(world, SHIFTS)
    path = paging_config(world, slack, pagerduty, alertmanager)

    backfill(path, "2026-09-04")  # day 3 warns (tickets): nothing for PagerDuty
    assert pagerduty.requests == []
    backfill(path, "2026-09-05")  # day 4 escalates to alert: pages
    keys = fingerprints(world)
    assert sorted(i.dedup_key for i in pagerduty.open_incidents()) == sorted(keys.values())
    assert all(i.triggers == 1 and i.severity == "critical" for i in pagerduty.incidents)
    page = next(i for i in pagerduty.incidents if i.dedup_key == keys["country=FR"])
    assert page.summary.startswith("[page] drift: ks at country=FR · x (model m) — 0.5 > 0.3")
    details = page.custom_details
    assert details["value"] == pytest.approx(0.5) and details["threshold"] == 0.3
    assert details["segment"] == "country=FR" and details["feature"] == "x"
    assert (
        details["render_command"]
        == "monitor render numeric_drift --monitor drift --at 2026-09-06T06:00"
    )

    # The same days again: watermarks hold, nothing is re-triggered.
    before = len(pagerduty.requests)
    backfill(path, "2026-09-05")
    assert len(pagerduty.requests) == before

    backfill(path, "2026-09-08")  # back to normal from day 5: every incident resolved
    assert pagerduty.open_incidents() == []
    assert [i.status for i in pagerduty.incidents] == ["resolved"] * 3
    actions = [b["event_action"] for b in pagerduty.accepted()]
    assert actions == ["trigger"] * 3 + ["resolve"] * 3


def test_alertmanager_gets_labels_escalation_and_resolve(
    world, slack, pagerduty, alertmanager
) -> None:
    write_days(world, SHIFTS)
    path = paging_config(world, slack, pagerduty, alertmanager)
    started = datetime.now(UTC)

    backfill(path, "2026-09-04")  # day 3: three warnings, severity ticket
    firing = alertmanager.firing()
    assert len(firing) == 3
    fr = next(a for a in firing if a.labels.get("segment") == "country=FR")
    assert fr.labels == {
        "alertname": "drift", "monitor": "drift", "model": "m", "check": "numeric_drift",
        "segment": "country=FR", "feature": "x", "metric": "ks", "kind": "metric",
        "severity": "ticket",
    }  # fmt: skip
    assert fr.starts_at == datetime(2026, 9, 4, tzinfo=UTC)  # the first breaching window
    # Kept for twice the longest silence: repeat_interval 24 h + keep_firing_for 1 x the
    # daily schedule's 24 h + grace 10 min, unless a reminder renews it.
    keep = 2 * timedelta(hours=48, minutes=10)
    assert started + keep < fr.ends_at < datetime.now(UTC) + keep
    assert fr.annotations["summary"].startswith("[ticket] drift: ks at country=FR · x")
    # FR holds the odd x, 1..99: shifted by 25, the CDFs part at 26, below which lie
    # 13 of the 50 baseline values: KS = 13/50.
    assert float(fr.annotations["value"]) == pytest.approx(13 / 50, abs=1e-12)

    backfill(path, "2026-09-05")  # day 4 escalates: severity page, the ticket ends
    firing = alertmanager.firing()
    assert sorted(a.labels["severity"] for a in firing) == ["page"] * 3
    assert len(alertmanager.alerts) == 6  # the three tickets are still known, as ended

    backfill(path, "2026-09-08")  # recovery
    assert alertmanager.firing() == []
    assert all(a.ends_at <= datetime.now(UTC) for a in alertmanager.alerts.values())


def test_429_and_5xx_are_ridden_out_and_nothing_is_sent_twice(
    world, slack, pagerduty, alertmanager
) -> None:
    write_days(world, SHIFTS)
    path = paging_config(world, slack, pagerduty, alertmanager)
    pagerduty.fail(429, retry_after=1)
    pagerduty.fail(500)
    alertmanager.fail(503, times=2)
    output = backfill(path, "2026-09-08")  # the whole episode in one command
    assert "waiting" in output and ", 0 waiting" in output
    statuses = [r["status"] for r in pagerduty.requests]
    assert statuses[:2] == [429, 500] and set(statuses[2:]) == {202}
    assert [b["event_action"] for b in pagerduty.accepted()] == ["trigger"] * 3 + ["resolve"] * 3
    assert [r["status"] for r in alertmanager.requests][:2] == [503, 503]
    assert alertmanager.firing() == [] and len(alertmanager.alerts) == 6
    # Every row sent exactly once: one accepted request per outbox row.
    rows = read_db(
        world.db, "SELECT notifier, count(*) FROM monitor.outbox WHERE status = 'sent' GROUP BY 1"
    )
    sent = dict(rows)
    assert sent["pagerduty"] == len(pagerduty.accepted()) == 6
    assert sent["alertmanager"] == len(alertmanager.accepted())
    assert pagerduty.open_incidents() == []


def test_routes_send_a_segment_elsewhere_and_only_to_named_receivers(
    world, slack, pagerduty, alertmanager
) -> None:
    write_days(world, SHIFTS)
    routes = [{"segment": "country=FR*", "channel": "#fr-team", "receivers": ["slack"]}]
    path = paging_config(world, slack, pagerduty, alertmanager, routes=routes)
    backfill(path, "2026-09-05")
    posts = slack.calls("chat.postMessage")
    top = [p["body"] for p in posts if "thread_ts" not in p["body"]]
    assert sorted(b["channel"] for b in top) == ["#fr-team", "#ml-alerts"]
    fr_post = next(b for b in top if b["channel"] == "#fr-team")
    assert "country=FR" in fr_post["text"] and "country=DE" not in fr_post["text"]
    keys = fingerprints(world)
    # FR goes only to Slack: PagerDuty and Alertmanager hear about all and DE.
    assert sorted(i.dedup_key for i in pagerduty.incidents) == sorted(
        [keys["all"], keys["country=DE"]]
    )
    assert {a.labels["segment"] for a in alertmanager.alerts.values()} == {"all", "country=DE"}
    # The FR thread is its own post: day 4's escalation is a reply in it.
    keys_of = read_db(
        world.db,
        "SELECT DISTINCT message_key FROM monitor.outbox WHERE notifier = 'slack' "
        "AND action = 'post' ORDER BY 1",
    )
    assert keys_of == [("drift@2026-09-05T06:00Z",), ("drift@2026-09-05T06:00Z~2",)]


def test_a_page_that_falls_back_to_warn_still_resolves_where_it_paged(
    world, slack, pagerduty, alertmanager
) -> None:
    """Alert (page), then warn while still firing, then clear: the episode keeps its
    page severity for PagerDuty and Alertmanager, so the resolve closes the incident
    and the Alertmanager alert keeps one label set."""
    write_days(world, {3: 50.0, 4: 25.0})
    path = paging_config(world, slack, pagerduty, alertmanager)
    backfill(path, "2026-09-08")
    assert [i.status for i in pagerduty.incidents] == ["resolved"] * 3
    assert [b["event_action"] for b in pagerduty.accepted()] == ["trigger"] * 3 + ["resolve"] * 3
    assert {a.labels["severity"] for a in alertmanager.alerts.values()} == {"page"}
    assert len(alertmanager.alerts) == 3 and alertmanager.firing() == []
    # Day 4's reminder renewed them at warn level, under the same labels.
    assert {a.posts for a in alertmanager.alerts.values()} == {3}


def test_routes_to_paging_receivers_only_still_trigger_and_resolve(
    world, slack, pagerduty, alertmanager
) -> None:
    write_days(world, SHIFTS)
    routes = [{"receivers": ["pagerduty", "alertmanager"]}]
    path = paging_config(world, slack, pagerduty, alertmanager, routes=routes)
    backfill(path, "2026-09-08")
    assert slack.requests == []  # no chat receiver: no post, no thread
    assert [i.status for i in pagerduty.incidents] == ["resolved"] * 3
    assert len(alertmanager.alerts) == 6 and alertmanager.firing() == []


def test_nan_evidence_is_sent_as_valid_json(pagerduty) -> None:
    """A metric that came out NaN (a NULL-heavy window) is written "nan": the APIs reject
    the bare NaN token Python's json would write."""
    from monitor.config import PagerDutyConfig
    from monitor.notify.message import Item, Message
    from monitor.notify.pagerduty import PagerDutyNotifier

    item = Item(fingerprint="f" * 20, kind="metric", segment="all", feature="x", metric="psi",
                state="firing", level="alert", action="announce",
                value=float("nan"), threshold=0.25, baseline_value=float("inf"),
                severity="page")  # fmt: skip
    message = Message("m@T/f", "post", None, "drift", "numeric_drift", "m", "page", "#x",
                      datetime(2026, 9, 5, 6, tzinfo=UTC), None, None, [item])  # fmt: skip
    settings = PagerDutyConfig(url=pagerduty.url)
    PagerDutyNotifier(settings, pagerduty.routing_key).deliver(message, None)
    (incident,) = pagerduty.incidents
    assert incident.custom_details["value"] == "nan"
    assert incident.custom_details["baseline_value"] == "inf"
