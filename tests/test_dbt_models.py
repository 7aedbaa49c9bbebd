"""The dbt project on hand-made raw rows: dedup, test traffic, first feedback,
label delay, maturity, shadow pairs, incremental rebuilds, and failures surfaced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from typer.testing import CliRunner

from monitor import dbt
from monitor.cli import app
from monitor.config import load_config
from monitor.errors import DbtError
from monitor.warehouse import connect
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


RAW_PREDICTIONS = (
    "prediction_id VARCHAR, request_id VARCHAR, ts TIMESTAMP, model_name VARCHAR, "
    "model_version VARCHAR, role VARCHAR, score DOUBLE PRECISION, is_test BOOLEAN, "
    "country VARCHAR"
)
RAW_FEEDBACK = (
    "prediction_id VARCHAR, request_id VARCHAR, label DOUBLE PRECISION, label_ts TIMESTAMP"
)


class World:
    """The raw tables on one engine (a DuckDB file, or a fresh PostgreSQL database) and
    a config whose dbt build targets it: every test here runs on both."""

    def __init__(self, engine: str, tmp_path, write_config, request) -> None:
        if engine == "duckdb":
            self.path = tmp_path / "wh.duckdb"
            warehouse = f"{{type: duckdb, path: {self.path}}}"
        else:
            server = request.getfixturevalue("postgres_server")
            self.url = server.create_database(f"dbt_{tmp_path.name[-40:]}".lower())
            warehouse = f"{{type: postgres, url: '{self.url}'}}"
        self.engine = engine
        self.warehouse = warehouse
        self.write_config = write_config
        self.load(PREDICTIONS, FEEDBACK)
        self.config = self.configure()

    def configure(self, more_vars: str = "", maturity: str = "14d", models: str | None = None):
        """A config building on this engine; `models` (flow-style YAML entries) replaces
        the one fraud model."""
        fraud = f"fraud: {{predictions: prediction_outcomes, slices: [country], label_maturity: {maturity}}}"
        self.config_path = self.write_config(
            f"""
                warehouse: {self.warehouse}
                dbt:
                  project_dir: {{repo}}/dbt_project
                  vars: {{predictions_table: raw_preds, feedback_table: raw_fb{more_vars}}}
                models: {{{models or fraud}}}
                """
        )
        return load_config(self.config_path)

    def write(self, sql: str, rows: list[tuple] = ()) -> None:
        """One statement, run once per row of `rows` (DuckDB's `?` placeholders)."""
        if self.engine == "duckdb":
            con = duckdb.connect(str(self.path))
            try:
                con.executemany(sql, rows) if rows else con.execute(sql)
            finally:
                con.close()
            return
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as con, con.cursor() as cur:
            pg_sql = sql.replace("?", "%s").encode()
            cur.executemany(pg_sql, rows) if rows else cur.execute(pg_sql)

    def read(self, sql: str) -> list[tuple]:
        if self.engine == "duckdb":
            return read_db(self.path, sql)
        import psycopg

        with psycopg.connect(self.url) as con:
            return con.execute(sql.encode()).fetchall()

    def load(self, predictions, feedback, drop_column: str | None = None) -> None:
        statements = [
            "DROP TABLE IF EXISTS raw_preds",
            f"CREATE TABLE raw_preds ({RAW_PREDICTIONS})",
            "DROP TABLE IF EXISTS raw_fb",
            f"CREATE TABLE raw_fb ({RAW_FEEDBACK})",
        ]
        if drop_column:
            statements.append(f"ALTER TABLE raw_preds DROP COLUMN {drop_column}")
            predictions = []
        rows = [("raw_preds", predictions, 9), ("raw_fb", feedback, 4)]
        if self.engine == "duckdb":
            con = duckdb.connect(str(self.path))
            for statement in statements:
                con.execute(statement)
            for table, values, n in rows:
                if values:
                    con.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * n)})", values)
            con.close()
            return
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as con:
            for statement in statements:  # dbt recreates the staging views that read them
                cascade = " CASCADE" if statement.startswith("DROP") else ""
                con.execute((statement + cascade).encode())
            for table, values, n in rows:
                if values:
                    with con.cursor() as cur:
                        cur.executemany(
                            f"INSERT INTO {table} VALUES ({', '.join(['%s'] * n)})".encode(),
                            values,
                        )


@pytest.fixture(params=["duckdb", "postgres"])
def dbt_world(request, write_config, tmp_path) -> World:
    return World(request.param, tmp_path, write_config, request)


