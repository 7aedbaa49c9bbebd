"""The alert tables: states, events, the outbox, silences, watermarks; their DDL, reads
and writes. Nothing else writes SQL against them.

Thin SQL in the state schema, beside the run tables (monitor/store/). Times are naive UTC in the
tables and UTC-aware in Python. The alert stage writes a whole pass (states, events,
outbox rows, watermarks) in one transaction; the sender then marks outbox rows one
at a time, so a crash loses no notification and repeats at most the one in flight.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor import sqltext
from monitor.alerts.lifecycle import AlertState, Fingerprint
from monitor.alerts.silences import Silence
from monitor.notify.message import Message
from monitor.store import StateStore, naive_utc
from monitor.windows import to_utc

FINGERPRINT_COLUMNS = ("kind", "monitor", "check", "model", "segment", "feature", "metric")
STATE_COLUMNS = tuple(f.name for f in dataclasses.fields(AlertState) if f.name != "fingerprint")
ALERT_COLUMNS = (
    "fingerprint", *FINGERPRINT_COLUMNS, *STATE_COLUMNS, "severity", "updated_at",
)  # fmt: skip
EVENT_COLUMNS = (
    "fingerprint", "monitor", "episode", "run_at", "recorded_at", "actor", "from_state",
    "to_state", "action", "reason", "level", "value", "threshold", "first_seen", "last_seen",
    "peak_value",
)  # fmt: skip
OUTBOX_COLUMNS = (
    "id", "notifier", "message_key", "parent_key", "action", "channel", "payload", "status",
    "attempts", "last_error", "created_at", "next_attempt_at",
)  # fmt: skip
SILENCE_COLUMNS = (
    "id", "monitor", "matchers", "starts_at", "ends_at", "author", "reason", "created_at",
)  # fmt: skip


def _ddl(schema: str) -> list[str]:
    s = sqltext.ident(schema)
    return [
        # The alert lifecycle (lifecycle.py): the current state per fingerprint.
        f"""CREATE TABLE IF NOT EXISTS {s}.alerts (
            fingerprint VARCHAR PRIMARY KEY,  -- hash of kind, monitor, check, metric, model, feature, slice
            kind VARCHAR NOT NULL,        -- metric | no_data | error
            monitor VARCHAR NOT NULL,
            "check" VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            segment VARCHAR NOT NULL,
            feature VARCHAR NOT NULL,
            metric VARCHAR NOT NULL,
            state VARCHAR NOT NULL,       -- ok | pending | firing | recovering | resolved
            level VARCHAR,                -- warn | alert
            severity VARCHAR NOT NULL,    -- page | ticket | info (after the level)
            episode INTEGER NOT NULL,
            breaches INTEGER NOT NULL,
            clears INTEGER NOT NULL,
            first_seen TIMESTAMP,
            last_seen TIMESTAMP,
            last_evaluated TIMESTAMP,
            fired_at TIMESTAMP,
            resolved_at TIMESTAMP,
            last_notified TIMESTAMP,
            notified_level VARCHAR,
            peak_level VARCHAR,           -- the highest level notified in the episode
            message_key VARCHAR,
            peak_value DOUBLE,            -- of the measured number, in the rule's direction
            value DOUBLE,
            threshold DOUBLE,
            baseline_value DOUBLE,
            sample_size BIGINT,
            p_value DOUBLE,
            q_value DOUBLE,
            reason VARCHAR,
            measure VARCHAR,              -- the deciding rule's measure and direction
            direction VARCHAR,
            measured DOUBLE,              -- the number it compared with the threshold
            suppressed_by VARCHAR,
            slack_channel VARCHAR,
            slack_ts VARCHAR,
            updated_at TIMESTAMP NOT NULL
        )""",
        f"ALTER TABLE {s}.alerts ADD COLUMN IF NOT EXISTS peak_level VARCHAR",
        # Every transition and every notification decision, for audit.
        f"""CREATE TABLE IF NOT EXISTS {s}.alert_events (
            fingerprint VARCHAR NOT NULL,
            monitor VARCHAR NOT NULL,
            episode INTEGER NOT NULL,
            run_at TIMESTAMP NOT NULL,    -- the run time T that judged it
            recorded_at TIMESTAMP NOT NULL,
            actor VARCHAR NOT NULL,       -- the run's trigger, or a person
            from_state VARCHAR NOT NULL,
            to_state VARCHAR NOT NULL,
            action VARCHAR NOT NULL,      -- none | announce | remind | escalate | resolve
            reason VARCHAR NOT NULL,
            level VARCHAR,
            value DOUBLE,
            threshold DOUBLE,
            first_seen TIMESTAMP,         -- the episode so far (state snapshot)
            last_seen TIMESTAMP,
            peak_value DOUBLE
        )""",
        # Episodes notified before `peak_level` existed: their highest notified level,
        # from the audit trail (else the last notified one), so their resolve goes
        # where they paged.
        f"""UPDATE {s}.alerts AS a SET peak_level = CASE WHEN EXISTS (
                SELECT 1 FROM {s}.alert_events AS e
                WHERE e.fingerprint = a.fingerprint AND e.episode = a.episode
                  AND e.action IN ('announce', 'remind', 'escalate') AND e.level = 'alert'
            ) THEN 'alert' ELSE a.notified_level END
            WHERE a.peak_level IS NULL AND a.notified_level IS NOT NULL""",
        # Notifications to deliver, written in the same transaction as the state change.
        f"""CREATE TABLE IF NOT EXISTS {s}.outbox (
            id BIGINT PRIMARY KEY,        -- delivery order
            notifier VARCHAR NOT NULL,    -- slack | webhook | console | pagerduty | alertmanager
            message_key VARCHAR NOT NULL,
            parent_key VARCHAR,           -- the thread a reply or update belongs to
            action VARCHAR NOT NULL,      -- post | reply | update
            channel VARCHAR,
            payload VARCHAR NOT NULL,     -- the message, as JSON (monitor/notify/message.py)
            status VARCHAR NOT NULL,      -- pending | sent
            attempts INTEGER NOT NULL,
            last_error VARCHAR,
            created_at TIMESTAMP NOT NULL,
            next_attempt_at TIMESTAMP NOT NULL,
            sent_at TIMESTAMP,
            remote_channel VARCHAR,       -- where it landed (Slack's channel id)
            remote_ts VARCHAR,            -- Slack's message ts
            UNIQUE (notifier, message_key)
        )""",
        f"""CREATE TABLE IF NOT EXISTS {s}.silences (
            id VARCHAR PRIMARY KEY,
            monitor VARCHAR NOT NULL,     -- glob
            matchers VARCHAR NOT NULL,    -- JSON object: field or slice column -> glob
            starts_at TIMESTAMP NOT NULL,
            ends_at TIMESTAMP NOT NULL,
            author VARCHAR NOT NULL,
            reason VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL
        )""",
        # The latest run time whose results the alert stage applied, per monitor: an
        # older window run again (a re-run backfill) updates metrics, never alerts.
        f"""CREATE TABLE IF NOT EXISTS {s}.alert_watermarks (
            monitor VARCHAR PRIMARY KEY,
            evaluated_through TIMESTAMP NOT NULL
        )""",
    ]


def _db(value: Any) -> Any:
    return naive_utc(value) if isinstance(value, datetime) else value


def _py(value: Any) -> Any:
    return to_utc(value) if isinstance(value, datetime) else value


@dataclass(frozen=True)
class StoredAlert:
    """An alert row: its state plus what only the store knows (routing, Slack ts)."""

    state: AlertState
    severity: str
    slack_channel: str | None
    slack_ts: str | None
    updated_at: datetime


@dataclass(frozen=True)
class OutboxRow:
    id: int
    notifier: str
    message_key: str
    parent_key: str | None
    action: str  # post | reply | update
    channel: str | None
    payload: str
    status: str  # pending | sent
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None = None
    remote_channel: str | None = None
    remote_ts: str | None = None


def outbox_lock_key(schema: str) -> int:
    """The PostgreSQL advisory lock key of one state schema's outbox."""
    digest = hashlib.sha256(f"sql-drift-monitor:outbox:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class AlertStore:
    """The alert tables of one state store (created with it unless it is read-only)."""

    def __init__(self, store: StateStore):
        self.store = store
        self.wh = store.wh
        store.ensure_tables("alerts", _ddl(store.schema), core=("alerts", "alert_events"))

    def _t(self, name: str) -> str:
        return self.store.table(name)

    # ------------------------------------------------------------------ states

    def alerts(
        self, monitors: Iterable[str] | None = None, states: Iterable[str] | None = None
    ) -> list[StoredAlert]:
        where, params = [], []
        if monitors is not None:
            names = list(monitors)
            if not names:
                return []
            where.append(f"monitor IN ({', '.join('?' for _ in names)})")
            params += names
        if states is not None:
            wanted = list(states)
            where.append(f"state IN ({', '.join('?' for _ in wanted)})")
            params += wanted
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self.wh.execute(
            f"SELECT * FROM {self._t('alerts')} {clause} "
            "ORDER BY monitor, metric, segment, feature",
            params,
        )
        return [_stored_alert(r) for r in rows]

    def save_alerts(self, alerts: Sequence[StoredAlert]) -> None:
        """Upsert by fingerprint (delete + insert: portable across engines)."""
        if not alerts:
            return
        ids = [a.state.fingerprint.id for a in alerts]
        for chunk in range(0, len(ids), 500):
            part = ids[chunk : chunk + 500]
            self.wh.execute(
                f"DELETE FROM {self._t('alerts')} "
                f"WHERE fingerprint IN ({', '.join('?' for _ in part)})",
                part,
            )
        self.wh.insert_rows(
            f"{self.store.schema}.alerts",
            (*ALERT_COLUMNS, "slack_channel", "slack_ts"),
            [[*_alert_values(a), a.slack_channel, a.slack_ts] for a in alerts],
        )

    def add_events(self, events: Sequence[dict[str, Any]]) -> None:
        self.wh.insert_rows(
            f"{self.store.schema}.alert_events",
            EVENT_COLUMNS,
            [[_db(e.get(c)) for c in EVENT_COLUMNS] for e in events],
        )

    def events(self, monitor: str | None = None) -> list[dict[str, Any]]:
        where, params = ("WHERE monitor = ?", [monitor]) if monitor else ("", [])
        rows = self.wh.execute(
            f"SELECT * FROM {self._t('alert_events')} {where} ORDER BY run_at, recorded_at",
            params,
        )
        return [{k: _py(v) for k, v in r.items()} for r in rows]

    def count_by_state(self) -> dict[tuple[str, str], int]:
        """(state, severity) -> number of alerts, for the daemon's gauges."""
        rows = self.wh.execute(
            f"SELECT state, severity, count(*) AS n FROM {self._t('alerts')} GROUP BY ALL"
        )
        return {(r["state"], r["severity"]): int(r["n"]) for r in rows}

    def episodes(self) -> list[dict[str, Any]]:
        """Every episode that fired, oldest first: where, when (data time), its worst
        level and peak. A past episode's numbers come from its last event; the current
        one's from the alert row (not every run writes an event)."""
        rows = self.wh.execute(
            f"""
            WITH fired AS (
                SELECT fingerprint, episode, max(run_at) AS last_event,
                       max(CASE WHEN level = 'alert' THEN 2 ELSE 1 END) AS worst
                FROM {self._t("alert_events")}
                GROUP BY fingerprint, episode
                HAVING bool_or(to_state = 'firing')
            )
            SELECT a.fingerprint, a.kind, a.monitor, a.segment, a.feature, a.metric, f.episode,
                   CASE WHEN a.episode = f.episode THEN a.state ELSE e.to_state END AS state,
                   CASE WHEN a.episode = f.episode THEN a.first_seen ELSE e.first_seen END AS first_seen,
                   CASE WHEN a.episode = f.episode THEN a.last_seen ELSE e.last_seen END AS last_seen,
                   CASE WHEN a.episode = f.episode THEN a.peak_value ELSE e.peak_value END AS peak_value,
                   e.threshold,
                   CASE WHEN f.worst = 2 THEN 'alert' ELSE 'warn' END AS level
            FROM fired AS f
            JOIN {self._t("alerts")} AS a ON a.fingerprint = f.fingerprint
            JOIN {self._t("alert_events")} AS e
              ON e.fingerprint = f.fingerprint AND e.episode = f.episode AND e.run_at = f.last_event
            ORDER BY first_seen, a.monitor, a.segment, a.feature, a.metric
            """
        )
        return [{k: _py(v) for k, v in r.items()} for r in rows]

    # -------------------------------------------------------------- watermarks

    def watermarks(self) -> dict[str, datetime]:
        rows = self.wh.execute(
            f"SELECT monitor, evaluated_through FROM {self._t('alert_watermarks')}"
        )
        return {r["monitor"]: to_utc(r["evaluated_through"]) for r in rows}

    def set_watermarks(self, marks: dict[str, datetime]) -> None:
        if not marks:
            return
        names = list(marks)
        self.wh.execute(
            f"DELETE FROM {self._t('alert_watermarks')} "
            f"WHERE monitor IN ({', '.join('?' for _ in names)})",
            names,
        )
        self.wh.insert_rows(
            f"{self.store.schema}.alert_watermarks",
            ("monitor", "evaluated_through"),
            [[m, naive_utc(t)] for m, t in marks.items()],
        )

    # ------------------------------------------------------------------ outbox

    def next_outbox_id(self) -> int:
        rows = self.wh.execute(f"SELECT coalesce(max(id), 0) AS n FROM {self._t('outbox')}")
        return int(rows[0]["n"]) + 1

    def enqueue(self, rows: Sequence[OutboxRow]) -> None:
        self.wh.insert_rows(
            f"{self.store.schema}.outbox",
            OUTBOX_COLUMNS,
            [[_db(getattr(r, c)) for c in OUTBOX_COLUMNS] for r in rows],
        )

    @contextlib.contextmanager
    def delivery_turn(self) -> Iterator[bool]:
        """Whether this process may drain the outbox now. On PostgreSQL, daemons and
        cron jobs on several hosts share one outbox, and two drains at once could send a
        row twice or a thread out of order: a session advisory lock makes them take
        turns (the loser leaves the rows to the holder). A DuckDB file has one writer."""
        if self.wh.dialect != "postgres":
            yield True
            return
        key = outbox_lock_key(self.store.schema)
        got = bool(self.wh.execute("SELECT pg_try_advisory_lock(?) AS got", [key])[0]["got"])
        try:
            yield got
        finally:
            if got:
                self.wh.execute("SELECT pg_advisory_unlock(?) AS released", [key])

    def outbox(self, status: str | None = None) -> list[OutboxRow]:
        where, params = ("WHERE status = ?", [status]) if status else ("", [])
        rows = self.wh.execute(f"SELECT * FROM {self._t('outbox')} {where} ORDER BY id", params)
        return [OutboxRow(**{k: _py(v) for k, v in r.items()}) for r in rows]

    def delivered(self, notifier: str, message_key: str) -> OutboxRow | None:
        rows = self.wh.execute(
            f"SELECT * FROM {self._t('outbox')} "
            "WHERE notifier = ? AND message_key = ? AND status = 'sent'",
            [notifier, message_key],
        )
        return OutboxRow(**{k: _py(v) for k, v in rows[0].items()}) if rows else None

    def payload(self, message_key: str) -> str | None:
        """The stored message of a key (any notifier: they share the same message)."""
        rows = self.wh.execute(
            f"SELECT payload FROM {self._t('outbox')} WHERE message_key = ? ORDER BY id LIMIT 1",
            [message_key],
        )
        return str(rows[0]["payload"]) if rows else None

    def thread(self, message_key: str) -> tuple[Message, tuple[str, ...]] | None:
        """A queued post and the receivers it was queued for (its replies go to them)."""
        payload = self.payload(message_key)
        if not payload:
            return None
        return Message.from_json(payload), tuple(self.receivers_of(message_key))

    def receivers_of(self, message_key: str) -> list[str]:
        """The receivers a message was queued for (its replies go to the same ones)."""
        rows = self.wh.execute(
            f"SELECT notifier FROM {self._t('outbox')} WHERE message_key = ? ORDER BY id",
            [message_key],
        )
        return [str(r["notifier"]) for r in rows]

    def mark_sent(
        self, row: OutboxRow, remote_channel: str | None, remote_ts: str | None, at: datetime
    ) -> None:
        with self.wh.transaction():
            self.wh.execute(
                f"UPDATE {self._t('outbox')} SET status = 'sent', attempts = attempts + 1, "
                "sent_at = ?, remote_channel = ?, remote_ts = ?, last_error = NULL WHERE id = ?",
                [naive_utc(at), remote_channel, remote_ts, row.id],
            )
            if row.notifier == "slack" and row.action == "post":
                self.wh.execute(
                    f"UPDATE {self._t('alerts')} SET slack_channel = ?, slack_ts = ? "
                    "WHERE message_key = ?",
                    [remote_channel, remote_ts, row.message_key],
                )

    def mark_failed(self, row: OutboxRow, error: str, retry_at: datetime) -> None:
        self.wh.execute(
            f"UPDATE {self._t('outbox')} SET attempts = attempts + 1, last_error = ?, "
            "next_attempt_at = ? WHERE id = ?",
            [error[:2000], naive_utc(retry_at), row.id],
        )

    # ---------------------------------------------------------------- silences

    def add_silence(self, silence: Silence) -> None:
        values = dataclasses.asdict(silence)
        values["matchers"] = json.dumps(silence.matchers, sort_keys=True)
        self.wh.insert_rows(
            f"{self.store.schema}.silences",
            SILENCE_COLUMNS,
            [[_db(values[c]) for c in SILENCE_COLUMNS]],
        )

    def silences(self) -> list[Silence]:
        rows = self.wh.execute(f"SELECT * FROM {self._t('silences')} ORDER BY created_at")
        out = []
        for r in rows:
            values = {k: _py(v) for k, v in r.items()}
            values["matchers"] = json.loads(r["matchers"])
            out.append(Silence(**values))
        return out

    def expire_silence(self, silence_id: str, at: datetime) -> bool:
        """End a silence now; False if no active silence has that id."""
        rows = self.wh.execute(
            f"SELECT id FROM {self._t('silences')} WHERE id = ? AND ends_at > ?",
            [silence_id, naive_utc(at)],
        )
        if not rows:
            return False
        self.wh.execute(
            f"UPDATE {self._t('silences')} SET ends_at = ? WHERE id = ?",
            [naive_utc(at), silence_id],
        )
        return True


def _alert_values(a: StoredAlert) -> list[Any]:
    fp = a.state.fingerprint
    values: list[Any] = [fp.id, *(getattr(fp, c) for c in FINGERPRINT_COLUMNS)]
    values += [getattr(a.state, c) for c in STATE_COLUMNS]
    values += [a.severity, a.updated_at]
    return [_db(v) for v in values]


def _stored_alert(row: dict[str, Any]) -> StoredAlert:
    fp = Fingerprint(**{c: row[c] for c in FINGERPRINT_COLUMNS})
    # .get: a read-only open does not add columns a newer version introduced.
    state = AlertState(fingerprint=fp, **{c: _py(row.get(c)) for c in STATE_COLUMNS})
    return StoredAlert(
        state, row["severity"], row["slack_channel"], row["slack_ts"], to_utc(row["updated_at"])
    )
