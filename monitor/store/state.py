"""What the service writes (docs/data-model.md): `runs`, `metrics` and `bin_specs` in the state schema.

Times are stored as naive UTC TIMESTAMPs so every engine and every client time zone
reads the same instant. Writing a run replaces the monitor's metric rows for that
window in one transaction, so re-running a window is idempotent.

The alert tables (`alerts`, `alert_events`, `outbox`, `silences`, `alert_watermarks`)
belong to monitor/alerts/persistence.py, which creates, reads and writes them.

`bin_specs` holds the bins a drift check fitted on its first baseline (quantile edges
or a top-k category list), per monitor, segment and feature; later runs bin with the
same spec, so a PSI series compares like with like. A spec is never overwritten: a
change of the binning settings gives a new `spec_key`, and deleting rows refits.

A store is opened once per pass (or backfill), and the reads every run needs (a
monitor's frozen bins and its alerting windows) are read once per monitor and kept
in step with what the store itself records, instead of one query per run.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor import sqltext
from monitor.checks import RESULT_COLUMNS
from monitor.errors import WarehouseError
from monitor.ledger import LedgerEntry
from monitor.store.schema import (
    BIN_SPEC_COLUMNS,
    METRIC_COLUMNS,
    RUN_COLUMNS,
    created_tables,
    run_tables,
    state_tables_ddl,
)
from monitor.warehouse import Warehouse, in_state_dialect
from monitor.windows import Window, to_utc


def naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


@dataclass(frozen=True)
class BinSpec:
    """The bins of one (monitor, segment, feature), as fitted on a baseline."""

    monitor: str
    spec_key: str
    segment: str
    feature: str
    kind: str  # quantile | top_k, or a fit method (pca)
    # Edges (float) or categories (str) in bin order; a fit method's spec (a mapping).
    items: list[Any] | dict[str, Any]
    baseline_size: int | None
    fitted_window: Window


@dataclass(frozen=True)
class LedgerMark:
    """Where a recorded run goes in the run ledger: its scheduled T and who ran it."""

    fire_time: datetime
    trigger: str
    owner: str


@dataclass(frozen=True)
class LedgerSpan:
    first: datetime  # scheduled T
    last: datetime
    last_ok: datetime | None


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    monitor: str
    window_start: datetime
    window_end: datetime
    started_at: datetime
    finished_at: datetime
    status: str
    error: str | None
    trigger: str
    row_count: int
    run_at: datetime | None = None  # the run's time T


class StateStore:
    """The monitor schema in the state database (the warehouse, or `state.database`)."""

    def __init__(self, warehouse: Warehouse, schema: str = "monitor", create: bool = True):
        """`create=False` opens an existing store read-only (e.g. for `monitor render`)."""
        self.wh = in_state_dialect(warehouse)
        self.schema = schema
        self.create = create
        self._ensured: set[str] = set()
        # Per monitor, read once: {spec_key: {feature: {segment: items}}}, and the
        # windows in which any of its rows was in alert.
        self._specs: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        self._alerting: dict[str, set[Window]] = {}
        # A pass running monitors at once (warehouse.connections) claims and reads from
        # several threads: one caller at a time on the store's connection (the reads
        # below take it; the runner takes it around a claim).
        self.lock = threading.RLock()
        self.ensure_tables("runs", run_tables(schema), core=("runs", "metrics"))

    def ensure_tables(
        self, group: str, statements: Sequence[str], core: Sequence[str] = ()
    ) -> None:
        """Create (and migrate) one table group once per open store, unless read-only:
        each group's owner gives its DDL (monitor/store/schema.py for the run tables,
        monitor/alerts/persistence.py for the alert tables).

        A table is created on its own only when it never existed: on an empty store, or
        one a newer version adds. `monitor.state_tables` lists every table the store
        ever created, so one listed there but gone was dropped or lost, and recreating
        it empty would lose its state silently (alerts that never resolve, episodes
        announced again, silences gone): an error that names it and says how to
        restore. (A store from before that list is judged by the group's `core`
        tables: some present and some not.) A table that lacks a column its DDL gives
        is an error too, rather than a failed query later."""
        if not self.create or group in self._ensured:
            return
        for statement in state_tables_ddl(self.schema):
            self.wh.execute(statement)
        wanted = created_tables(tuple(statements))
        # The list before the catalog: another process creates a table before listing
        # it, so a table listed here is in the catalog read after, unless it was dropped.
        known = {r["table_name"] for r in self.wh.execute(
            f"SELECT table_name FROM {self.table('state_tables')}"
        )}  # fmt: skip
        columns = self._columns()
        lost = [t for t in wanted if t in known and t not in columns]
        present = [t for t in core if t in columns]
        lost += [t for t in core if present and t not in columns and t not in lost]
        if lost:
            raise WarehouseError(
                f"the state store lost {', '.join(f'{self.schema}.{t}' for t in lost)} "
                f"(it has {', '.join(f'{self.schema}.{t}' for t in sorted(columns)) or 'none'}): "
                "it was dropped, and recreating it empty would lose the state it held. "
                "Restore it from a backup of the state database; or, to start over, drop "
                f"the whole schema (DROP SCHEMA {self.schema} CASCADE: every run, metric "
                "and alert state goes) and run again"
            )
        for statement in statements:
            self.wh.execute(statement)
        columns = self._columns()
        for table, expected in wanted.items():
            missing = [c for c in expected if c not in columns.get(table, set())]
            if missing:
                raise WarehouseError(
                    f"the state table {self.schema}.{table} lacks column(s) "
                    f"{', '.join(missing)}: it was altered or recreated by hand. Restore it "
                    "from a backup of the state database; or, to start over, drop the "
                    f"whole schema (DROP SCHEMA {self.schema} CASCADE) and run again"
                )
        for table in (t for t in wanted if t not in known):
            self.wh.execute(  # two processes opening a new store may both list it
                f"INSERT INTO {self.table('state_tables')} (table_name, created_at) "
                "VALUES (?, ?) ON CONFLICT DO NOTHING",
                [table, naive_utc(datetime.now(UTC))],
            )
        self._ensured.add(group)

    def create_once(self, group: str, statements: Sequence[str]) -> None:
        """Run a group's `CREATE ... IF NOT EXISTS` once per open store, unless read-only,
        for tables that are a cache (monitor/store/day_counts.py): not listed in
        `state_tables`, since one that was dropped is simply made again."""
        with self.lock:
            if not self.create or group in self._ensured:
                return
            for statement in statements:
                self.wh.execute(statement)
            self._ensured.add(group)

    def _columns(self) -> dict[str, set[str]]:
        """The state schema's tables and their columns, in one catalog query."""
        rows = self.wh.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = ?",
            [self.schema],
        )
        found: dict[str, set[str]] = {}
        for r in rows:
            found.setdefault(str(r["table_name"]), set()).add(str(r["column_name"]))
        return found

    def exists(self, table: str = "metrics") -> bool:
        rows = self.wh.execute(
            "SELECT count(*) AS n FROM information_schema.tables "
            "WHERE table_schema = ? AND table_name = ?",
            [self.schema, table],
        )
        return bool(rows and rows[0]["n"])

    def table(self, name: str) -> str:
        return f"{sqltext.ident(self.schema)}.{sqltext.ident(name)}"

    def record_runs(
        self, writes: Sequence[tuple[RunRecord, Sequence[dict[str, Any]] | None, Sequence[BinSpec]]]
    ) -> None:
        """Write runs (a pass's, at most one per monitor and window): each run's metric rows
        replace its window's old rows; new bin specs are kept.

        One transaction, so a crash leaves all of them or none; and one statement per
        table, not per run (a statement and a commit cost DuckDB about a millisecond each,
        a tenth of a small run).
        """
        keys = [(run.monitor, run.window_start, run.window_end) for run, _, _ in writes]
        assert len(set(keys)) == len(keys), "one write per monitor and window"
        replaced = [(run, rows) for run, rows, _ in writes if rows is not None]
        raced: set[str] = set()
        with self.wh.transaction():
            if replaced:
                where = " OR ".join(
                    "(monitor = ? AND window_start = ? AND window_end = ?)" for _ in replaced
                )
                self.wh.execute(
                    f"DELETE FROM {self.table('metrics')} WHERE {where}",
                    [
                        v
                        for run, _ in replaced
                        for v in (
                            run.monitor,
                            naive_utc(run.window_start),
                            naive_utc(run.window_end),
                        )
                    ],
                )
                self.wh.insert_rows(
                    f"{self.schema}.metrics",
                    METRIC_COLUMNS,
                    [
                        [
                            naive_utc(r[c]) if isinstance(r[c], datetime) else r[c]
                            for c in METRIC_COLUMNS
                        ]
                        for _, rows in replaced
                        for r in rows
                    ],
                )
            self.wh.insert_rows(
                f"{self.schema}.runs",
                RUN_COLUMNS,
                [
                    [
                        naive_utc(v) if isinstance(v, datetime) else v
                        for v in (getattr(run, c) for c in RUN_COLUMNS)
                    ]
                    for run, _, _ in writes
                ],
            )
            for run, _, specs in writes:
                if self._insert_new_specs(specs):
                    raced.add(run.monitor)
        # The reads kept for this pass follow what was committed, and only that.
        for run, metric_rows, bin_specs in writes:
            if run.monitor in raced:  # another writer froze one first: read them again
                self._specs.pop(run.monitor, None)
            elif bin_specs and run.monitor in self._specs:
                for b in bin_specs:
                    keyed = self._specs[run.monitor].setdefault(b.spec_key, {})
                    keyed.setdefault(b.feature, {})[b.segment] = b.items
            if metric_rows is not None and run.monitor in self._alerting:
                window = Window(to_utc(run.window_start), to_utc(run.window_end))
                self._alerting[run.monitor].discard(window)  # its rows were replaced
                if any(r["status"] == "alert" for r in metric_rows):
                    self._alerting[run.monitor].add(window)

    def _insert_new_specs(self, specs: Sequence[BinSpec]) -> bool:
        """Insert the specs not stored yet; True when a concurrent run had frozen one of
        them first (its spec is the one kept)."""
        if not specs:
            return False
        stored = {
            (r["spec_key"], r["segment"], r["feature"])
            for r in self.wh.execute(
                f"SELECT spec_key, segment, feature FROM {self.table('bin_specs')} "
                "WHERE monitor = ?",
                [specs[0].monitor],
            )
        }
        now = naive_utc(datetime.now(UTC))
        self.wh.insert_rows(
            f"{self.schema}.bin_specs",
            BIN_SPEC_COLUMNS,
            [
                [
                    b.monitor,
                    b.spec_key,
                    b.segment,
                    b.feature,
                    b.kind,
                    json.dumps(b.items),
                    b.baseline_size,
                    naive_utc(b.fitted_window.start),
                    naive_utc(b.fitted_window.end),
                    now,
                ]
                for b in specs
                if (b.spec_key, b.segment, b.feature) not in stored
            ],
        )
        return any((b.spec_key, b.segment, b.feature) in stored for b in specs)

    def bin_specs(self, monitor: str, spec_key: str) -> dict[str, dict[str, Any]]:
        """The frozen specs of a monitor's binning settings: {feature: {segment: items}}."""
        with self.lock:
            # A store opened read-only may be older than bin specs; one we opened has them.
            if not self.create and not self.exists("bin_specs"):
                return {}
            if monitor not in self._specs:
                rows = self.wh.execute(
                    f"SELECT spec_key, segment, feature, spec FROM {self.table('bin_specs')} "
                    "WHERE monitor = ?",
                    [monitor],
                )
                specs: dict[str, dict[str, dict[str, Any]]] = {}
                for r in rows:
                    keyed = specs.setdefault(r["spec_key"], {})
                    keyed.setdefault(r["feature"], {})[r["segment"]] = json.loads(r["spec"])
                self._specs[monitor] = specs
            stored = self._specs[monitor].get(spec_key, {})
        return {feature: dict(segments) for feature, segments in stored.items()}

    def schema_snapshot(self, monitor: str, before: datetime) -> dict[str, str] | None:
        """The column types the schema check recorded in this monitor's latest run
        that ended before `before`, {column: type}; None when there is none. A removed
        column's row records no type, so it is not part of the snapshot."""
        metrics = self.table("metrics")
        with self.lock:
            rows = self.wh.execute(
                f"SELECT feature, detail FROM {metrics} WHERE monitor = ? AND metric = 'schema' "
                f"AND value IS NOT NULL AND window_end = (SELECT MAX(window_end) FROM {metrics} "
                "WHERE monitor = ? AND metric = 'schema' AND value IS NOT NULL AND window_end < ?)",
                [monitor, monitor, naive_utc(before)],
            )
        types = {r["feature"]: json.loads(r["detail"] or "{}").get("type") for r in rows}
        snapshot = {column: kind for column, kind in types.items() if kind is not None}
        return snapshot or None

    def alert_windows(self, monitor: str, span: Window) -> list[Window]:
        """Earlier windows of `monitor` within `span` in which any row was in `alert`."""
        with self.lock:
            if monitor not in self._alerting:
                rows = self.wh.execute(
                    f"SELECT DISTINCT window_start, window_end FROM {self.table('metrics')} "
                    "WHERE monitor = ? AND status = 'alert'",
                    [monitor],
                )
                self._alerting[monitor] = {
                    Window(to_utc(r["window_start"]), to_utc(r["window_end"])) for r in rows
                }
        return sorted(
            (w for w in self._alerting[monitor] if w.start < span.end and w.end > span.start),
            key=lambda w: (w.start, w.end),
        )

    # ------------------------------------------- reads for the report, API, backtest

    def metric_rows(
        self, monitor: str, since: datetime | None, until: datetime | None
    ) -> list[dict[str, Any]]:
        """The monitor's recorded metric rows whose window ends in (since, until], oldest
        first, without run_id (a re-run window has replaced its rows: one set per
        window)."""
        if not self.exists("metrics"):
            return []
        where: list[str] = ["monitor = ?"]
        params: list[Any] = [monitor]
        if since is not None:
            where.append("window_end > ?")
            params.append(naive_utc(since))
        if until is not None:
            where.append("window_end <= ?")
            params.append(naive_utc(until))
        rows = self.wh.execute(
            f"SELECT * FROM {self.table('metrics')} WHERE {' AND '.join(where)} "
            "ORDER BY window_end, segment, feature, metric",
            params,
        )
        return [{k: v for k, v in r.items() if k != "run_id"} for r in rows]

    def runs_ending(
        self, monitors: Sequence[str], since: datetime, until: datetime
    ) -> list[dict[str, Any]]:
        """Every recorded run of these monitors whose window ends in (since, until]."""
        if not monitors or not self.exists("runs"):
            return []
        marks = ", ".join("?" for _ in monitors)
        return self.wh.execute(
            f"""SELECT monitor, window_start, window_end, started_at, status, error, "trigger"
                FROM {self.table("runs")}
                WHERE monitor IN ({marks}) AND window_end > ? AND window_end <= ?
                ORDER BY window_end, monitor, started_at""",
            [*monitors, naive_utc(since), naive_utc(until)],
        )

    def newest_window_end(self, monitors: Sequence[str]) -> datetime | None:
        """The end of the latest window any of these monitors recorded a run for."""
        if not monitors or not self.exists("runs"):
            return None
        marks = ", ".join("?" for _ in monitors)
        rows = self.wh.execute(
            f"SELECT max(window_end) AS t FROM {self.table('runs')} WHERE monitor IN ({marks})",
            list(monitors),
        )
        t = rows[0]["t"] if rows else None
        return t.replace(tzinfo=UTC) if t is not None else None

    def change_marks(self) -> tuple[Any, ...]:
        """What moves whenever a report would change: the newest finished run and the
        newest alert change (a silence or a send moves `updated_at` too), with counts."""
        out: list[Any] = []
        for table, column in (("runs", "finished_at"), ("alerts", "updated_at")):
            if self.exists(table):
                rows = self.wh.execute(
                    f"SELECT max({column}) AS t, count(*) AS n FROM {self.table(table)}"
                )
                out += [rows[0]["t"], rows[0]["n"]]
        return tuple(out)

    def unripe_windows(
        self, monitor: str, lo: datetime, hi: datetime, maturity: timedelta
    ) -> list[Window]:
        """Windows of `monitor` ending in (lo, hi] whose latest run recorded rows (ok or
        no_data) at a time T before all their predictions had matured (T < end +
        maturity): what a `rerun_when_mature` check runs again. A run recorded before
        runs kept their T is left alone."""
        rows = self._latest_runs(monitor, "window_end > ? AND window_end <= ?", lo, hi)
        return [
            Window(to_utc(r["window_start"]), to_utc(r["window_end"]))
            for r in rows
            if r["status"] in ("ok", "no_data")
            and r["run_at"] is not None
            and to_utc(r["run_at"]) < to_utc(r["window_end"]) + maturity
        ]

    def latest_runs_starting(
        self, monitor: str, lo: datetime, hi: datetime
    ) -> list[dict[str, Any]]:
        """The latest recorded run of each window of `monitor` starting in [lo, hi)."""
        return self._latest_runs(monitor, "window_start >= ? AND window_start < ?", lo, hi)

    def _latest_runs(
        self, monitor: str, bounds: str, lo: datetime, hi: datetime
    ) -> list[dict[str, Any]]:
        """The latest recorded run of each window of `monitor` within `bounds` (a
        condition on the window with two parameters, lo and hi), oldest window first."""
        if not self.exists("runs"):
            return []
        return self.wh.execute(
            f"""
            SELECT window_start, window_end, status, error, run_at
            FROM (
                SELECT window_start, window_end, status, error, run_at,
                       row_number() OVER (PARTITION BY window_start, window_end
                                          ORDER BY started_at DESC) AS latest
                FROM {self.table("runs")}
                WHERE monitor = ? AND {bounds}
            ) AS r
            WHERE latest = 1
            ORDER BY window_start, window_end
            """,
            [monitor, naive_utc(lo), naive_utc(hi)],
        )

    def result_rows_starting(
        self, monitor: str, lo: datetime, hi: datetime
    ) -> list[dict[str, Any]]:
        """The check's own columns (RESULT_COLUMNS) of every metric row of `monitor`
        whose window starts in [lo, hi), with the window's bounds."""
        if not self.exists("metrics"):
            return []
        columns = ", ".join(
            sqltext.ident(c) for c in ("window_start", "window_end", *RESULT_COLUMNS)
        )
        return self.wh.execute(
            f"SELECT {columns} FROM {self.table('metrics')} "
            "WHERE monitor = ? AND window_start >= ? AND window_start < ?",
            [monitor, naive_utc(lo), naive_utc(hi)],
        )

    # ------------------------------------------------------------------ run ledger

    def ledger(
        self, monitors: Sequence[str], since: datetime
    ) -> dict[tuple[str, Window], LedgerEntry]:
        """Ledger rows of these monitors whose scheduled T is after `since`."""
        if not monitors:
            return {}
        marks = ", ".join("?" for _ in monitors)
        rows = self.wh.execute(
            f"SELECT * FROM {self.table('run_ledger')} "
            f"WHERE monitor IN ({marks}) AND fire_time > ?",
            [*monitors, naive_utc(since)],
        )
        out = {}
        for r in rows:
            entry = _ledger_entry(r)
            out[(entry.monitor, entry.window)] = entry
        return out

    def ledger_entry(self, monitor: str, window: Window) -> LedgerEntry | None:
        rows = self.wh.execute(
            f"SELECT * FROM {self.table('run_ledger')} "
            "WHERE monitor = ? AND window_start = ? AND window_end = ?",
            [monitor, naive_utc(window.start), naive_utc(window.end)],
        )
        return _ledger_entry(rows[0]) if rows else None

    def scheduled_span(self, monitors: Sequence[str]) -> dict[str, LedgerSpan]:
        """Per monitor that ever ran on a schedule (or a backfill): its first and last
        scheduled T in the ledger, and the T of its latest ok or no_data run."""
        if not monitors:
            return {}
        marks = ", ".join("?" for _ in monitors)
        rows = self.wh.execute(
            f"""
            SELECT monitor, min(fire_time) AS first, max(fire_time) AS last,
                   max(CASE WHEN status = 'done' AND run_status IN ('ok', 'no_data')
                            THEN fire_time END) AS last_ok
            FROM {self.table("run_ledger")}
            WHERE monitor IN ({marks})
            GROUP BY monitor
            """,
            list(monitors),
        )
        return {
            r["monitor"]: LedgerSpan(
                to_utc(r["first"]),
                to_utc(r["last"]),
                to_utc(r["last_ok"]) if r["last_ok"] else None,
            )
            for r in rows
        }

    def claim(
        self,
        monitor: str,
        window: Window,
        mark: LedgerMark,
        seen: LedgerEntry | None,
        now: datetime,
    ) -> bool:
        """Claim a window for `mark.owner` if its row is still as `seen` (None: no row).
        False when another process claimed or finished it in between."""
        return self._ledger_upsert(monitor, window, mark, "running", now, seen=seen or False)

    def finish(
        self, done: Sequence[tuple[str, Window, LedgerMark, str, str]], now: datetime
    ) -> None:
        """Mark windows done, once their run is recorded *and* their alerts evaluated:
        (monitor, window, mark, run_id, run status). A crash before this leaves the
        claim `running` under a dead owner, so the window runs again, and the alert
        watermark keeps a re-run from paging twice."""
        # One row per window (the last one wins): one statement may not update a row
        # twice (PostgreSQL refuses, DuckDB would keep the first).
        latest = {
            (monitor, window): (monitor, window, mark, "done", run_id, run_status, None)
            for monitor, window, mark, run_id, run_status in done
        }
        if not latest:
            return
        with self.wh.transaction():
            self._ledger_upsert_rows(list(latest.values()), now)

    def abort(
        self,
        monitor: str,
        window: Window,
        mark: LedgerMark,
        note: str,
        now: datetime,
        claimed: bool,
    ) -> None:
        """The window did not run (the daemon stopped, or its results could not be
        written): the next start runs it. Only our own claim is changed; an unclaimed
        window gets an `aborted` row only if it has no row at all."""
        if claimed:
            self.wh.execute(
                f"UPDATE {self.table('run_ledger')} SET status = 'aborted', note = ?, "
                "finished_at = ? WHERE monitor = ? AND window_start = ? AND window_end = ? "
                "AND status = 'running' AND owner = ?",
                [note, naive_utc(now), monitor, naive_utc(window.start), naive_utc(window.end),
                 mark.owner],
            )  # fmt: skip
        else:
            self._ledger_upsert(monitor, window, mark, "aborted", now, note=note, seen=False)

    def _ledger_upsert(
        self,
        monitor: str,
        window: Window,
        mark: LedgerMark,
        status: str,
        now: datetime,
        run_id: str | None = None,
        run_status: str | None = None,
        note: str | None = None,
        seen: LedgerEntry | bool | None = None,
    ) -> bool:
        """Insert or update one ledger row. With `seen` (an entry, or False for "no
        row"), update only if the row is unchanged since: a claim."""
        condition, params = "", []
        if isinstance(seen, LedgerEntry):
            t = self.table("run_ledger")
            condition = f"WHERE {t}.status = ? AND {t}.owner = ? AND {t}.attempts = ?"
            params = [seen.status, seen.owner, seen.attempts]
        elif seen is False:
            condition = "WHERE false"  # a row appeared since we looked: someone else has it
        row = (monitor, window, mark, status, run_id, run_status, note)
        return self._ledger_upsert_rows([row], now, condition, params)

    def _ledger_upsert_rows(
        self,
        rows: Sequence[tuple[str, Window, LedgerMark, str, str | None, str | None, str | None]],
        now: datetime,
        condition: str = "",
        condition_params: Sequence[Any] = (),
    ) -> bool:
        """One INSERT ... ON CONFLICT DO UPDATE for (monitor, window, mark, status,
        run_id, run_status, note) rows; whether any row was written."""
        t = self.table("run_ledger")
        now_ = naive_utc(now)
        params: list[Any] = []
        for monitor, window, mark, status, run_id, run_status, note in rows:
            finished = None if status == "running" else now_
            params += [
                monitor, naive_utc(window.start), naive_utc(window.end),
                naive_utc(mark.fire_time), status, mark.trigger, mark.owner, now_, finished,
                run_id, run_status, note,
            ]  # fmt: skip
        values = ", ".join("(?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)" for _ in rows)
        written = self.wh.execute(
            f"""
            INSERT INTO {t} (monitor, window_start, window_end, fire_time, status, "trigger",
                             owner, attempts, claimed_at, finished_at, run_id, run_status, note)
            VALUES {values}
            ON CONFLICT (monitor, window_start, window_end) DO UPDATE SET
                fire_time = excluded.fire_time, status = excluded.status,
                "trigger" = excluded."trigger", owner = excluded.owner,
                attempts = {t}.attempts + (CASE WHEN excluded.status = 'running' THEN 1 ELSE 0 END),
                claimed_at = CASE WHEN excluded.status = 'running' OR {t}.owner <> excluded.owner
                                  THEN excluded.claimed_at ELSE {t}.claimed_at END,
                finished_at = excluded.finished_at, run_id = excluded.run_id,
                run_status = excluded.run_status, note = excluded.note
            {condition}
            RETURNING owner
            """,
            [*params, *condition_params],
        )
        return bool(written)


def _ledger_entry(r: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        monitor=r["monitor"],
        window=Window(to_utc(r["window_start"]), to_utc(r["window_end"])),
        fire_time=to_utc(r["fire_time"]),
        status=r["status"],
        trigger=r["trigger"],
        owner=r["owner"],
        attempts=int(r["attempts"]),
        claimed_at=to_utc(r["claimed_at"]),
        finished_at=to_utc(r["finished_at"]) if r["finished_at"] else None,
        run_id=r["run_id"],
        run_status=r["run_status"],
        note=r["note"],
    )
