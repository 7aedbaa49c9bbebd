"""The segment budget: a slice over more values than a monitor's `max_segments` keeps
the largest segments by volume and pools the rest as `col=<other>` (monitor/segments.py,
sql/macros/segment_label.sql); the run, its messages and the report stay bounded."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from monitor.checks import discover_checks
from monitor.cli import app
from monitor.config import load_config
from monitor.errors import WarehouseError
from monitor.notify.message import MAX_ITEMS, Item, Message, plain_text
from monitor.report import page
from monitor.runner import Runner
from monitor.segments import check_slices
from monitor.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import BASE_DAY, CUR_DAY, REPO, RUN_AT, World, read_db, write_table

# Countries by volume (baseline + current rows): A 60, B 40, then a tail of five.
# With max_segments 3, A and B keep their segments and the tail is pooled.
VOLUMES = {"A": 30, "B": 20, "C": 4, "D": 3, "E": 2, "F": 2, "G": 1}
TAIL = ("C", "D", "E", "F", "G")


def _rows(day_seed: int, pool_by_hand: bool) -> dict[str, list[Any]]:
    """One day's rows: per country, its VOLUMES count; scores, labels and features
    drawn from a seeded generator, so both days differ but every run sees the same."""
    rnd = random.Random(day_seed)
    cols: dict[str, list[Any]] = {k: [] for k in ("country", "x", "cat", "score", "label")}
    for country, n in VOLUMES.items():
        for _ in range(n):
            score = rnd.random()
            cols["country"].append("<other>" if pool_by_hand and country in TAIL else country)
            cols["x"].append(rnd.gauss(0, 1) if rnd.random() > 0.1 else None)
            cols["cat"].append(rnd.choice("pqr"))
            cols["score"].append(score)
            cols["label"].append(float(rnd.random() < score))
    return cols


SLICED = [
    ("row_count", {"by": [["country"]]}),
    ("null_rate", {"columns": ["x"], "by": [["country"]]}),
    ("numeric_drift", {"columns": ["x", "score"], "by": [["country"]], "bins": 3}),
    ("categorical_drift", {"columns": ["cat"], "by": [["country"]]}),
    ("classification", {"by": [["country"]]}),
    ("regression", {"by": [["country"]]}),
    ("slice_metrics", {"slices": [["country"]], "metrics": ["positive_rate", "recall", "auc"]}),
]


def _run(world: World, check: str, params: dict[str, Any], max_segments: int) -> dict:
    monitor = {"name": "s", "check": check, "params": params, "max_segments": max_segments}
    (result,) = world.run([monitor])
    assert result.status == "ok", result.error
    return {
        (r.segment, r.feature, r.metric): (r.value, r.sample_size, r.baseline_value, r.p_value)
        for r in result.rows
    }


@pytest.mark.parametrize(("check", "params"), SLICED, ids=[c for c, _ in SLICED])
def test_pooled_segments_are_the_tail_computed_as_one(tmp_path, check, params) -> None:
    """Every check that slices gives the pooled segment what it gives rows whose
    country was set to '<other>' by hand (the reference), and the kept segments and
    'all' are untouched: pooling is a relabelling, not an approximation."""
    pooled = World(tmp_path / "pooled")
    pooled.root.mkdir()
    pooled.load(_rows(1, False), _rows(2, False))
    by_hand = World(tmp_path / "by_hand")
    by_hand.root.mkdir()
    by_hand.load(_rows(1, True), _rows(2, True))
    got = _run(pooled, check, params, max_segments=3)
    want = _run(by_hand, check, params, max_segments=1000)
    assert {k[0] for k in got} == {"all", "country=A", "country=B", "country=<other>"}
    # Equal up to summation order: DuckDB adds in parallel, so a sum may differ in
    # its last bits between two runs of one query (1e-12 relative is ~4,500 ulps).
    assert got.keys() == want.keys()
    for key, values in got.items():
        for a, b in zip(values, want[key], strict=True):
            assert (a is None and b is None) or a == pytest.approx(b, rel=1e-12, abs=1e-15), key


def test_a_slice_within_the_budget_is_not_pooled(world) -> None:
    world.load(_rows(1, False), _rows(2, False))
    rows = _run(world, "row_count", {"by": [["country"]]}, max_segments=8)  # 7 countries
    assert {k[0] for k in rows} == {"all", *(f"country={c}" for c in VOLUMES)}


def test_a_slice_of_two_columns_is_pooled_as_a_whole(world) -> None:
    """The budget counts a slice's segments, so a pair of columns is capped too: its
    largest pairs keep their label, the rest become `country=<other>,device=<other>`."""
    base, cur = _rows(1, False), _rows(2, False)
    for part in (base, cur):
        part["device"] = ["ios" if i % 3 else "web" for i in range(len(part["country"]))]
    world.load(base, cur)
    (result,) = world.run(
        [{"name": "s", "check": "row_count", "max_segments": 4,
          "params": {"by": [["country", "device"]]}}]
    )  # fmt: skip
    counts = {r.segment: r.value for r in result.rows if r.metric == "row_count"}
    pairs = {}
    for c, d in zip(cur["country"], cur["device"], strict=True):
        pairs[f"country={c},device={d}"] = pairs.get(f"country={c},device={d}", 0) + 1
    volume = dict(pairs)
    for c, d in zip(base["country"], base["device"], strict=True):
        volume[f"country={c},device={d}"] = volume.get(f"country={c},device={d}", 0) + 1
    kept = sorted(volume, key=lambda k: (-volume[k], k))[:3]
    assert set(counts) == {"all", *kept, "country=<other>,device=<other>"}
    assert counts["country=<other>,device=<other>"] == sum(
        n for k, n in pairs.items() if k not in kept
    )
    assert any("country=<other>,device=<other>" in note for note in result.notes)


def test_a_hundred_thousand_values_make_a_bounded_run_message_and_report(world) -> None:
    """The probe's case: a row_count slice over 100,000 distinct values. The run keeps
    the default budget's 999 largest segments plus `country=<other>`, says what it
    pooled, queues a message of bounded size and builds a bounded report."""
    n = 100_000
    rnd = random.Random(7)
    # The first 50 countries are big (and halve in the current window: alerts); the
    # long tail has one row per country per day.
    base = [f"c{i:06d}" for i in range(n)] + [f"c{i:06d}" for i in range(50) for _ in range(20)]
    cur = [f"c{i:06d}" for i in range(n)] + [f"c{i:06d}" for i in range(50) for _ in range(8)]
    rnd.shuffle(cur)
    world.load({"country": base}, {"country": cur})
    rules = [{"metric": "row_count_ratio", "direction": "below", "warn": 0.6, "alert": 0.5}]
    config = load_config(
        world.config([{"name": "wide", "check": "row_count", "params": {"by": [["country"]]},
                       "rules": rules}])
    )  # fmt: skip
    at = datetime.fromisoformat(RUN_AT).replace(tzinfo=UTC)
    (result,) = Runner(config).run(at=at).runs
    assert result.status == "ok", result.error
    segments = {r.segment for r in result.rows}
    assert len(segments) == 1000 + 1  # 999 kept, <other>, all
    other = {r.metric: r.value for r in result.rows if r.segment == "country=<other>"}
    assert other["row_count"] == n - 999  # one current row for each pooled country
    (note,) = result.notes
    assert "100,000 segments" in note and "99,001" in note, note
    breaching = [r for r in result.rows if r.status == "alert"]
    assert len(breaching) == 50
    (payload,) = read_db(world.db, "SELECT payload FROM monitor.outbox")
    message = json.loads(payload[0])
    assert len(message["items"]) <= 50 and len(payload[0]) < 100_000
    report = page.build(config, now=at, read_only=True)
    section = report.monitors[0]
    assert len(section.cards) == 30 and section.more_cards == 20
    # The cards kept are the worst: every big country fell to 8/20 of its baseline,
    # so each card is one of them, and all pass the threshold by the same.
    assert {c.segment for c in section.cards} <= {f"country=c{i:06d}" for i in range(50)}
    assert len(report.alerts) + report.more_alerts == 50
    series = set()
    for layer in report.charts["ts:wide:row_count_ratio:value"]["layer"]:
        data = layer["data"]["values"]
        if isinstance(data, str):  # charts.table: CSV text
            series |= {row["s"] for row in csv.DictReader(io.StringIO(data)) if "s" in row}
    assert len(series) == page.MAX_GREY_SERIES + page.MAX_HIGHLIGHTED + 1  # + 'all'


def test_validate_warns_of_a_slice_over_the_budget(world) -> None:
    world.load(_rows(1, False), _rows(2, False))
    path = world.config(
        [{"name": "s", "check": "row_count", "params": {"by": [["country"]]}, "max_segments": 3}]
    )
    out = CliRunner().invoke(app, ["validate", "--config", str(path)])
    assert out.exit_code == 0, out.output
    lines = [line for line in out.output.splitlines() if "max_segments" in line]
    assert len(lines) == 1 and "[country] has 7 segments" in lines[0], out.output
    assert f"{Path(path).name}:" in lines[0]  # file:line of the monitor's params


def test_a_message_carries_the_worst_items_and_threads_them_all(world) -> None:
    """300 breaching segments (and 'all') queue one message of MAX_ITEMS items: its
    title and "+N more" line count all 301, and the worst are the ones it lists. The
    unlisted ones still belong to its thread: when all recover the next day, the reply
    counts 301 resolutions and the post's update reads RESOLVED for all 301."""
    countries = [f"k{i:03d}" for i in range(300)]
    # Country k000 drops the most, k299 the least (to 0.10 .. 0.39 of the baseline;
    # 'all' to 0.245): the message lists k000..k049. The day after, all are back.
    days = {
        BASE_DAY: [c for c in countries for _ in range(100)],
        CUR_DAY: [c for i, c in enumerate(countries) for _ in range(10 + i // 10)],
        "2026-09-09": [c for c in countries for _ in range(100)],
    }
    rows = [(c, datetime.fromisoformat(f"{day}T12:00:00")) for day, cs in days.items() for c in cs]
    write_table(world.db, "preds", {
        "country": [c for c, _ in rows], "ts": [t for _, t in rows],
        "model_name": ["m"] * len(rows), "role": ["production"] * len(rows),
    })  # fmt: skip
    rules = [{"metric": "row_count_ratio", "direction": "below", "alert": 0.5}]
    config = load_config(
        world.config(
            [{"name": "many", "check": "row_count", "params": {"by": [["country"]]},
              "rules": rules}]
        )
    )  # fmt: skip
    first = datetime.fromisoformat(RUN_AT).replace(tzinfo=UTC)
    (result,) = Runner(config).run(at=first).runs
    assert sum(r.status == "alert" for r in result.rows) == 301
    (payload,) = read_db(world.db, "SELECT payload FROM monitor.outbox")
    message = Message.from_json(payload[0])
    assert len(message.items) == MAX_ITEMS and message.more == 301 - MAX_ITEMS
    assert message.title() == "ALERT many: 301 breaching"
    listed = sorted(i.segment for i in message.items)
    assert listed == [f"country=k{i:03d}" for i in range(MAX_ITEMS)]
    assert "+291 more" in plain_text(message, top_k=10)
    threaded = read_db(world.db, "SELECT count(*) FROM monitor.alerts WHERE message_key <> ''")
    assert threaded == [(301,)]
    # The report's cards are the worst too, ranked as the message ranks its items.
    cards = page.build(config, now=first, read_only=True).monitors[0].cards
    assert sorted(c.segment for c in cards) == [f"country=k{i:03d}" for i in range(30)]

    Runner(config).run(at=first + timedelta(days=1))
    later = read_db(world.db, "SELECT action, payload FROM monitor.outbox WHERE id > 1 ORDER BY id")
    by_action = {action: Message.from_json(text) for action, text in later}
    assert set(by_action) == {"reply", "update"}, list(by_action)
    reply, update = by_action["reply"], by_action["update"]
    assert reply.title() == f"{MAX_ITEMS} resolved, +{301 - MAX_ITEMS} more"
    assert update.title() == "RESOLVED many: all 301 clear"


def test_only_a_check_that_defaults_to_the_models_slices_is_budgeted_for_them() -> None:
    """An empty `slices` means the model's slices for the checks whose template says so
    (slice_metrics, the shadow checks), and nothing for estimated_performance, whose
    empty `slices` slices nothing: no extra scan, no false warning."""
    checks = discover_checks([REPO / "sql"])

    def slices_of(name: str) -> list[list[str]]:
        defaults = {k: p.default for k, p in checks[name].params.items()}
        return check_slices(checks[name], defaults, ["country", "device"])

    assert slices_of("slice_metrics") == [["country"], ["device"]]
    assert slices_of("paired_outcomes") == [["country"], ["device"]]
    assert slices_of("estimated_performance") == []
    assert slices_of("row_count") == []


def test_an_update_with_unlisted_alerts_still_firing_is_not_resolved() -> None:
    """The post's listed items all cleared while 3 unlisted ones still fire: the update
    says so, and Slack gets no ✅ (Message.resolved)."""
    item = Item(
        fingerprint="f", kind="metric", segment="all", feature="", metric="m",
        state="resolved", level="alert", action="status",
    )  # fmt: skip
    update = Message(
        key="k/update", action="update", parent_key="k", monitor="many", check="row_count",
        model="m", severity="ticket", channel="#ml", run_at=datetime(2026, 9, 9, tzinfo=UTC),
        window_start=None, window_end=None, items=[item], more=5, more_firing=3,
    )  # fmt: skip
    assert not update.resolved
    assert update.title() == "ALERT many: 3 breaching (3 of 6 resolved)"
    cleared = dataclasses.replace(update, more_firing=0)
    assert cleared.resolved and cleared.title() == "RESOLVED many: all 6 clear"
    assert "members" not in json.loads(update.to_json())


@pytest.mark.parametrize("span_fails", [False, True], ids=["span", "span_refused"])
def test_a_backfill_asks_once_per_span_and_pools_only_the_windows_over_budget(
    world, monkeypatch, span_fails: bool
) -> None:
    """A backfill asks the budget once over each monitor's span: a slice within it
    there is within it in every window, and the windows ask nothing more. A slice over
    it in the span is asked about window by window, so a window within the budget
    keeps all its segments although another window of the span pooled. When the
    warehouse refuses the span's query (a statement timeout, say), every window asks on
    its own and the segments are the same."""
    days = {  # day: countries with their rows (the baseline day has A and B only)
        "2026-09-01": {"A": 5, "B": 5},
        "2026-09-08": VOLUMES,
        "2026-09-09": {"A": 4, "B": 3},
    }
    cols: dict[str, list[Any]] = {"ts": [], "country": [], "model_name": [], "role": []}
    for day, volumes in days.items():
        for country, n in volumes.items():
            cols["ts"] += [datetime.fromisoformat(f"{day}T12:00:00")] * n
            cols["country"] += [country] * n
    cols["model_name"] = ["m"] * len(cols["ts"])
    cols["role"] = ["production"] * len(cols["ts"])
    write_table(world.db, "preds", cols)
    asked: list[str] = []
    execute = DuckDBWarehouse.execute

    def counting(self, sql, params=None):  # the real query, counted
        if "segments > " in sql:
            asked.append(sql)
            if span_fails and len(asked) == 1:  # a backfill's first: the span's
                raise WarehouseError("canceling statement due to statement timeout")
        return execute(self, sql, params)

    monkeypatch.setattr(DuckDBWarehouse, "execute", counting)

    def backfill(max_segments: int) -> dict[str, set[str]]:
        monitor = {"name": "s", "check": "row_count", "schedule": "0 6 * * *",
                   "params": {"by": [["country"]]}, "max_segments": max_segments}  # fmt: skip
        runner = Runner(load_config(world.config([monitor])), notifiers=[])
        report = runner.backfill(date(2026, 9, 8), date(2026, 9, 9), build=False)
        assert [r.status for r in report.runs] == ["ok", "ok"], [r.error for r in report.runs]
        return {
            r.window.start.date().isoformat(): {row.segment for row in r.rows} for r in report.runs
        }

    assert backfill(max_segments=8) == {  # 7 countries in the span: within the budget
        "2026-09-08": {"all", *(f"country={c}" for c in VOLUMES)},
        "2026-09-09": {"all", "country=A", "country=B"},
    }
    assert len(asked) == (3 if span_fails else 1)  # the span, and no window unless it failed
    asked.clear()
    world.db.unlink()
    write_table(world.db, "preds", cols)
    assert backfill(max_segments=3) == {
        "2026-09-08": {"all", "country=A", "country=B", "country=<other>"},
        "2026-09-09": {"all", "country=A", "country=B"},  # within the budget on its own
    }
    assert len(asked) == 3  # the span (refused or not), then each window