@pytest.mark.slow
def test_models_dedupe_filter_join_and_pair(dbt_world) -> None:
    world = dbt_world
    dbt.build(world.config)

    assert world.read("SELECT prediction_id, score, role FROM stg_predictions ORDER BY 1") == [
        ("p1", 0.8, "production"),
        ("p2", 0.7, "shadow"),
        ("p4", 0.1, "production"),
        ("p5", 0.2, "shadow"),
        ("p6", 0.3, "production"),
    ]
    assert world.read("SELECT count(*) FROM stg_feedback") == [
        (4,)
    ]  # the exact re-delivery is gone

    outcomes = {
        r[0]: r[1:]
        for r in world.read(
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

    pairs = world.read(
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
    world = dbt_world
    dbt.build(world.config)
    built_before = dict(world.read("SELECT prediction_id, built_at FROM prediction_outcomes"))
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
    world.load(changed, more_feedback)
    dbt.build(world.config)
    rows = {
        r[0]: r[1:]
        for r in world.read("SELECT prediction_id, label, score FROM prediction_outcomes")
    }
    assert rows == {
        "p1": (1.0, 0.8),
        "p4": (0.0, 0.55),  # the corrected score replaced the stored one
        "p5": (1.0, 0.2),  # the late label arrived
        "p6": (None, 0.3),
        "p7": (None, 0.5),
    }  # p2 is gone: it left stg_predictions as test traffic
    rebuilt = dict(world.read("SELECT prediction_id, built_at FROM prediction_outcomes"))
    # Unchanged rows were not rewritten; changed ones were.
    assert rebuilt["p1"] == built_before["p1"] and rebuilt["p6"] == built_before["p6"]
    assert rebuilt["p4"] > built_before["p4"] and rebuilt["p5"] > built_before["p5"]


@pytest.mark.slow
def test_build_time_is_utc(dbt_world, monkeypatch) -> None:
    world = dbt_world
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # a local clock 9 hours ahead of UTC
    before = datetime.now(UTC).replace(tzinfo=None)
    dbt.build(world.config)
    after = datetime.now(UTC).replace(tzinfo=None)
    (built,) = world.read("SELECT DISTINCT built_at FROM prediction_outcomes")
    assert before - timedelta(seconds=5) <= built[0] <= after + timedelta(seconds=5)


@pytest.mark.slow
def test_dbt_failure_carries_dbts_message(dbt_world) -> None:
    config = dbt_world.config
    broken = config.model_copy(
        update={
            "dbt": config.dbt.model_copy(update={"vars": {"predictions_table": "no_such_table"}})
        }
    )
    with pytest.raises(
        DbtError,
        match=r"dbt build failed: .*raw table no_such_table not found in \w+\.(main|public) "
        r"\(the dbt var predictions_table, set from alerts\.yaml dbt\.vars\)",
    ):
        dbt.build(broken)


@pytest.mark.slow
def test_raw_table_without_a_required_column_is_named(dbt_world) -> None:
    dbt_world.load(PREDICTIONS, FEEDBACK, drop_column="role")
    with pytest.raises(DbtError, match=r"raw table \S*raw_preds\S* lacks the column\(s\) role "):
        dbt.build(dbt_world.config)


def test_bundled_profile_names_the_engines_it_builds_on(write_config, tmp_path) -> None:
    config = load_config(
        write_config(
            f"""
            warehouse: {{type: spark}}
            state: {{database: {{type: duckdb, path: {tmp_path}/state.duckdb}}}}
            dbt: {{project_dir: {{repo}}/dbt_project}}
            models: {{fraud: {{}}}}
            """
        )
    )
    with pytest.raises(
        DbtError, match=r"outputs for duckdb and postgres, not spark \(warehouse.type\): set dbt\."
    ):
        dbt.build(config)


ARRIVAL_VARS = ", loaded_at_column: loaded_at, feedback_loaded_at_column: loaded_at"
MARTS = {
    # mart: (key, the build's own columns, which a full refresh writes anew)
    "prediction_outcomes": ("prediction_id", {"built_at"}),
    "shadow_pairs": ("model_name, request_id", {"outcomes_built_at"}),
}


def _arrive(world: World, loaded_at: datetime, predictions=(), feedback=()) -> None:
    """Append a load to the raw logs, every row stamped `loaded_at`."""
    if predictions:
        world.write(
            f"INSERT INTO raw_preds VALUES ({', '.join('?' * 10)})",
            [(*row, loaded_at) for row in predictions],
        )
    if feedback:
        world.write(
            "INSERT INTO raw_fb VALUES (?, ?, ?, ?, ?)", [(*r, loaded_at) for r in feedback]
        )


def _marts(world: World) -> dict[str, list[dict]]:
    marts = {}
    for name, (key, own) in MARTS.items():
        columns = [c for (c,) in world.read(
            f"SELECT column_name FROM information_schema.columns WHERE table_name = '{name}'"
            " ORDER BY ordinal_position")]  # fmt: skip
        kept = [c for c in columns if c not in own]
        rows = world.read(f"SELECT {', '.join(kept)} FROM {name} ORDER BY {key}")
        marts[name] = [dict(zip(kept, row, strict=True)) for row in rows]
    return marts


@pytest.mark.slow
@pytest.mark.parametrize("stamp", ["TIMESTAMP", "TIMESTAMPTZ"])
def test_incremental_build_by_arrival_equals_a_full_rebuild(dbt_world, stamp) -> None:
    """With ingestion times on both logs, each build looks only at what arrived since
    the last one. Three loads of every kind of change (new, corrected, turned test
    traffic, moved to another request, committed late; late, earlier, orphan and
    re-delivered feedback; a changed label maturity) leave both marts row for row as a
    full rebuild of the same logs writes them, with load times with or without a time
    zone."""
    world = dbt_world
    world.write(f"ALTER TABLE raw_preds ADD COLUMN loaded_at {stamp}")
    world.write(f"ALTER TABLE raw_fb ADD COLUMN loaded_at {stamp}")
    world.write("UPDATE raw_preds SET loaded_at = ?", [(T0 + timedelta(days=1),)])
    world.write("UPDATE raw_fb SET loaded_at = ?", [(T0 + timedelta(days=1),)])
    config = world.configure(ARRIVAL_VARS)
    dbt.build(config)
    built_first = dict(world.read("SELECT prediction_id, built_at FROM prediction_outcomes"))

    day2 = T0 + timedelta(days=2)
    _arrive(
        world,
        day2,
        predictions=[
            ("p7", "r7", T0 + timedelta(days=1), "fraud", "v1", "production", 0.5, False, "ES"),
            ("p4", "r3", T0 + timedelta(minutes=9), "fraud", "v1", "production", 0.55, False, "DE"),
            ("p2", "r1", T0 + timedelta(minutes=9), "fraud", "v2", "shadow", 0.7, True, "FR"),
            ("p9", "r9", T0, "fraud", "v1", "production", 0.4, False, "IT"),
            ("p10", "r9", T0, "fraud", "v2", "shadow", 0.45, False, "IT"),
        ],
        feedback=[
            (None, "r4", 1.0, T0 + timedelta(days=20)),  # late label for p5
            ("p8", None, 1.0, T0 + timedelta(days=1)),  # for a prediction not logged yet
            ("p4", None, 0.0, T0 + timedelta(days=1)),  # re-delivered
        ],
    )
    dbt.build(config)
    compiled = dbt.work_dir(config) / "target" / "compiled"
    run_sql = next(compiled.rglob("prediction_outcomes.sql"))
    assert "arrived_feedback as" in run_sql.read_text(), "the build compared every prediction"
    built = dict(world.read("SELECT prediction_id, built_at FROM prediction_outcomes"))
    assert built["p1"] == built_first["p1"] and built["p6"] == built_first["p6"]  # untouched
    assert built["p4"] > built_first["p4"] and built["p5"] > built_first["p5"]
    assert "p2" not in built  # now test traffic

    _arrive(
        world,
        T0 + timedelta(days=3),
        predictions=[
            ("p8", "r8", T0, "fraud", "v1", "production", 0.8, False, "ES"),
            ("p10", "r10", T0, "fraud", "v2", "shadow", 0.45, False, "IT"),  # moved request
            ("p9", "r9", T0, "fraud", "v1", "production", 0.4, True, "IT"),  # now test traffic
        ],
        feedback=[("p1", None, 0.0, T0 + timedelta(days=1))],  # earlier than r1's outcome
    )
    # A load that committed after the last build but was stamped just before it.
    _arrive(
        world,
        day2 - timedelta(minutes=30),
        predictions=[("p11", "r11", T0, "fraud", "v1", "production", 0.6, False, "FR")],
    )
    config = world.configure(ARRIVAL_VARS, maturity="1h")  # every matures_at changes
    dbt.build(config)

    incremental = _marts(world)
    outcomes = {r["prediction_id"]: r for r in incremental["prediction_outcomes"]}
    assert set(outcomes) == {"p1", "p4", "p5", "p6", "p7", "p8", "p10", "p11"}
    assert (outcomes["p1"]["label"], outcomes["p8"]["label"]) == (0.0, 1.0)
    assert outcomes["p6"]["is_mature"] is True and outcomes["p4"]["score"] == 0.55
    pairs = {r["request_id"]: (r["has_production"], r["has_shadow"])
             for r in incremental["shadow_pairs"]}  # fmt: skip
    assert pairs == {
        "r1": (True, False), "r3": (True, False), "r4": (False, True), "r6": (True, False),
        "r7": (True, False), "r8": (True, False), "r10": (False, True), "r11": (True, False),
    }  # fmt: skip

    dbt.build(config, full_refresh=True)
    assert incremental == _marts(world)


@pytest.mark.slow
def test_a_deleted_raw_row_needs_a_full_refresh(dbt_world) -> None:
    """Building by arrival cannot see a row deleted from a raw log; `--full-refresh`
    on run (or backfill) rebuilds the marts from the logs, and says so when it cannot."""
    world = dbt_world
    world.write("ALTER TABLE raw_preds ADD COLUMN loaded_at TIMESTAMP")
    world.write("ALTER TABLE raw_fb ADD COLUMN loaded_at TIMESTAMP")
    world.write("UPDATE raw_preds SET loaded_at = ?", [(T0,)])
    world.write("UPDATE raw_fb SET loaded_at = ?", [(T0,)])
    config = world.configure(ARRIVAL_VARS)
    dbt.build(config)
    world.write("DELETE FROM raw_preds WHERE prediction_id = 'p4'")
    dbt.build(config)
    ids = "SELECT prediction_id FROM prediction_outcomes ORDER BY 1"
    assert ("p4",) in world.read(ids)  # by arrival: unseen

    runner = CliRunner()
    args = ["run", "--config", str(world.config_path), "--at", "2026-09-02T00:00:00Z"]
    refused = runner.invoke(app, [*args, "--full-refresh", "--no-build"])
    assert refused.exit_code != 0
    assert "cannot go with --no-build" in str(refused.exception or refused.output)
    done = runner.invoke(app, [*args, "--full-refresh"])
    assert done.exit_code == 0, done.output
    assert ("p4",) not in world.read(ids)
    assert ("p1",) in world.read(ids)


@pytest.mark.slow
def test_a_model_name_with_a_quote_builds(dbt_world) -> None:
    """A model named o'brien in alerts.yaml (and in the logs): its label maturity reaches
    the mart as text, quotes doubled, and the build works (it broke every build when
    the name was pasted between quotes as it is)."""
    world = dbt_world
    row = ("q1", "rq", T0, "o'brien", "v1", "production", 0.5, False, "FR")
    world.load([row], [])
    models = '"o\'brien": {predictions: prediction_outcomes, label_maturity: 2d}'
    config = world.configure(models=models)
    dbt.build(config)
    ((model, delay),) = world.read(
        "SELECT model_name, matures_at - ts FROM prediction_outcomes WHERE prediction_id = 'q1'"
    )
    assert model == "o'brien" and delay == timedelta(days=2)


@pytest.mark.slow
def test_zoned_prediction_times_land_in_utc_whatever_the_hosts_zone(dbt_world, monkeypatch) -> None:
    """raw ts as TIMESTAMPTZ and the host in New York (UTC−4 in September): a
    prediction made at 15:29 UTC is at 15:29 in the marts, not 11:29, so every window
    is where its name says."""
    world = dbt_world
    world.write(
        "ALTER TABLE raw_preds ALTER COLUMN ts TYPE TIMESTAMPTZ USING ts AT TIME ZONE 'UTC'"
    )
    zoned = "2026-09-01 15:29:00+00"
    world.write(
        "INSERT INTO raw_preds VALUES ('tz1', 'rtz', CAST(? AS TIMESTAMPTZ), 'fraud', 'v1', "
        "'production', 0.5, false, 'FR')",
        [(zoned,)],
    )
    monkeypatch.setenv("TZ", "America/New_York")
    dbt.build(world.config)
    ((ts,),) = world.read("SELECT ts FROM prediction_outcomes WHERE prediction_id = 'tz1'")
    assert ts.replace(tzinfo=None) == datetime(2026, 9, 1, 15, 29)


@pytest.mark.slow
def test_the_runners_sessions_are_in_utc(dbt_world, monkeypatch) -> None:
    """The checks' own sessions pin UTC too: with PGTZ (libpq's client zone) and TZ in
    New York, a TIMESTAMPTZ read as a timestamp is still the UTC one."""
    monkeypatch.setenv("PGTZ", "America/New_York")
    monkeypatch.setenv("TZ", "America/New_York")
    with connect(dbt_world.config.warehouse) as wh:
        ((value,),) = [
            tuple(r.values())
            for r in wh.execute(
                "SELECT CAST(CAST('2026-09-01 15:29:00+00' AS TIMESTAMPTZ) AS TIMESTAMP) AS t"
            )
        ]
    assert value.replace(tzinfo=None) == datetime(2026, 9, 1, 15, 29)
