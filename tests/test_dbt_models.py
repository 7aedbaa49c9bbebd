"""The dbt project on hand-made raw rows: dedup, test traffic, first feedback,
label delay, maturity, shadow pairs, incremental rebuilds, and failures surfaced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from monitor import dbt
from monitor.config import load_config
from monitor.errors import DbtError
from tests.conftest import read_db

T0 = datetime(2026, 9, 1, 10, 0)
NOW = datetime.utcnow().replace(microsecond=0)

PREDICTIONS = [
    # prediction_id, request_id, ts, model_name, version, role, score, is_test, country
    ("p1", "r1", T0, "fraud", "v1", "production", 0.9, False, "FR"),
    (
        "p1",
        "r1",
        T0 + timedelta(minutes=5),
        "fraud",
        "v1",
        "production",
        0.8,
        False,
        "FR",
    ),  # re-delivery, latest wins
    ("p2", "r1", T0, "fraud", "v2", "shadow", 0.7, False, "FR"),
    ("p3", "r2", T0, "fraud", "v1", "production", 0.99, True, "XX"),  # test traffic
    ("p4", "r3", T0, "fraud", "v1", "production", 0.1, None, "DE"),  # production only
    ("p5", "r4", T0, "fraud", "v2", "SHADOW", 0.2, False, None),  # shadow only, role in capitals
    (
        "p6",
        "r6",
        NOW - timedelta(days=1),
        "fraud",
        "v1",
        "production",
        0.3,
        False,
        "FR",
    ),  # not mature yet
]
FEEDBACK = [
    # prediction_id, request_id, label, label_ts
    (None, "r1", 1.0, T0 + timedelta(days=2)),
    (None, "r1", 1.0, T0 + timedelta(days=2)),  # exact re-delivery
    (None, "r1", 0.0, T0 + timedelta(days=5)),  # a second, later outcome: not the first
    ("p4", None, 0.0, T0 + timedelta(days=1)),
    (None, "r2", 1.0, T0 + timedelta(days=1)),  # feedback for test traffic goes nowhere
]


def load_raw(path, predictions, feedback) -> None:
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE OR REPLACE TABLE raw_preds (prediction_id VARCHAR, request_id VARCHAR, ts TIMESTAMP, "
        "model_name VARCHAR, model_version VARCHAR, role VARCHAR, score DOUBLE, is_test BOOLEAN, country VARCHAR)"
    )
    con.execute(
        "CREATE OR REPLACE TABLE raw_fb (prediction_id VARCHAR, request_id VARCHAR, label DOUBLE, label_ts TIMESTAMP)"
    )
    con.executemany("INSERT INTO raw_preds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", predictions)
    if feedback:
        con.executemany("INSERT INTO raw_fb VALUES (?, ?, ?, ?)", feedback)
    con.close()


@pytest.fixture
def dbt_world(write_config, tmp_path):
    db = tmp_path / "wh.duckdb"
    load_raw(db, PREDICTIONS, FEEDBACK)
    path = write_config(
        f"""
        warehouse: {{type: duckdb, path: {db}}}
        dbt:
          project_dir: {{repo}}/dbt_project
          vars: {{predictions_table: raw_preds, feedback_table: raw_fb}}
        models:
          fraud: {{predictions: prediction_outcomes, slices: [country], label_maturity: 14d}}
        """
    )
    return db, load_config(path)


@pytest.mark.slow
def test_models_dedupe_filter_join_and_pair(dbt_world) -> None:
    db, config = dbt_world
    dbt.build(config)

    assert read_db(db, "SELECT prediction_id, score, role FROM stg_predictions ORDER BY 1") == [
        ("p1", 0.8, "production"),
        ("p2", 0.7, "shadow"),
        ("p4", 0.1, "production"),
        ("p5", 0.2, "shadow"),
        ("p6", 0.3, "production"),
    ]
    assert read_db(db, "SELECT count(*) FROM stg_feedback") == [
        (4,)
    ]  # the exact re-delivery is gone

    outcomes = {
        r[0]: r[1:]
        for r in read_db(
            db,
            "SELECT prediction_id, label, label_ts, label_delay, matures_at, is_mature FROM prediction_outcomes",
        )
    }
    assert set(outcomes) == {"p1", "p2", "p4", "p5", "p6"}
    # p1: the first of its request's two outcomes; the delay is from the latest delivery's ts.
    label, label_ts, delay, matures_at, mature = outcomes["p1"]
    assert (label, label_ts) == (1.0, T0 + timedelta(days=2))
    assert delay == timedelta(days=2) - timedelta(minutes=5)
    assert matures_at == T0 + timedelta(minutes=5) + timedelta(days=14) and mature is True
    assert outcomes["p2"][0] == 1.0  # request-level feedback reaches the shadow prediction too
    assert outcomes["p4"][:2] == (0.0, T0 + timedelta(days=1))  # by prediction_id
    assert outcomes["p5"][0] is None and outcomes["p5"][2] is None  # never labelled
    assert outcomes["p6"][4] is False  # ts + 14d is still in the future

    pairs = read_db(
        db,
        "SELECT request_id, has_production, has_shadow, prod_score, shadow_score, label, country "
        "FROM shadow_pairs ORDER BY request_id",
    )
    assert pairs == [
        ("r1", True, True, 0.8, 0.7, 1.0, "FR"),
        ("r3", True, False, 0.1, None, 0.0, "DE"),
        ("r4", False, True, None, 0.2, None, None),
        ("r6", True, False, 0.3, None, None, "FR"),
    ]


@pytest.mark.slow
def test_incremental_rebuild_follows_every_change(dbt_world) -> None:
    db, config = dbt_world
    dbt.build(config)
    built_before = dict(read_db(db, "SELECT prediction_id, built_at FROM prediction_outcomes"))
    changed = [
        *PREDICTIONS,
        ("p7", "r7", T0 + timedelta(days=3), "fraud", "v1", "production", 0.5, False, "ES"),  # new
        (
            "p4",
            "r3",
            T0 + timedelta(minutes=9),
            "fraud",
            "v1",
            "production",
            0.55,
            False,
            "DE",
        ),  # corrected
        (
            "p2",
            "r1",
            T0 + timedelta(minutes=9),
            "fraud",
            "v2",
            "shadow",
            0.7,
            True,
            "FR",
        ),  # now test traffic
    ]
    more_feedback = [*FEEDBACK, (None, "r4", 1.0, T0 + timedelta(days=20))]  # late label for p5
    load_raw(db, changed, more_feedback)
    dbt.build(config)
    rows = {
        r[0]: r[1:]
        for r in read_db(db, "SELECT prediction_id, label, score FROM prediction_outcomes")
    }
    assert rows == {
        "p1": (1.0, 0.8),
        "p4": (0.0, 0.55),  # the corrected score replaced the stored one
        "p5": (1.0, 0.2),  # the late label arrived
        "p6": (None, 0.3),
        "p7": (None, 0.5),
    }  # p2 is gone: it left stg_predictions as test traffic
    rebuilt = dict(read_db(db, "SELECT prediction_id, built_at FROM prediction_outcomes"))
    # Unchanged rows were not rewritten; changed ones were.
    assert rebuilt["p1"] == built_before["p1"] and rebuilt["p6"] == built_before["p6"]
    assert rebuilt["p4"] > built_before["p4"] and rebuilt["p5"] > built_before["p5"]


@pytest.mark.slow
def test_build_time_is_utc(dbt_world, monkeypatch) -> None:
    db, config = dbt_world
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # a local clock 9 hours ahead of UTC
    before = datetime.now(UTC).replace(tzinfo=None)
    dbt.build(config)
    after = datetime.now(UTC).replace(tzinfo=None)
    (built,) = read_db(db, "SELECT DISTINCT built_at FROM prediction_outcomes")
    assert before - timedelta(seconds=5) <= built[0] <= after + timedelta(seconds=5)


@pytest.mark.slow
def test_dbt_failure_carries_dbts_message(dbt_world) -> None:
    _, config = dbt_world
    broken = config.model_copy(
        update={
            "dbt": config.dbt.model_copy(update={"vars": {"predictions_table": "no_such_table"}})
        }
    )
    with pytest.raises(
        DbtError, match=r"dbt build failed: .*Table with name no_such_table does not exist"
    ):
        dbt.build(broken)
