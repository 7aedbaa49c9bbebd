"""Building the marts by arrival, at its edges: each case ends where a full rebuild of
the same logs ends (test_dbt_models.py has the main sequence of loads). On DuckDB and
PostgreSQL, like every dbt test."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor import dbt
from tests.test_dbt_models import ARRIVAL_VARS, T0, World, _arrive, _marts

FRAUD = "fraud: {predictions: prediction_outcomes, slices: [country], label_maturity: 14d}"


@pytest.fixture(params=["duckdb", "postgres"])
def dbt_world(request, write_config, tmp_path) -> World:
    return World(request.param, tmp_path, write_config, request)


def _stamped(world, loaded_at=T0 + timedelta(days=1), stamp: str = "TIMESTAMP") -> None:
    """The raw logs gain a load-time column, every row stamped `loaded_at`."""
    for table in ("raw_preds", "raw_fb"):
        world.write(f"ALTER TABLE {table} ADD COLUMN loaded_at {stamp}")
        world.write(f"UPDATE {table} SET loaded_at = ?", [(loaded_at,)])


def _config(world, more_vars: str = ARRIVAL_VARS, models: str = FRAUD):
    return world.configure(more_vars, models=models)


def _by_arrival(config) -> bool:
    compiled = dbt.work_dir(config) / "target" / "compiled"
    return "arrived_feedback as" in next(compiled.rglob("prediction_outcomes.sql")).read_text()


def _equals_full_rebuild(world, config) -> None:
    incremental = _marts(world)
    dbt.build(config, full_refresh=True)
    assert incremental == _marts(world)


@pytest.mark.slow
def test_a_changed_label_maturity_reaches_a_model_that_went_quiet(dbt_world) -> None:
    world = dbt_world
    _stamped(world)
    world.write(
        "INSERT INTO raw_preds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [("c1", "rc1", T0, "churn", "v1", "production", 0.5, False, "FR", T0 + timedelta(days=1))],
    )  # churn's last prediction is long before fraud's
    models = FRAUD + ", churn: {predictions: prediction_outcomes, label_maturity: 14d}"
    dbt.build(_config(world, models=models))
    config = _config(world, models=models.replace("label_maturity: 14d}", "label_maturity: 1h}"))
    dbt.build(config)
    assert _by_arrival(config)
    (matures_at,) = world.read(
        "SELECT matures_at FROM prediction_outcomes WHERE prediction_id = 'c1'"
    )
    assert matures_at[0] == T0 + timedelta(hours=1)
    _equals_full_rebuild(world, config)


@pytest.mark.slow
def test_switching_the_load_time_on_rebuilds_the_marts(dbt_world) -> None:
    """Which delivery wins changes with the var (the latest load, not the latest ts):
    the stored rows were chosen by the old rule, so the build starts over."""
    world = dbt_world
    _stamped(world)
    world.write(
        "INSERT INTO raw_preds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [("p5", "r4", T0 - timedelta(minutes=1), "fraud", "v2", "shadow", 0.44, False, None,
          T0 + timedelta(days=2))],
    )  # a later load of p5 with an earlier ts  # fmt: skip
    dbt.build(_config(world, more_vars=""))
    assert world.read("SELECT score FROM prediction_outcomes WHERE prediction_id = 'p5'") == [
        (0.2,)
    ]
    config = _config(world)
    dbt.build(config)
    assert world.read("SELECT score FROM prediction_outcomes WHERE prediction_id = 'p5'") == [
        (0.44,)
    ]
    _equals_full_rebuild(world, config)


@pytest.mark.slow
def test_a_load_stamped_like_the_newest_stored_one_is_seen(dbt_world) -> None:
    """The rest of a batch committed after the build, with the batch's stamp: seen
    even without a lookback."""
    world = dbt_world
    _stamped(world)
    config = _config(world, ARRIVAL_VARS + ", incremental_lookback_hours: 0")
    dbt.build(config)
    _arrive(world, T0 + timedelta(days=1),
            predictions=[("p7", "r7", T0, "fraud", "v1", "production", 0.5, False, "ES")])  # fmt: skip
    dbt.build(config)
    assert ("p7",) in world.read("SELECT prediction_id FROM prediction_outcomes")
    _equals_full_rebuild(world, config)


@pytest.mark.slow
def test_a_delivery_without_a_model_is_not_used(dbt_world) -> None:
    world = dbt_world
    _stamped(world)
    config = _config(world)
    dbt.build(config)
    _arrive(world, T0 + timedelta(days=2), predictions=[
        ("n1", "rn", T0, None, "v1", "production", 0.5, False, "ES"),
        ("p4", "r3", T0, None, "v1", "production", 0.66, False, "DE"),  # a model-less re-delivery
    ])  # fmt: skip
    dbt.build(config)
    rows = dict(world.read("SELECT prediction_id, score FROM prediction_outcomes"))
    assert "n1" not in rows and rows["p4"] == 0.1
    _equals_full_rebuild(world, config)


@pytest.mark.slow
def test_a_dropped_raw_column_leaves_the_marts_building_by_arrival(dbt_world) -> None:
    world = dbt_world
    _stamped(world)
    config = _config(world, models="fraud: {predictions: prediction_outcomes}")
    dbt.build(config)
    cascade = " CASCADE" if world.engine == "postgres" else ""  # the staging views use it
    world.write(f"ALTER TABLE raw_preds DROP COLUMN country{cascade}")
    for day in (2, 3):
        world.write(
            "INSERT INTO raw_preds VALUES (?, ?, ?, 'fraud', 'v1', 'production', 0.5, false, ?)",
            [(f"q{day}", f"rq{day}", T0, T0 + timedelta(days=day))],
        )
        dbt.build(config)
    assert _by_arrival(config)  # the first build after the drop compared every row
    columns = world.read(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'prediction_outcomes'"
    )
    assert ("country",) not in columns
    _equals_full_rebuild(world, config)


@pytest.mark.slow
def test_switching_the_feedback_load_time_on_keeps_its_type(dbt_world) -> None:
    world = dbt_world
    _stamped(world, stamp="TIMESTAMPTZ")
    dbt.build(_config(world, ", loaded_at_column: loaded_at"))
    config = _config(world)
    _arrive(world, T0 + timedelta(days=2), feedback=[(None, "r4", 1.0, T0 + timedelta(days=20))])
    dbt.build(config)
    (kind,) = world.read(
        "SELECT data_type FROM information_schema.columns "
        "WHERE table_name = 'prediction_outcomes' AND column_name = 'feedback_loaded_at'"
    )
    assert "zone" in kind[0].lower(), kind
    _equals_full_rebuild(world, config)


@pytest.mark.slow
def test_builds_from_two_time_zones_agree(dbt_world, monkeypatch) -> None:
    """Load times with a time zone are hashed as text: the builds run in UTC, so a
    daemon and a shell in different zones see the same rows."""
    world = dbt_world
    _stamped(world, stamp="TIMESTAMPTZ")
    config = _config(world)
    monkeypatch.setenv("TZ", "UTC")
    dbt.build(config)
    hashes = dict(world.read("SELECT prediction_id, row_hash FROM prediction_outcomes"))
    built = dict(world.read("SELECT prediction_id, built_at FROM prediction_outcomes"))
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    _arrive(world, T0 + timedelta(days=2),
            predictions=[("p7", "r7", T0, "fraud", "v1", "production", 0.5, False, "ES")])  # fmt: skip
    dbt.build(config)
    again = dict(world.read("SELECT prediction_id, row_hash FROM prediction_outcomes"))
    assert {k: again[k] for k in hashes} == hashes
    rebuilt = dict(world.read("SELECT prediction_id, built_at FROM prediction_outcomes"))
    assert rebuilt["p1"] == built["p1"]  # not rewritten
    _equals_full_rebuild(world, config)
