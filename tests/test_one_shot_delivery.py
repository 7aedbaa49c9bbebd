"""One-shot verbs ride out a blip: `monitor backfill --notify`, `run`, `send` keep
draining the outbox (1 s, 2 s, 4 s … and at least Retry-After) until everything is
delivered or `notify.deliver_within` has passed, then exit 3 with the count.

Real DuckDB file, real runner and CLI, slack-sdk's WebClient against the
Slack-compatible server of tests/slack_server.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from monitor.alerts.delivery import DrainReport, drain_until
from monitor.cli import app
from monitor.config import load_config
from monitor.runner import Runner
from tests.conftest import REPO, World, read_db
from tests.slack_server import FakeSlack, Fault
from tests.test_alert_delivery import DRIFT, config_path, outbox, write_days

BACKFILL = ["--from", "2026-09-02", "--to", "2026-09-07"]


def backfill(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["backfill", "--config", str(path), *BACKFILL, "--notify"])
    return result.exit_code, result.output


def test_a_blip_of_three_failures_is_ridden_out_in_the_same_command(world, slack) -> None:
    write_days(world, {3: 50.0, 4: 50.0})
    path = config_path(world, slack, [DRIFT])
    # slack-sdk tries each request 3 times in process; all three answered 503.
    slack.fail(Fault("503"), Fault("503"), Fault("503"))
    started = time.monotonic()
    code, output = backfill(path)
    assert code == 0, output
    assert "4 sent, 0 waiting" in output
    rows = outbox(world)
    assert [r[:2] for r in rows] == [
        ("post", "sent"), ("reply", "sent"), ("reply", "sent"), ("update", "sent"),
    ]  # fmt: skip
    assert rows[0][2] == 2  # one failed attempt (three requests), then delivered
    assert [r["answered"] for r in slack.requests[:4]] == [False, False, False, True]
    assert time.monotonic() - started < 30  # a pause of 1 s, not the daemon's 30 s backoff
    methods = [r["method"] for r in slack.requests if r["answered"]]
    assert methods == ["chat.postMessage", "chat.postMessage", "chat.postMessage", "chat.update"]

    # The same backfill again: nothing is sent twice.
    before = len(slack.requests)
    code, output = backfill(path)
    assert code == 0, output
    assert len(slack.requests) == before
    assert len(slack.top_level()) == 1


def test_slack_down_for_good_exits_3_with_the_count(world, slack) -> None:
    write_days(world, {3: 50.0, 4: 50.0})
    path = config_path(world, slack, [DRIFT], deliver_within="4s")
    slack.stop()
    started = time.monotonic()
    code, output = backfill(path)
    took = time.monotonic() - started
    assert code == 3, output
    assert "4 notification(s) still waiting after 4s of retries" in output
    assert "Slack unreachable" in output and "Exit code 3" in output
    assert 4 <= took < 30
    rows = outbox(world)
    assert all(r[1] == "pending" for r in rows)
    # Retried in the command: the post at 0 s, then after 1, 2 and (the deadline) 1 s;
    # on a loaded machine an attempt can take long enough to leave one out, never more
    # (backing off, not hammering).
    assert 2 <= rows[0][2] <= 4
    assert [r[2] for r in rows[1:]] == [0, 0, 0]  # its thread waited behind it, in order

    # `monitor send` with Slack still down: the same exit code; back up: all of them.
    result = CliRunner().invoke(app, ["send", "--config", str(path)])
    assert result.exit_code == 3, result.output
    slack.start()
    result = CliRunner().invoke(app, ["send", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "4 sent, 0 waiting" in result.output
    assert len(slack.top_level()) == 1 and len(slack.thread(slack.top_level()[0].ts)) == 2


def test_rows_for_a_receiver_this_process_lacks_do_not_hold_the_command(
    world, slack, monkeypatch
) -> None:
    """A row only another process can send (its token is not set here) waits, and the
    command says so, without retrying for deliver_within."""
    write_days(world, {3: 50.0})
    path = config_path(world, slack, [DRIFT], deliver_within="1s")
    slack.stop()
    assert backfill(path)[0] == 3  # a host with the token queued it, Slack was down
    path = config_path(world, slack, [DRIFT], deliver_within="1m")
    monkeypatch.delenv("TEST_SLACK_TOKEN")  # this host has no Slack token
    started = time.monotonic()
    result = CliRunner().invoke(app, ["send", "--config", str(path)])
    assert time.monotonic() - started < 10
    assert result.exit_code == 3, result.output
    assert "3 for slack, which is not enabled in this process" in result.output


def test_monitor_run_under_cron_with_slack_down(world: World, slack: FakeSlack) -> None:
    """What cron's mail shows (docs/operations.md): a real `monitor run` process."""
    write_days(world, {3: 50.0})
    path = config_path(world, slack, [DRIFT], deliver_within="3s")
    slack.stop()
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "run", "--config", str(path),
         "--at", "2026-09-05T06:00"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
        env={**os.environ, "TEST_SLACK_TOKEN": "xoxb-test"},
    )  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    assert "notifications: 0 sent, 1 waiting" in done.stdout
    assert "undelivered: 1 notification(s) still waiting after 3s of retries" in done.stderr
    assert "Slack unreachable" in done.stderr


