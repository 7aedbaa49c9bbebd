"""Stored per-day counts of baseline rows, for checks whose statistics are sums over
rows (categorical_drift's category counts): `day_counts` and `day_count_days` in the
state schema, which must be the warehouse's own (the check's SQL joins them).

A rolling or seasonal baseline is mostly the same days run after run. A check that
declares `day_counts:` (docs/writing-checks.md) has the counts of each whole baseline
day stored once; later runs read the stored counts instead of the day's rows, as long
as the day still has the rows it had then (docs/data-model.md, "Stored day counts").

Each store of a day is a *fill* with its own id, and nothing a run may be reading is
deleted at once: a day stored again, or out of its monitor's baselines, is marked
dropped and deleted a GRACE later. The check reads one fill per day (the day's live
one, else the one dropped last; sql/macros/stored_counts.sql), so two processes
storing the same day at once never add up.

These tables are a cache: dropping them loses nothing (the next runs count the rows
again), so unlike the run tables they are not listed in `state_tables`.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from monitor import sqltext
from monitor.day_counts import DayFill, DayGuard
from monitor.errors import MonitorError
from monitor.store.state import StateStore, naive_utc
from monitor.warehouse import Warehouse, in_state_dialect
from monitor.windows import to_utc

log = logging.getLogger(__name__)

DAY_COLUMNS = (
    "monitor", "counts_key", "day", "fill_id", "row_count", "changed", "stored_at", "dropped_at"
)  # fmt: skip
# How long a dropped day stays readable: far longer than the moment between a run
# finding it stored and its query reading it (which query_timeout bounds).
GRACE = timedelta(days=1)


def day_count_tables(schema: str) -> list[str]:
    s = sqltext.ident(schema)
    return [
        # Per fill and day: the counts the check's day_counts query gave.
        f"""CREATE TABLE IF NOT EXISTS {s}.day_counts (
            monitor VARCHAR NOT NULL,
            counts_key VARCHAR NOT NULL,  -- hash of the query that counted (columns, slices, table)
            day TIMESTAMP NOT NULL,       -- the UTC day [day, day + 1 day)
            fill_id VARCHAR NOT NULL,     -- the store that wrote it
            segment VARCHAR NOT NULL,
            feature VARCHAR NOT NULL,
            item VARCHAR,                 -- what was counted (a category; NULL: the NULL bin)
            n BIGINT NOT NULL
        )""",
        # The guard: what the day's rows were when a fill counted them. Its counts apply
        # while the day still has this many rows and the same latest change time.
        f"""CREATE TABLE IF NOT EXISTS {s}.day_count_days (
            monitor VARCHAR NOT NULL,
            counts_key VARCHAR NOT NULL,
            day TIMESTAMP NOT NULL,
            fill_id VARCHAR NOT NULL,
            row_count BIGINT NOT NULL,    -- the model's rows that day
            changed VARCHAR,              -- their latest changed_at column value, as text
            stored_at TIMESTAMP NOT NULL,
            dropped_at TIMESTAMP,         -- stored again or out of the baseline: deleted a GRACE later
            PRIMARY KEY (monitor, counts_key, day, fill_id)
        )""",
    ]


class DayCounts:
    """The stored day counts of one state store."""

    def __init__(self, store: StateStore):
        self.store = store
        store.create_once("day_counts", day_count_tables(store.schema))

    def stored(self, monitor: str, key: str) -> dict[datetime, DayGuard]:
        """The live days stored for a monitor's counts key, with their guards (of the
        latest fill, should two processes have stored one day at once)."""
        with self.store.lock:
            if not self.store.create and not self.store.exists("day_count_days"):
                return {}
            rows = self.store.wh.execute(
                f"SELECT day, row_count, changed FROM {self.store.table('day_count_days')} "
                "WHERE monitor = ? AND counts_key = ? AND dropped_at IS NULL "
                "ORDER BY stored_at, fill_id",
                [monitor, key],
            )
        return {to_utc(r["day"]): DayGuard(int(r["row_count"]), r["changed"]) for r in rows}

    def write(self, fill: DayFill, wh: Warehouse) -> bool:
        """Count and store a fill's days in one transaction on `wh` (the run's own
        connection, to the warehouse that holds this store: the counting is the run's
        work, under its query_timeout). The days' earlier fills, and the monitor's days
        before `keep_from`, are marked dropped; those dropped longer than GRACE ago are
        deleted. False (and a warning) when it could not: the run then reads those days
        from their rows."""
        if not self.store.create:
            return False
        try:
            with wh.transaction():
                self._write(fill, wh)
        except MonitorError as exc:
            log.warning(
                "day counts of %s not stored: %s", fill.monitor, exc,
                extra={"fields": {"event": "day_counts_not_stored", "monitor": fill.monitor,
                                  "error": str(exc)}},
            )  # fmt: skip
            return False
        return True

    def _write(self, fill: DayFill, wh: Warehouse) -> None:
        state = in_state_dialect(wh)
        counts, guards = self.store.table("day_counts"), self.store.table("day_count_days")
        now = naive_utc(datetime.now(UTC))
        days = sorted(fill.days)
        fill_id = uuid.uuid4().hex[:16]
        state.execute(
            f"UPDATE {guards} SET dropped_at = ? WHERE monitor = ? AND dropped_at IS NULL "
            f"AND (day < ? OR (counts_key = ? AND ({' OR '.join('day = ?' for _ in days)})))",
            [now, fill.monitor, naive_utc(fill.keep_from), fill.key, *map(naive_utc, days)],
        )
        expired = [fill.monitor, now - GRACE]
        state.execute(
            f"DELETE FROM {counts} AS c WHERE monitor = ? AND EXISTS (SELECT 1 FROM {guards} AS g "
            "WHERE g.monitor = c.monitor AND g.counts_key = c.counts_key AND g.day = c.day "
            "AND g.fill_id = c.fill_id AND g.dropped_at < ?)",
            expired,
        )
        state.execute(f"DELETE FROM {guards} WHERE monitor = ? AND dropped_at < ?", expired)
        wh.execute(  # the check's own query, in the warehouse's dialect already
            f"INSERT INTO {counts} (monitor, counts_key, day, fill_id, segment, feature, item, n) "
            f"SELECT {sqltext.literal(fill.monitor)}, {sqltext.literal(fill.key)}, day, "
            f"{sqltext.literal(fill_id)}, segment, feature, item, n FROM (\n{fill.sql}\n) AS fill"
        )
        wh.insert_rows(
            f"{self.store.schema}.day_count_days",
            DAY_COLUMNS,
            [
                [fill.monitor, fill.key, naive_utc(d), fill_id, g.rows, g.changed, now, None]
                for d, g in sorted(fill.days.items())
            ],
        )
