"""Alerts end to end: a real DuckDB file, the real runner, slack-sdk's WebClient talking
to a Slack-API-compatible server on 127.0.0.1 (tests/slack_server.py).

Golden Block Kit JSON lives in tests/golden/slack/; `UPDATE_GOLDEN=1 pytest` rewrites it.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from monitor.alerts.persistence import AlertStore
from monitor.cli import app
from monitor.config import load_config
from monitor.runner import PassReport, Runner
from monitor.store import StateStore
from monitor.warehouse import connect
from tests.conftest import World, read_db, write_table
from tests.slack_server import FakeSlack, Fault

GOLDEN = Path(__file__).parent / "golden" / "slack"
DAY = timedelta(days=1)
FIRST = datetime(2026, 9, 1, tzinfo=UTC)


def write_days(world: World, shifts: dict[int, float], days: int = 12) -> None:
    """Model m, 100 rows a day (country FR/DE alternating); x shifted by shifts[day]."""
    cols: dict[str, list[Any]] = {"x": [], "y": [], "country": [], "ts": []}
    for d in range(days):
        for i in range(100):
            cols["x"].append(float(i) + shifts.get(d, 0.0))
            cols["y"].append(float(i))
            cols["country"].append("FR" if i % 2 else "DE")
            cols["ts"].append(datetime(2026, 9, 1, 12) + d * DAY)
    n = len(cols["ts"])
    write_table(world.db, "preds", {**cols, "model_name": ["m"] * n, "role": ["production"] * n})


DRIFT = {
    "name": "drift",
    "check": "numeric_drift",
    "params": {"columns": ["x", "y"], "by": [["country"]]},
    "schedule": "0 6 * * *",
    "rules": [{"metric": "ks", "warn": 0.2, "alert": 0.3}],
    "severity": "page",
    "owners": ["U0123ABC", "S0456DEF", "here"],  # a user, a user group, the channel
}


def config_path(
    world: World, slack: FakeSlack, monitors: list[dict[str, Any]], **notify: Any
) -> Path:
    notify = {
        "slack": {
            "token_env": "TEST_SLACK_TOKEN",
            "base_url": slack.url,
            "default_channel": "#ml-alerts",
            "routes": {"page": "#oncall"},
            "timeout": 1,
        },
        **notify,
    }
    return world.config(monitors, notify=notify)


def run_day(path: Path, day: int, **kwargs: Any) -> PassReport:
    """The daily 06:00 run that judges day `day` (its window is the day before T)."""
    runner = Runner(load_config(path))
    return runner.run(at=FIRST + (day + 1) * DAY + timedelta(hours=6), **kwargs)


def outbox(world: World) -> list[tuple[Any, ...]]:
    return read_db(
        world.db,
        "SELECT action, status, attempts, last_error FROM monitor.outbox ORDER BY id",
    )


def golden(name: str, blocks: list[dict[str, Any]]) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(blocks, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{path} is missing: run UPDATE_GOLDEN=1 pytest to write it"
    assert text == path.read_text(), f"{path} differs: run UPDATE_GOLDEN=1 pytest to accept"


# ------------------------------------------------------------------------ the flow


def test_grouped_post_reminder_and_resolve(world, slack) -> None:
    write_days(world, {3: 50.0, 4: 50.0})
    path = config_path(world, slack, [DRIFT])
    run_day(path, 2)
    assert slack.messages == [], "nothing breached yet: nothing sent"

    run_day(path, 3)  # x drifts in all, FR and DE: three alerts, one message
    (post,) = slack.top_level()
    assert slack.calls("chat.postMessage")[0]["body"]["channel"] == "#oncall"  # page route
    body = slack.calls("chat.postMessage")[0]["body"]
    mentions = body["blocks"][2]["text"]["text"]  # owners paged, each the way Slack notifies
    assert mentions.startswith("<@U0123ABC> <!subteam^S0456DEF> <!here> paging the owners")
    assert body["text"].startswith("[page] ALERT drift: 3 breaching")
    golden("announce", body["blocks"])

    run_day(path, 4)  # still drifting, 24 h later: a reminder in the thread, no new post
    assert len(slack.top_level()) == 1
    (reminder,) = slack.thread(post.ts)
    assert "3 still firing" in reminder.text
    golden("reminder", reminder.blocks)

    run_day(path, 5)  # back to normal: the post is updated and the thread told
    assert len(slack.top_level()) == 1
    assert len(slack.thread(post.ts)) == 2
    assert "3 resolved" in slack.thread(post.ts)[1].text
    (update,) = post.updates
    assert update["text"].startswith("[page] RESOLVED drift: all 3 clear")
    golden("resolved_update", update["blocks"])

    # Every transition and notification is on record, and the Slack ts on the alert.
    events = read_db(
        world.db,
        "SELECT from_state, to_state, action, reason FROM monitor.alert_events "
        "WHERE fingerprint = (SELECT fingerprint FROM monitor.alerts WHERE segment = 'all' "
        "AND feature = 'x') ORDER BY run_at",
    )
    assert events == [
        ("ok", "firing", "announce", "new episode"),
        ("firing", "firing", "remind", "repeat interval elapsed"),
        ("firing", "resolved", "resolve", "resolved"),
    ]
    ts = read_db(world.db, "SELECT DISTINCT slack_ts FROM monitor.alerts WHERE kind = 'metric'")
    assert ts == [(post.ts,)]

    # Running the same days again (or backfilling them) sends nothing.
    before = len(slack.requests)
    for day in (3, 4, 5):
        run_day(path, day)
    Runner(load_config(path)).backfill(
        (FIRST + 3 * DAY).date(), (FIRST + 5 * DAY).date(), notify=True
    )
    assert len(slack.requests) == before


def test_outage_then_complete_in_order_delivery(world, slack) -> None:
    write_days(world, {3: 50.0, 4: 50.0})
    path = config_path(world, slack, [DRIFT])
    slack.stop()  # Slack is down: connections are refused
    run_day(path, 3)
    run_day(path, 4)
    run_day(path, 5)
    rows = outbox(world)
    assert [r[0] for r in rows] == ["post", "reply", "reply", "update"]
    assert all(r[1] == "pending" for r in rows)
    # The post was tried once (slack-sdk's own retries inside), then backed off: the
    # next runs' drains left it alone, and the rest of its thread waited behind it
    # instead of going out of order.
    assert rows[0][2] == 1 and "unreachable" in rows[0][3]
    assert [r[2] for r in rows[1:]] == [0, 0, 0]

    slack.start()  # back, on the same port
    result = CliRunner().invoke(app, ["send", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "4 sent" in result.output
    methods = [r["method"] for r in slack.requests if r["answered"]]
    assert methods == ["chat.postMessage", "chat.postMessage", "chat.postMessage", "chat.update"]
    (post,) = slack.top_level()
    assert len(slack.thread(post.ts)) == 2 and len(post.updates) == 1
    assert all(r[1] == "sent" for r in outbox(world))


@pytest.mark.parametrize(
    ("fault", "attempts"),
    [
        (Fault("429", retry_after=1), 2),
        (Fault("500"), 2),
        (Fault("503"), 2),
        (Fault("drop"), 2),
    ],
    ids=["429", "500", "503", "dropped-connection"],
)
def test_transient_failures_are_retried_in_process(world, slack, fault, attempts) -> None:
    write_days(world, {3: 50.0})
    path = config_path(world, slack, [DRIFT])
    slack.fail(fault)
    started = time.monotonic()
    report = run_day(path, 3)
    assert report.delivery is not None and report.delivery.sent == 1
    posts = [r for r in slack.requests if r["method"] == "chat.postMessage"]
    assert len(posts) == attempts and len(slack.top_level()) == 1
    if fault.kind == "429":  # waited for Retry-After before retrying
        assert posts[1]["at"] - posts[0]["at"] >= 1.0
        assert time.monotonic() - started >= 1.0


def test_a_slow_slack_times_out_and_is_retried(world, slack) -> None:
    write_days(world, {3: 50.0})
    path = config_path(world, slack, [DRIFT])
    slack.fail(Fault("slow", seconds=2.5))  # timeout is 1 s
    report = run_day(path, 3)
    assert report.delivery is not None and report.delivery.sent == 1
    # The slow request may still have landed: at-least-once means one repeat at most.
    assert 1 <= len(slack.top_level()) <= 2


def test_a_long_retry_after_is_left_to_the_outbox(world, slack) -> None:
    write_days(world, {3: 50.0})
    path = config_path(world, slack, [DRIFT])
    slack.fail(Fault("429", retry_after=600))
    report = run_day(path, 3)
    assert report.delivery is not None and report.delivery.sent == 0
    ((status, attempts, error, wait),) = read_db(
        world.db,
        "SELECT status, attempts, last_error, "
        "epoch(next_attempt_at) - epoch(created_at) FROM monitor.outbox",
    )
    assert (status, attempts) == ("pending", 1) and "429" in error
    assert 590 <= wait <= 700  # Retry-After honoured (capped by max_backoff, 1 h)
    # A drain before then leaves it, even `monitor send`, which ignores this process's
    # own backoff but not a server's Retry-After: it says so at once and exits 3.
    with connect(load_config(path).warehouse) as wh:
        report = Runner(load_config(path)).deliver(StateStore(wh), force=False)
    assert report.sent == 0 and report.waiting == 1
    requests = len(slack.requests)
    started = time.monotonic()
    result = CliRunner().invoke(app, ["send", "--config", str(path)])
    assert result.exit_code == 3 and time.monotonic() - started < 10, result.output
    assert "a receiver asked to wait" in result.output and "Retry-After" in result.output
    assert len(slack.requests) == requests
    # Ten minutes later (the stored time moved back), `monitor send` delivers it.
    with connect(load_config(path).warehouse) as wh:
        wh.execute(
            "UPDATE monitor.outbox SET next_attempt_at = next_attempt_at - INTERVAL 11 MINUTE"
        )
    assert CliRunner().invoke(app, ["send", "--config", str(path)]).exit_code == 0
    assert len(slack.top_level()) == 1


# ------------------------------------------------------------- noise control


def test_silence_mutes_matching_alerts_and_is_listed_and_lifted(world, slack) -> None:
    write_days(world, {3: 50.0, 4: 50.0, 5: 50.0})
    path = config_path(world, slack, [DRIFT])
    cli = CliRunner()
    out = cli.invoke(
        app,
        ["silence", "--config", str(path), "--monitor", "drift", "--match", "country=FR",
         "--for", "4h", "--reason", "FR feed migration", "--author", "ana"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    silence_id = out.output.split()[1]
    listed = cli.invoke(app, ["silences", "--config", str(path)])
    assert "FR feed migration" in listed.output and "country=FR" in listed.output

    run_day(path, 3)
    (post,) = slack.top_level()
    text = json.dumps(post.blocks)
    assert "country=DE" in text and "country=FR" not in text  # FR is silenced
    reasons = read_db(
        world.db,
        "SELECT DISTINCT reason FROM monitor.alert_events WHERE action = 'none'",
    )
    assert reasons == [(f"silenced by silence {silence_id} (ana: FR feed migration)",)]
    assert read_db(
        world.db, "SELECT count(*) FROM monitor.alerts WHERE suppressed_by LIKE 'silence%'"
    ) == [(1,)]
    muted = cli.invoke(app, ["alerts", "--config", str(path), "--state", "silenced"])
    assert "country=FR" in muted.output and "country=DE" not in muted.output

    assert cli.invoke(app, ["unsilence", "--config", str(path), silence_id]).exit_code == 0
    run_day(path, 4)  # FR is announced now, as a new post; DE is reminded in its thread
    assert len(slack.top_level()) == 2
    assert "country=FR" in json.dumps(slack.top_level()[1].blocks)
    assert len(slack.thread(post.ts)) == 1
    bad = cli.invoke(app, ["unsilence", "--config", str(path), "nope"])
    assert bad.exit_code == 1 and "no active silence" in str(bad.exception)


def test_no_data_of_the_model_inhibits_its_drift_alerts(world, slack) -> None:
    write_days(world, {3: 50.0})
    volume = {
        "name": "volume",
        "check": "null_rate",
        "params": {"columns": ["y"]},
        "schedule": "0 6 * * *",
        "min_samples": 100_000,  # never enough: the window counts as empty
        "rules": [{"metric": "null_rate", "warn": 0.5}],
    }
    path = config_path(world, slack, [DRIFT, volume])
    run_day(path, 3)
    (post,) = slack.top_level()  # only the no_data alert
    assert "volume" in post.text and "no data" in post.text
    assert (
        slack.calls("chat.postMessage")[0]["body"]["channel"] == "#ml-alerts"
    )  # warn level: info, no route
    golden("no_data", post.blocks)
    reasons = read_db(
        world.db,
        "SELECT DISTINCT reason FROM monitor.alert_events WHERE monitor = 'drift'",
    )
    assert reasons == [("inhibited by no_data of volume",)]
    states = read_db(world.db, "SELECT DISTINCT state FROM monitor.alerts WHERE monitor = 'drift'")
    assert states == [("firing",)]  # the lifecycle goes on; only the page is muted


def test_escaping_and_slack_limits(world, slack) -> None:
    """A slice value with markup is shown as text; 60 breaching slices fit 50 blocks."""
    cols: dict[str, list[Any]] = {"x": [], "country": [], "ts": []}
    names = ["<!channel> & <script>"] + [f"c{i:02d}" for i in range(59)]
    for d in (0, 3):
        for name in names:
            for i in range(20):
                cols["x"].append(float(i) + (50.0 if d == 3 else 0.0))
                cols["country"].append(name)
                cols["ts"].append(datetime(2026, 9, 1, 12) + d * DAY)
    n = len(cols["ts"])
    write_table(world.db, "preds", {**cols, "model_name": ["m"] * n, "role": ["production"] * n})
    monitor = {**DRIFT, "name": "m" * 200, "params": {"columns": ["x"], "by": [["country"]]}}
    path = config_path(world, slack, [monitor], top_k=40)
    run_day(path, 3)
    (post,) = slack.top_level()
    assert len(post.blocks) <= 50
    header = post.blocks[0]["text"]["text"]
    assert len(header) <= 150
    assert all(len(b["text"]["text"]) <= 3000 for b in post.blocks if b["type"] == "section")
    text = json.dumps(post.blocks)
    assert "<!channel>" not in text and "<script>" not in text
    assert "&lt;!channel&gt; &amp; &lt;script&gt;" in text
    assert "+21 more" in text  # 61 alerts (60 slices + all), 40 shown
    golden("escaped_and_truncated", post.blocks)
    assert "<!channel>" not in post.text


def test_webhook_gets_the_message_as_json_and_is_retried(world, slack, monkeypatch) -> None:
    write_days(world, {3: 50.0})
    monkeypatch.setenv("TEST_HOOK_URL", f"http://127.0.0.1:{slack.port}/hooks/alerts")
    monkeypatch.delenv("TEST_SLACK_TOKEN")  # webhook only
    path = config_path(world, slack, [DRIFT], webhook={"url_env": "TEST_HOOK_URL"})
    slack.fail(Fault("503"))
    first = run_day(path, 3)
    assert first.delivery is not None and first.delivery.sent == 0  # no retries in-process
    assert CliRunner().invoke(app, ["send", "--config", str(path)]).exit_code == 0
    hooks = [r for r in slack.requests if r["method"] == "alerts"]
    assert len(hooks) == 2
    body = hooks[1]["body"]
    assert body["monitor"] == "drift" and body["action"] == "post" and len(body["items"]) == 3
    assert body["items"][0]["metric"] == "ks" and body["text"].startswith("[page] ALERT drift")


def test_console_is_the_default_notifier(world, capsys) -> None:
    write_days(world, {3: 50.0})
    path = world.config([DRIFT])
    run_day(path, 3)
    out = capsys.readouterr().out
    assert "[page] ALERT drift: 3 breaching" in out and "ks [country=FR · x]" in out


# ---------------------------------------------------------------------- the CLI


def test_monitor_alerts_lists_current_alerts_by_state(world, slack) -> None:
    write_days(world, {3: 50.0})
    path = config_path(world, slack, [DRIFT])
    run_day(path, 3)
    cli = CliRunner()
    firing = cli.invoke(app, ["alerts", "--config", str(path), "--state", "firing"])
    assert firing.exit_code == 0, firing.output
    assert firing.output.count("firing") >= 3 and "country=FR" in firing.output
    assert "ks" in firing.output and "0.5" in firing.output
    as_json = json.loads(cli.invoke(app, ["alerts", "--config", str(path), "--json"]).output)
    assert {a["state"] for a in as_json} == {"firing"} and len(as_json) == 3
    none = cli.invoke(app, ["alerts", "--config", str(path), "--state", "resolved"])
    assert "no alerts" in none.output
    bad = cli.invoke(app, ["alerts", "--config", str(path), "--state", "burning"])
    assert bad.exit_code != 0


def test_alert_states_survive_in_the_store(world, slack) -> None:
    write_days(world, {3: 50.0})
    path = config_path(world, slack, [DRIFT])
    run_day(path, 3)
    with connect(load_config(path).warehouse) as wh:
        alerts = AlertStore(StateStore(wh)).alerts(states=["firing"])
    assert len(alerts) == 3
    a = alerts[0]
    assert a.severity == "page" and a.state.level == "alert" and a.slack_ts
    assert a.state.first_seen == FIRST + 3 * DAY


@pytest.mark.slow
def test_drains_on_a_shared_postgresql_outbox_take_turns(world, slack, postgres_server) -> None:
    """Daemons and cron jobs on several hosts share a PostgreSQL state store: while one
    process drains the outbox, another leaves the rows to it instead of sending them a
    second time; once it is done, the rows go out once."""
    import psycopg

    from monitor.alerts.persistence import outbox_lock_key

    url = postgres_server.create_database("shared_outbox")
    write_days(world, {3: 50.0})
    path = config_path(world, slack, [DRIFT])
    doc = yaml.safe_load(path.read_text())
    doc["state"] = {"database": {"type": "postgres", "url": url}}
    path.write_text(yaml.safe_dump(doc))

    with psycopg.connect(url, autocommit=True) as other:  # another host, mid-drain
        other.execute("SELECT pg_advisory_lock(%s)", [outbox_lock_key("monitor")])
        report = run_day(path, 3)
        assert report.delivery is not None and report.delivery.busy
        assert report.delivery.waiting == 1 and not slack.requests
        result = CliRunner().invoke(app, ["send", "--config", str(path)])
        assert result.exit_code == 1 and "another process is delivering" in result.output
        assert not slack.requests
    # Its session ended: the lock is free.
    result = CliRunner().invoke(app, ["send", "--config", str(path)])
    assert result.exit_code == 0 and "1 sent, 0 waiting" in result.output, result.output
    assert [r["method"] for r in slack.requests if r["answered"]] == ["chat.postMessage"]
    with psycopg.connect(url) as con:
        assert con.execute("SELECT status, attempts FROM monitor.outbox").fetchall() == [
            ("sent", 1)
        ]