# ------------------------------------------------------------------ the pacing


def test_drain_until_backs_off_honours_retry_after_and_stops_at_the_deadline() -> None:
    now = [0.0]
    waits: list[float] = []
    answers = [
        DrainReport(sent=2, failed=1, waiting=3),
        DrainReport(failed=1, waiting=3),
        DrainReport(failed=1, waiting=3, held=3, retry_after=7.0),  # a 429: 7 s, all rows
        DrainReport(failed=1, waiting=3),
        DrainReport(failed=1, waiting=3),
        DrainReport(failed=1, waiting=3),
    ]

    def drain_once(force: bool) -> DrainReport:
        assert force  # the stored backoff paces the daemon, not a one-shot verb
        return answers.pop(0)

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    report = drain_until(drain_once, timedelta(seconds=20), sleep=sleep, clock=lambda: now[0])
    # 1, 2, then Retry-After 7 (> the 4 due), 8, then the 2 s left to the deadline.
    assert waits == [1.0, 2.0, 7.0, 8.0, 2.0]
    assert (report.sent, report.failed, report.waiting) == (2, 6, 3)

    # Delivered at the second try: one pause.
    waits.clear()
    answers[:] = [DrainReport(failed=1, waiting=1), DrainReport(sent=1)]
    report = drain_until(drain_once, timedelta(minutes=2), sleep=sleep, clock=lambda: now[0])
    assert waits == [1.0] and (report.sent, report.waiting) == (1, 0)

    # A Retry-After beyond the deadline: no pointless wait.
    waits.clear()
    answers[:] = [DrainReport(failed=1, waiting=1, held=1, retry_after=600.0)]
    report = drain_until(drain_once, timedelta(minutes=2), sleep=sleep, clock=lambda: now[0])
    assert waits == [] and report.waiting == 1

    # ...but rows of other receivers (a 503 on PagerDuty) are still retried meanwhile.
    answers[:] = [
        DrainReport(failed=2, waiting=2, held=1, retry_after=600.0),
        DrainReport(sent=1, waiting=1, held=1, retry_after=599.0),
    ]
    report = drain_until(drain_once, timedelta(minutes=2), sleep=sleep, clock=lambda: now[0])
    assert waits == [1.0] and (report.sent, report.waiting) == (1, 1)
    waits.clear()

    # Another process is delivering, or only unroutable rows wait: no waiting either.
    answers[:] = [DrainReport(waiting=2, busy=True)]
    assert drain_until(drain_once, timedelta(minutes=2), sleep=sleep).busy
    answers[:] = [DrainReport(waiting=2, unroutable={"slack": 2})]
    assert drain_until(drain_once, timedelta(minutes=2), sleep=sleep).waiting == 2
    assert waits == []


