"""The run tables' DDL: `runs`, `metrics`, `bin_specs`, `run_ledger`; and
`state_tables`, the list of every state table a store ever created.

One place for their columns and types (docs/data-model.md describes them for
readers). `CREATE ... IF NOT EXISTS` and `ADD COLUMN IF NOT EXISTS` make opening a
store idempotent and migrate an older one in place. Times are naive UTC TIMESTAMPs.
The alert tables are monitor/alerts/persistence.py's.
"""

from __future__ import annotations

import functools

import sqlglot
from sqlglot import exp

from monitor import sqltext
from monitor.checks import RESULT_COLUMNS

RUN_COLUMNS = (
    "run_id", "monitor", "window_start", "window_end", "started_at", "finished_at",
    "status", "error", "trigger", "row_count", "run_at",
)  # fmt: skip
# Every check row, plus where it came from and what the rules made of it.
METRIC_COLUMNS = (
    "run_id", "monitor", "check", "model", "window_start", "window_end",
    *RESULT_COLUMNS, "q_value", "threshold", "status",
)  # fmt: skip
BIN_SPEC_COLUMNS = (
    "monitor", "spec_key", "segment", "feature", "kind", "spec", "baseline_size",
    "fitted_window_start", "fitted_window_end", "created_at",
)  # fmt: skip


def run_tables(schema: str) -> list[str]:
    s = sqltext.ident(schema)
    return [
        f"CREATE SCHEMA IF NOT EXISTS {s}",
        f"""CREATE TABLE IF NOT EXISTS {s}.runs (
            run_id VARCHAR PRIMARY KEY,
            monitor VARCHAR NOT NULL,
            window_start TIMESTAMP NOT NULL,
            window_end TIMESTAMP NOT NULL,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            status VARCHAR NOT NULL,      -- ok | error | no_data
            error VARCHAR,
            "trigger" VARCHAR NOT NULL,   -- schedule | manual | backfill
            row_count BIGINT,
            run_at TIMESTAMP              -- the run's time T (what matured by then counts)
        )""",
        f"""CREATE TABLE IF NOT EXISTS {s}.metrics (
            run_id VARCHAR NOT NULL,
            monitor VARCHAR NOT NULL,
            "check" VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            window_start TIMESTAMP NOT NULL,
            window_end TIMESTAMP NOT NULL,
            segment VARCHAR NOT NULL,
            feature VARCHAR NOT NULL,
            metric VARCHAR NOT NULL,
            value DOUBLE,
            sample_size BIGINT,
            baseline_value DOUBLE,
            baseline_size BIGINT,
            p_value DOUBLE,
            q_value DOUBLE,
            threshold DOUBLE,
            status VARCHAR NOT NULL,      -- ok | warn | alert | no_data
            reason VARCHAR
        )""",
        # Columns added after the first release: an older store gains them in place.
        f"ALTER TABLE {s}.metrics ADD COLUMN IF NOT EXISTS test VARCHAR",
        f"ALTER TABLE {s}.metrics ADD COLUMN IF NOT EXISTS dof BIGINT",
        f"ALTER TABLE {s}.metrics ADD COLUMN IF NOT EXISTS histogram VARCHAR",
        f"ALTER TABLE {s}.metrics ADD COLUMN IF NOT EXISTS detail VARCHAR",
        f"ALTER TABLE {s}.metrics ADD COLUMN IF NOT EXISTS statistic DOUBLE",
        f"ALTER TABLE {s}.runs ADD COLUMN IF NOT EXISTS run_at TIMESTAMP",
        f"""CREATE TABLE IF NOT EXISTS {s}.bin_specs (
            monitor VARCHAR NOT NULL,
            spec_key VARCHAR NOT NULL,    -- hash of the binning settings (check, params, baseline)
            segment VARCHAR NOT NULL,
            feature VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,        -- quantile | top_k | a fit method (pca)
            spec VARCHAR NOT NULL,        -- JSON: the edges or categories in bin order; a fit's object
            baseline_size BIGINT,
            fitted_window_start TIMESTAMP NOT NULL,
            fitted_window_end TIMESTAMP NOT NULL,
            created_at TIMESTAMP NOT NULL,
            PRIMARY KEY (monitor, spec_key, segment, feature)
        )""",
        # Scheduled windows: claimed, done or aborted (monitor/ledger.py). The key makes
        # two daemons, or cron beside a daemon, unable to run one window twice.
        f"""CREATE TABLE IF NOT EXISTS {s}.run_ledger (
            monitor VARCHAR NOT NULL,
            window_start TIMESTAMP NOT NULL,
            window_end TIMESTAMP NOT NULL,
            fire_time TIMESTAMP NOT NULL, -- the scheduled T that produced the window
            status VARCHAR NOT NULL,      -- running | done | aborted
            "trigger" VARCHAR NOT NULL,   -- schedule | backfill
            owner VARCHAR NOT NULL,       -- host:pid:token of the process that claimed it
            attempts INTEGER NOT NULL,
            claimed_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            run_id VARCHAR,
            run_status VARCHAR,           -- ok | error | no_data of its recorded run
            note VARCHAR,
            PRIMARY KEY (monitor, window_start, window_end)
        )""",
    ]


def state_tables_ddl(schema: str) -> list[str]:
    """The list of every state table the store ever created: a table on it that is
    gone was dropped, not never made (StateStore.ensure_tables)."""
    s = sqltext.ident(schema)
    return [
        f"CREATE SCHEMA IF NOT EXISTS {s}",
        f"CREATE TABLE IF NOT EXISTS {s}.state_tables ("
        "table_name VARCHAR PRIMARY KEY, created_at TIMESTAMP NOT NULL)",
    ]


@functools.lru_cache(maxsize=16)
def created_tables(statements: tuple[str, ...]) -> dict[str, list[str]]:
    """The tables a group's DDL creates, each with every column its CREATE TABLE and
    later ADD COLUMNs give (read from the DDL itself, so the two cannot drift; parsed
    once per DDL, not at every open)."""
    tables: dict[str, list[str]] = {}
    for statement in statements:
        tree = sqlglot.parse_one(statement, read="duckdb")
        if isinstance(tree, exp.Create) and tree.args.get("kind") == "TABLE":
            schema = tree.this
            tables[schema.this.name] = [
                c.name for c in schema.expressions if isinstance(c, exp.ColumnDef)
            ]
        elif isinstance(tree, exp.Alter):
            for action in tree.args.get("actions") or []:
                if isinstance(action, exp.ColumnDef) and action.name not in tables[tree.this.name]:
                    tables[tree.this.name].append(action.name)
    return tables
