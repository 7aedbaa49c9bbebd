"""Dialect rewrites that can be checked for meaning on DuckDB itself: the rewritten
tree, written back as DuckDB SQL, must give what the original gives."""

from __future__ import annotations

import duckdb
import sqlglot

from monitor.dialects import prepare

ROWS = "(VALUES (1, 3.0, 'a'), (2, NULL, 'b'), (3, 1.0, 'a'), (4, NULL, 'a'), (5, 2.0, 'b'))"


def test_bigquery_null_order_keys_keep_duckdbs_null_placement() -> None:
    sql = (
        "SELECT id, LIST(id ORDER BY k) OVER () AS asc_list, "
        "SUM(id) OVER (ORDER BY k ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run, "
        "SUM(id) OVER (ORDER BY k DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS drun, "
        "LIST(id ORDER BY k DESC NULLS FIRST) OVER () AS first_desc "
        f"FROM {ROWS} AS t(id, k, g) ORDER BY id"
    )
    rewritten = prepare(sqlglot.parse_one(sql, read="duckdb"), "bigquery")
    assert "IS NULL" in rewritten.sql("bigquery")  # the rule fired
    assert "NULLS LAST" not in rewritten.sql("bigquery").split("ORDER BY id")[0]
    con = duckdb.connect()
    assert con.sql(rewritten.sql("duckdb")).fetchall() == con.sql(sql).fetchall()
    # NULLs come last ascending, as DuckDB puts them: ids 2 and 4 (k NULL) at the end.
    assert con.sql(sql).fetchall()[0][1][-2:] == [2, 4]
