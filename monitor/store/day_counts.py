"""Stored per-day counts of baseline rows, for checks whose statistics are sums over
rows (categorical_drift's category counts): `day_counts` and `day_count_days` in the
state schema, which must be the warehouse's own (the check's SQL joins them).

A rolling or seasonal baseline is mostly the same days run after run. A check that
declares `day_counts:` (docs/writing-checks.md) has its counts of each whole baseline
day stored once; later runs read the stored counts instead of the day's rows, as long
as the day still has the rows it had then (docs/data-model.md, "Stored day counts").

These tables are a cache: dropping them loses nothing (the next runs read the rows
and store the counts again), so unlike the run tables they are not listed in
`state_tables` and are simply recreated.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from monitor import sqltext
from monitor.day_counts import DayFill, DayGuard
from monitor.errors import MonitorError
from monitor.store.state import StateStore, naive_utc
from monitor.warehouse import DuckDBDialectSQL

log = logging.getLogger(__name__)

DAY_COLUMNS = (
    "monitor", "counts_key", "day", "row_count", "changed", "stored_at", "dropped_at"
)  # fmt: skip
# How long a dropped day stays readable: far longer than the moment between a run
# finding it stored and its query reading it.
GRACE = timedelta(days=1)


def day_count_tables(schema: str) -> list[str]:
    s = sqltext.ident(schema)
    return [
        # Per monitor, counts key and day: the counts the check's day_counts query gave.
        f"""CREATE TABLE IF NOT EXISTS {s}.day_counts (
            monitor VARCHAR NOT NULL,
            counts_key VARCHAR NOT NULL,  -- hash of the query that counted (columns, slices, table)
            day TIMESTAMP NOT NULL,       -- the UTC day [day, day + 1 day)
            segment VARCHAR NOT NULL,
            feature VARCHAR NOT NULL,
            item VARCHAR,                 -- what was counted (a category; NULL: the NULL bin)
            n BIGINT NOT NULL
        )""",
        # The guard: what the day's rows were when its counts were stored. Counts apply
        # while the day still has this many rows and the same latest change time.
        f"""CREATE TABLE IF NOT EXISTS {s}.day_count_days (
            monitor VARCHAR NOT NULL,
            counts_key VARCHAR NOT NULL,
            day TIMESTAMP NOT NULL,
            row_count BIGINT NOT NULL,    -- the model's rows that day
            changed VARCHAR,              -- their latest changed_at column value, as text
            stored_at TIMESTAMP NOT NULL,
            dropped_at TIMESTAMP,         -- settings changed or out of the baseline: deleted a day later
            PRIMARY KEY (monitor, counts_key, day)
        )""",
    ]


class DayCounts:
    """The stored day counts of one state store."""

    def __init__(self, store: StateStore):
        self.store = store
        store.create_once("day_counts", day_count_tables(store.schema))

    def stored(self, monitor: str, key: str) -> dict[datetime, DayGuard]:
        """The days stored for a monitor's counts key, with their guards."""
        with self.store.lock:
            if not self.store.create and not self.store.exists("day_count_days"):
                return {}
            rows = self.store.wh.execute(
                f"SELECT day, row_count, changed FROM {self.store.table('day_count_days')} "
                "WHERE monitor = ? AND counts_key = ? AND dropped_at IS NULL",
                [monitor, key],
            )
        return {
            naive_utc(r["day"]).replace(tzinfo=UTC): DayGuard(int(r["row_count"]), r["changed"])
            for r in rows
        }

    def write(self, fill: DayFill) -> bool:
        """Store a fill's days in one transaction: their counts and guards replace any
        stored for those days. The monitor's other counts keys (its settings changed)
        and its days before `keep_from` are dropped: marked, and deleted a GRACE later,
        so a run elsewhere that found them a moment ago still reads them. False (and a
        warning) when it could not: the run then reads those days from their rows."""
        if not self.store.create:
            return False
        try:
            with self.store.lock, self.store.wh.transaction():
                self._write(fill)
        except MonitorError as exc:
            log.warning(
                "day counts of %s not stored: %s", fill.monitor, exc,
                extra={"fields": {"event": "day_counts_not_stored", "monitor": fill.monitor,
                                  "error": str(exc)}},
            )  # fmt: skip
            return False
        return True

    def _write(self, fill: DayFill) -> None:
        now = naive_utc(datetime.now(UTC))
        days = sorted(fill.days)
        counts, guards = self.store.table("day_counts"), self.store.table("day_count_days")
        self.store.wh.execute(
            f"UPDATE {guards} SET dropped_at = ? WHERE monitor = ? AND dropped_at IS NULL "
            "AND (counts_key <> ? OR day < ?)",
            [now, fill.monitor, fill.key, naive_utc(fill.keep_from)],
        )
        # The days stored again, and those dropped longer than GRACE ago.
        gone = (
            f"(counts_key = ? AND ({' OR '.join('day = ?' for _ in days)})) OR EXISTS ("
            f"SELECT 1 FROM {guards} AS g WHERE g.monitor = c.monitor AND "
            "g.counts_key = c.counts_key AND g.day = c.day AND g.dropped_at < ?)"
        )
        params = [fill.key, *map(naive_utc, days), now - GRACE]
        self.store.wh.execute(
            f"DELETE FROM {counts} AS c WHERE monitor = ? AND ({gone})", [fill.monitor, *params]
        )
        self.store.wh.execute(
            f"DELETE FROM {guards} AS c WHERE monitor = ? AND ({gone})", [fill.monitor, *params]
        )
        native = (
            self.store.wh.inner if isinstance(self.store.wh, DuckDBDialectSQL) else self.store.wh
        )
        native.execute(
            f"INSERT INTO {counts} (monitor, counts_key, day, segment, feature, item, n) "
            f"SELECT {sqltext.literal(fill.monitor)}, {sqltext.literal(fill.key)}, "
            f"day, segment, feature, item, n FROM (\n{fill.sql}\n) AS fill"
        )
        self.store.wh.insert_rows(
            f"{self.store.schema}.day_count_days",
            DAY_COLUMNS,
            [
                [fill.monitor, fill.key, naive_utc(d), g.rows, g.changed, now, None]
                for d, g in sorted(fill.days.items())
            ],
        )
