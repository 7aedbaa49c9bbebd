"""Rewrites sqlglot needs to write a DuckDB-dialect check correctly for another engine.

sqlglot transpiles most of a check faithfully. Where it produces SQL that runs but
means something else, or does not run at all, the parsed tree is rewritten here before
generation, one named rule per quirk. The parity suite (tests/test_parity.py) runs
every built-in check on DuckDB, PostgreSQL and Spark and holds the numbers equal;
docs/engines.md lists these rules.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp
from sqlglot.errors import UnsupportedError

Rewrite = Callable[[exp.Expr, str], exp.Expr]
SPARK_LIKE = ("spark", "databricks")


def _log_base_10(node: exp.Expr, dialect: str) -> exp.Expr:
    """DuckDB's one-argument LOG is base 10; Spark, Databricks and others read LOG(x)
    as the natural log. Write the base out."""
    if isinstance(node, exp.Log) and node.expression is None:
        return exp.Log(this=exp.Literal.number(10), expression=node.this)
    return node


def _isfinite(node: exp.Expr, dialect: str) -> exp.Expr:
    """DuckDB's isfinite(double) has no PostgreSQL or Spark counterpart (PostgreSQL's
    isfinite takes dates). NaN equals NaN on PostgreSQL, Spark and Snowflake, so NOT IN
    the three non-finite values is exact there; BigQuery and Trino have functions."""
    if not (isinstance(node, exp.Anonymous) and str(node.this).lower() == "isfinite"):
        return node
    (arg,) = node.expressions
    if dialect == "trino":
        return exp.Anonymous(this="IS_FINITE", expressions=[arg])
    if dialect == "bigquery":
        return exp.and_(
            exp.not_(exp.Anonymous(this="IS_INF", expressions=[arg.copy()])),
            exp.not_(exp.Anonymous(this="IS_NAN", expressions=[arg.copy()])),
        )
    # Snowflake spells the special values 'inf' and '-inf'.
    names = ("inf", "-inf", "NaN") if dialect == "snowflake" else ("Infinity", "-Infinity", "NaN")
    specials = [exp.cast(exp.Literal.string(v), "DOUBLE") for v in names]
    return exp.Paren(this=exp.not_(exp.In(this=arg, expressions=specials)))


def _json_object(node: exp.Expr, dialect: str) -> exp.Expr:
    """JSON_OBJECT(k, v, ...) as JSON text: PostgreSQL 15 and Spark lack the SQL/JSON
    constructor sqlglot writes. Keys with NULL values are kept, as DuckDB keeps them."""
    if not isinstance(node, exp.JSONObject):
        return node
    pairs: list[exp.Expr] = []
    for kv in node.expressions:
        pairs += [kv.this, kv.expression]
    if dialect == "postgres":
        built = exp.Anonymous(this="JSON_BUILD_OBJECT", expressions=pairs)
        return exp.cast(built, "TEXT")
    if dialect in SPARK_LIKE:
        options = exp.Anonymous(
            this="MAP",
            expressions=[exp.Literal.string("ignoreNullFields"), exp.Literal.string("false")],
        )
        struct = exp.Anonymous(this="NAMED_STRUCT", expressions=pairs)
        return exp.Anonymous(this="TO_JSON", expressions=[struct, options])
    if dialect == "snowflake":
        built = exp.Anonymous(this="OBJECT_CONSTRUCT_KEEP_NULL", expressions=pairs)
        return exp.Anonymous(this="TO_JSON", expressions=[built])
    if dialect == "bigquery":
        built = exp.Anonymous(this="JSON_OBJECT", expressions=pairs)
        return exp.Anonymous(this="TO_JSON_STRING", expressions=[built])
    return node  # DuckDB; Trino's JSON_OBJECT(k: v) is the standard one sqlglot writes


def _ordered_list(node: exp.Expr, dialect: str) -> exp.Expr:
    """LIST(x ORDER BY k) becomes COLLECT_LIST on Spark, which drops the ORDER BY (the
    order is then whatever the shuffle gives). Sort (k, x) structs, then keep x."""
    if dialect not in SPARK_LIKE or not isinstance(node, exp.ArrayAgg):
        return node
    if not isinstance(node.this, exp.Order):
        return node
    order = node.this
    keys = order.expressions
    if any(k.args.get("desc") for k in keys):
        raise UnsupportedError("LIST(... ORDER BY ... DESC) cannot be written for Spark")
    fields: list[exp.Expr] = []
    for i, key in enumerate(keys):
        fields += [exp.Literal.string(f"k{i}"), key.this]
    fields += [exp.Literal.string("v"), order.this]
    collected = exp.Anonymous(
        this="COLLECT_LIST", expressions=[exp.Anonymous(this="NAMED_STRUCT", expressions=fields)]
    )
    sorted_ = exp.Anonymous(this="ARRAY_SORT", expressions=[collected])
    lam = exp.Lambda(this=exp.Dot(this=exp.column("e"), expression=exp.to_identifier("v")),
                     expressions=[exp.to_identifier("e")])  # fmt: skip
    return exp.Anonymous(this="TRANSFORM", expressions=[sorted_, lam])


def _exact_percentile(node: exp.Expr, dialect: str) -> exp.Expr:
    """QUANTILE_CONT is exact in DuckDB; sqlglot writes Spark's PERCENTILE_CONT in a form
    Spark rejects, and others as approximations. Spark's PERCENTILE is exact and
    interpolates as QUANTILE_CONT does."""
    if not isinstance(node, exp.PercentileCont) or node.expression is None:
        return node
    if dialect in SPARK_LIKE:
        return exp.Anonymous(this="PERCENTILE", expressions=[node.this, node.expression])
    if dialect == "trino":
        raise UnsupportedError("Trino has no exact QUANTILE_CONT (only approx_percentile)")
    return node


def _double_literals(node: exp.Expr, dialect: str) -> exp.Expr:
    """A literal like 1.0 or 0.5 is DECIMAL in Spark, and Spark's decimal division
    rounds to 6 places (DuckDB divides decimals in DOUBLE). Make such literals DOUBLE."""
    if dialect not in SPARK_LIKE or not isinstance(node, exp.Literal) or node.is_string:
        return node
    text = node.name
    if "." in text and "e" not in text.lower():
        return exp.cast(node.copy(), "DOUBLE")
    return node


def _null_order_keys(node: exp.Expr, dialect: str) -> exp.Expr:
    """DuckDB sorts NULLs last both ways; BigQuery sorts them first ascending and has no
    NULLS LAST in window or aggregate ORDER BYs (sqlglot refuses to write it). Sort on
    `k IS NULL` first, then on k: the same order, in a form BigQuery accepts."""
    if dialect != "bigquery" or not isinstance(node, exp.Order):
        return node
    if not isinstance(
        node.find_ancestor(exp.Window, exp.AggFunc, exp.Select), exp.Window | exp.AggFunc
    ):
        return node  # a query's own ORDER BY takes NULLS LAST
    keys: list[exp.Expr] = []
    for key in node.expressions:
        desc = bool(key.args.get("desc"))
        nulls_first = bool(key.args.get("nulls_first"))
        if not isinstance(key, exp.Ordered) or desc != nulls_first:
            keys.append(key)  # already BigQuery's default for its direction
            continue
        # BigQuery's defaults (NULLs first ascending, last descending) need no clause.
        is_null = exp.case().when(exp.Is(this=key.this.copy(), expression=exp.null()),
                                  exp.Literal.number(1)).else_(exp.Literal.number(0))  # fmt: skip
        keys.append(exp.Ordered(this=is_null, desc=desc, nulls_first=not desc))
        keys.append(exp.Ordered(this=key.this.copy(), desc=desc, nulls_first=not desc))
    node.set("expressions", keys)
    return node


def _materialization_hint(node: exp.Expr, dialect: str) -> exp.Expr:
    """`WITH x AS NOT MATERIALIZED (...)` tells DuckDB (which otherwise materializes a
    CTE read twice) and PostgreSQL to let each reader scan it itself; other engines
    have no such clause (sqlglot writes it anyway) and inline CTEs on their own."""
    if dialect != "postgres" and isinstance(node, exp.CTE) and "materialized" in node.args:
        node.set("materialized", None)
    return node


REWRITES: tuple[Rewrite, ...] = (
    _double_literals,
    _log_base_10,
    _isfinite,
    _json_object,
    _ordered_list,
    _exact_percentile,
    _null_order_keys,
    _materialization_hint,
)


def prepare(tree: exp.Expr, dialect: str) -> exp.Expr:
    """The tree to generate `dialect` SQL from (DuckDB's own needs no rewrite)."""
    if dialect == "duckdb":
        return tree
    out = tree.copy()
    for rewrite in REWRITES:
        out = out.transform(lambda n, r=rewrite: r(n, dialect), copy=False)  # type: ignore[misc]
    return out