def test_a_state_store_that_locks_mid_retry_costs_attempts_not_the_command(
    world: World, slack: FakeSlack
) -> None:
    """After the run, another process holds the DuckDB file (a backfill): each retry
    that cannot open the outbox counts as a failed attempt, and the command still ends
    with the count and exit 3, not a traceback; once the file and Slack are back, the
    notification goes out."""
    write_days(world, {3: 50.0})
    notify = {
        "slack": {"token_env": "TEST_SLACK_TOKEN", "base_url": slack.url, "timeout": 1},
        "deliver_within": "3s",
    }
    path = world.config(
        [DRIFT], notify=notify,
        warehouse={"type": "duckdb", "path": str(world.db), "lock_timeout": "1s"},
    )  # fmt: skip
    slack.stop()
    runner = Runner(load_config(path))
    ran = runner.run(at=datetime(2026, 9, 5, 6, tzinfo=UTC))
    assert ran.delivery is not None and ran.delivery.waiting == 1
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_FILE, str(world.db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        report = runner.deliver_patiently(first=ran.delivery)
    finally:
        holder.kill()
        holder.wait()
    assert report.waiting == 1 and report.sent == 0
    assert any("the outbox could not be read" in e and "lock" in e for e in report.errors)
    slack.start()
    assert runner.deliver_patiently(force=True).sent == 1
    assert len(slack.top_level()) == 1


HOLD_THE_FILE = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(120)
"""


def test_rows_an_older_or_newer_version_queued_are_delivered_or_named(
    world: World, slack: FakeSlack, monkeypatch
) -> None:
    """Shared outboxes outlive versions. A reply queued for Slack whose post never was
    (older versions queued replies for every receiver) goes out at the top level; a
    payload with keys this version does not know is read without them; one it cannot
    read at all is named, without holding the command for deliver_within."""
    write_days(world, {3: 50.0})
    path = config_path(world, slack, [DRIFT], deliver_within="1m")
    monkeypatch.delenv("TEST_SLACK_TOKEN")  # day 3 announced on the console only
    assert backfill(path)[0] == 0
    rows = read_db(
        world.db,
        "SELECT id, message_key, parent_key, action, payload FROM monitor.outbox ORDER BY id",
    )
    assert [r[3] for r in rows] == ["post", "reply", "update"]
    con = duckdb.connect(str(world.db))
    try:
        # As an older version would have written them: the thread's reply for Slack too,
        # one with a key from a newer version in its payload.
        newer = rows[1][4].replace('"action":', '"shiny_new_field": 1, "action":', 1)
        con.execute(
            "INSERT INTO monitor.outbox (id, notifier, message_key, parent_key, action, channel, "
            "payload, status, attempts, created_at, next_attempt_at) VALUES "
            "(100, 'slack', ?, ?, 'reply', '#oncall', ?, 'pending', 0, now(), now()), "
            "(101, 'slack', ?, ?, 'update', '#oncall', ?, 'pending', 0, now(), now()), "
            "(102, 'slack', 'broken', NULL, 'post', '#oncall', '{not json', 'pending', 0, now(), now()), "
            "(103, 'slack', 'broken/reply', 'broken', 'reply', '#oncall', ?, 'pending', 0, now(), now())",
            [rows[1][1], rows[1][2], newer, rows[2][1], rows[2][2], rows[2][4], rows[1][4]],
        )
    finally:
        con.close()
    monkeypatch.setenv("TEST_SLACK_TOKEN", "xoxb-test")
    started = time.monotonic()
    result = CliRunner().invoke(app, ["send", "--config", str(path)])
    assert time.monotonic() - started < 10, result.output
    assert result.exit_code == 3, result.output
    assert "2 sent, 2 waiting" in result.output
    # The reply behind the unreadable post waits with it, in order, and holds nothing.
    assert "2 with a payload this version cannot read, or behind one" in result.output
    (post,) = slack.top_level()  # the reply, said at the top level; the update had no post
    assert "3 resolved" in post.text and not post.updates
