"""`monitor backtest` on a small world: it replays what the live lifecycle did, from
stored or recomputed results, and answers "what if" for thresholds, `for` and `clear`."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from typer.testing import CliRunner

from monitor.alerts.persistence import AlertStore
from monitor.backtest import backtest
from monitor.cli import app
from monitor.config import load_config
from monitor.errors import MonitorError
from monitor.runner import Runner
from monitor.store import StateStore
from monitor.timeline import episodes
from monitor.warehouse import connect
from tests.conftest import write_table

FIRST, LAST = date(2026, 9, 2), date(2026, 9, 12)
# The mean of x per day: a two-day shift, a one-day blip, then a smaller shift.
SHIFT = {
    date(2026, 9, 4): 3.0,
    date(2026, 9, 5): 3.0,
    date(2026, 9, 8): 3.0,
    date(2026, 9, 11): 0.6,
}
DRIFT = {
    "name": "drift",
    "check": "numeric_drift",
    "params": {"columns": ["x"]},
    "schedule": "0 6 * * *",
    "baseline": {"kind": "fixed", "start": "2026-09-01", "end": "2026-09-02"},
    "rules": [{"metric": "ks", "warn": 0.15, "alert": 0.5}],
}


@pytest.fixture
def history(world):
    rng = np.random.default_rng(3)
    ts, xs = [], []
    for i in range(12):
        d = date(2026, 9, 1) + timedelta(days=i)
        for k in range(300):
            ts.append(datetime(d.year, d.month, d.day) + timedelta(minutes=4 * k))
            xs.append(float(rng.normal(SHIFT.get(d, 0.0), 1.0)))
    n = len(ts)
    write_table(world.db, "preds", {"ts": ts, "x": xs, "model_name": ["m"] * n,
                                    "role": ["production"] * n})  # fmt: skip
    path = world.config([DRIFT])
    Runner(load_config(path)).backfill(FIRST, LAST, build=False)
    return path


def keys(eps) -> list[tuple]:
    return [(e.segment, e.feature, e.metric, e.start, e.end, round(e.peak_value, 12)) for e in eps]


def test_replays_exactly_what_the_lifecycle_did(history) -> None:
    config = load_config(history)
    with connect(config.warehouse, read_only=True) as wh:
        lived = episodes(AlertStore(StateStore(wh, config.state.schema_, create=False)))
    stored = backtest(config, "drift", FIRST, LAST)
    recomputed = backtest(config, "drift", FIRST, LAST, recompute=True)
    assert stored.windows == recomputed.windows == 11
    assert keys(stored.episodes) == keys(lived)
    assert keys(recomputed.episodes) == keys(lived)
    ks = [e for e in stored.episodes if e.metric == "ks"]
    # The two-day shift, the blip and the small shift: three ks episodes, warn and alert.
    assert [(e.start.date(), e.end.date(), e.status) for e in ks] == [
        (date(2026, 9, 4), date(2026, 9, 6), "alert"),
        (date(2026, 9, 8), date(2026, 9, 9), "alert"),
        (date(2026, 9, 11), date(2026, 9, 12), "warn"),
    ]


def test_what_if_threshold_for_and_clear(history) -> None:
    config = load_config(history)
    base = [e for e in backtest(config, "drift", FIRST, LAST).episodes if e.metric == "ks"]
    # A stricter warn level: the small shift no longer fires.
    stricter = backtest(config, "drift", FIRST, LAST, ["rules.0.warn=0.4"]).episodes
    assert [e.start for e in stricter if e.metric == "ks"] == [e.start for e in base[:2]]
    # for=2: a breach must last two runs; the one-day blip never fires.
    held = [
        e for e in backtest(config, "drift", FIRST, LAST, ["for=2"]).episodes if e.metric == "ks"
    ]
    assert [e.start.date() for e in held] == [date(2026, 9, 4)]
    # keep_firing_for=4: two quiet days never resolve it, so all three are one episode,
    # still recovering at the end of the period.
    joined = backtest(config, "drift", FIRST, LAST, ["keep_firing_for=4"]).episodes
    ks = [e for e in joined if e.metric == "ks"]
    assert [(e.start.date(), e.end.date(), e.state) for e in ks] == [
        (date(2026, 9, 4), date(2026, 9, 12), "recovering")
    ]


def test_settings_that_change_the_computation_need_recompute(history) -> None:
    config = load_config(history)
    with pytest.raises(MonitorError, match="add --recompute"):
        backtest(config, "drift", FIRST, LAST, ["params.bins=5"])
    five = backtest(config, "drift", FIRST, LAST, ["params.bins=5"], recompute=True)
    assert five.source == "recomputed" and five.windows == 11


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["rules.0.alrt=1"], "unknown key 'alrt' in rules.0 — did you mean 'alert'"),
        (["rules.3.alert=1"], "rules has 1 item(s); use an index from 0 to 0"),
        (["for=0"], "for: Input should be greater than or equal to 1"),
        (["rules.0.warn"], "write KEY=VALUE"),
        (["rules.0.warn=[1"], "not valid YAML"),
    ],
)
def test_bad_settings_say_what_is_wrong(history, sets, message) -> None:
    with pytest.raises(MonitorError, match=re.escape(message)):
        backtest(load_config(history), "drift", FIRST, LAST, sets)


def test_cli_table_and_json(history) -> None:
    args = ["backtest", "--config", str(history), "--monitor", "drift"]
    args += ["--from", str(FIRST), "--to", str(LAST)]
    table = CliRunner().invoke(app, args)
    assert table.exit_code == 0, table.output
    assert "episode(s) would have fired" in table.output and "Alert timeline" in table.output
    out = CliRunner().invoke(app, [*args, "--json", "--set", "rules.0.warn=0.4"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["overrides"] == {"rules.0.warn": 0.4} and doc["source"] == "stored"
    assert set(doc["episodes"][0]) >= {
        "monitor", "segment", "feature", "metric", "start", "end", "peak_value",
    }  # fmt: skip
    empty = CliRunner().invoke(app, [*args[:-4], "--from", "2025-01-01", "--to", "2025-01-02"])
    assert empty.exit_code == 1 and "no stored results" in str(empty.exception)
    assert datetime.fromisoformat(doc["episodes"][0]["start"]).tzinfo == UTC
