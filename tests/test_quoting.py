"""Names and values from config or data can never break or inject into the SQL."""

from __future__ import annotations

from datetime import UTC

import duckdb
import pytest
import sqlglot

from monitor import sqltext
from tests.conftest import metric_map

NASTY = [
    'a"b',
    "x'); DROP TABLE victims; --",
    'col"; DROP TABLE victims; --',
    "prénom ü 日本 🙂",
    "semi;colon",
    "back\\slash",
    "new\nline",
    "'",
    '"',
]


@pytest.mark.parametrize("name", NASTY)
def test_identifier_round_trips_through_duckdb(tmp_path, name: str) -> None:
    con = duckdb.connect(str(tmp_path / "q.duckdb"))
    con.execute("CREATE TABLE victims (id INT)")
    con.execute(f"CREATE TABLE t ({sqltext.ident(name)} VARCHAR)")
    con.execute(f"INSERT INTO t VALUES ({sqltext.literal(name)})")
    # The column is named exactly `name` and holds exactly `name`.
    assert [d[0] for d in con.execute("SELECT * FROM t").description] == [name]
    assert con.execute(
        f"SELECT {sqltext.ident(name)} FROM t WHERE {sqltext.ident(name)} = {sqltext.literal(name)}"
    ).fetchall() == [(name,)]
    assert con.execute("SELECT count(*) FROM victims").fetchone() == (0,)  # still there


@pytest.mark.parametrize("value", NASTY)
@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "spark", "snowflake", "bigquery"])
def test_literal_survives_transpiling(value: str, dialect: str) -> None:
    sql = f"SELECT {sqltext.literal(value)} AS v, {sqltext.ident(value)} FROM t"
    out = sqlglot.transpile(sql, read="duckdb", write=dialect)[0]
    tree = sqlglot.parse_one(out, read=dialect)
    assert tree.selects[0].this.this == value  # the same single string literal
    assert tree.selects[1].name == value  # the same single identifier
    assert len(sqlglot.parse(out, read=dialect)) == 1  # one statement, nothing appended


def test_literal_types() -> None:
    from datetime import date, datetime

    assert sqltext.literal(None) == "NULL" and sqltext.literal(True) == "TRUE"
    assert sqltext.literal(3) == "3" and sqltext.literal(0.25) == "0.25"
    assert (
        sqltext.literal(datetime(2026, 9, 1, 12, tzinfo=UTC))
        == "TIMESTAMP '2026-09-01 12:00:00.000000'"
    )
    assert sqltext.literal(date(2026, 9, 1)) == "DATE '2026-09-01'"
    assert sqltext.table("analytics.preds") == '"analytics"."preds"'
    for bad in (float("nan"), float("inf"), object()):
        with pytest.raises(ValueError):
            sqltext.literal(bad)
    with pytest.raises(ValueError):
        sqltext.ident("")


def test_hostile_slice_values_and_column_names_in_a_real_check(world) -> None:
    """A slice value with quotes/semicolons and a feature named like an attack."""
    col = 'amount"; DROP TABLE preds; --'
    evil = "O'Brien\"; DROP TABLE preds; --"
    world.load(
        {col: [1.0, 2.0, 3.0, 4.0], "country": [evil, evil, "日本", "日本"]},
        {col: [2.0, 3.0, 4.0, 5.0], "country": [evil, evil, "日本", "日本"]},
    )
    (result,) = world.run(
        [
            {
                "name": "d",
                "check": "numeric_drift",
                "params": {"columns": [col], "by": [["country"]]},
            }
        ],
    )
    got = metric_map(result)
    assert {k[0] for k in got} == {"all", f"country={evil}", "country=日本"}
    assert {k[1] for k in got} == {col}
    con = duckdb.connect(str(world.db), read_only=True)
    assert con.execute("SELECT count(*) FROM preds").fetchone() == (8,)
    stored = con.execute("SELECT DISTINCT segment FROM monitor.metrics ORDER BY 1").fetchall()
    assert (f"country={evil}",) in stored


def test_inserted_rows_keep_their_values_and_types(tmp_path) -> None:
    """insert_rows writes through Arrow in one statement: NULL-only columns, booleans,
    naive UTC times, numbers given as ints into a DOUBLE column, a hostile column name,
    and a text column given a number (Arrow cannot type it, so those rows go one by one)
    all land as executemany would have written them."""
    from datetime import datetime

    from monitor.config import DuckDBWarehouse as DuckDBConfig
    from monitor.warehouse.duckdb import DuckDBWarehouse

    name = NASTY[2]
    wh = DuckDBWarehouse(DuckDBConfig(type="duckdb", path=tmp_path / "w.duckdb"))
    try:
        wh.execute(
            f"CREATE TABLE t (s VARCHAR, x DOUBLE, n BIGINT, b BOOLEAN, ts TIMESTAMP, "
            f"{sqltext.ident(name)} VARCHAR)"
        )
        at = datetime(2026, 9, 8, 6, 30, 1, 250)
        rows = [["a", 1, None, True, at, "q'"], ["b", 2.5, 7, None, None, None]]
        wh.insert_rows("t", ["s", "x", "n", "b", "ts", name], rows)
        wh.insert_rows("t", ["s", "x"], [["c", 1.0], [4, 2.0]])  # a number into VARCHAR
        got = wh.execute(f"SELECT s, x, n, b, ts, {sqltext.ident(name)} AS q FROM t ORDER BY s")
    finally:
        wh.close()
    assert [tuple(r.values()) for r in got] == [
        ("4", 2.0, None, None, None, None),
        ("a", 1.0, None, True, at, "q'"),
        ("b", 2.5, 7, None, None, None),
        ("c", 1.0, None, None, None, None),
    ]


def test_a_failed_insert_in_a_transaction_reports_its_own_error(tmp_path) -> None:
    """The run's transaction aborts with the INSERT; the error says why (not that the
    transaction is aborted), and the next transaction writes normally."""
    from monitor.config import DuckDBWarehouse as DuckDBConfig
    from monitor.errors import WarehouseError
    from monitor.warehouse.duckdb import DuckDBWarehouse

    wh = DuckDBWarehouse(DuckDBConfig(type="duckdb", path=tmp_path / "w.duckdb"))
    try:
        wh.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, s VARCHAR NOT NULL)")
        wh.insert_rows("t", ["k", "s"], [[1, "a"]])
        with pytest.raises(WarehouseError, match="Duplicate key"), wh.transaction():
            wh.insert_rows("t", ["k", "s"], [[1, "again"]])
        with wh.transaction():
            wh.insert_rows("t", ["k", "s"], [[2, "b"]])
        assert wh.execute("SELECT k, s FROM t ORDER BY k") == [
            {"k": 1, "s": "a"},
            {"k": 2, "s": "b"},
        ]
    finally:
        wh.close()
