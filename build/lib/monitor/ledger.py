"""The run ledger: one row per (monitor, scheduled window), so no window runs twice.

Scheduled runs (the daemon's jobs, cron's `monitor run`) *claim* a window before
running it and mark it done in the same transaction that writes its results. The
primary key is the guarantee: two daemons, or cron beside a daemon, racing for one
window cannot both claim it. A claim is a conditional upsert that only succeeds if
the row is still as the claimer read it (optimistic concurrency), so it is race-free
on any engine with `INSERT ... ON CONFLICT DO UPDATE ... WHERE`.

States: `running` (claimed; its owner is working on it), `done` (its run is recorded,
whatever the run's status), `aborted` (the daemon stopped before or while running
it; the next start runs it again). A `running` row whose owner died is stale: a
process on the same host that no longer exists, a previous incarnation of this
process id (containers reuse pid 1), or a claim older than twice the monitor's query
timeout (an owner on another host that went silent).

Backfills write `done` rows too, so a daemon does not catch up what a backfill ran.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.windows import Window

# host:pid:token: the token tells this process from an earlier one with the same pid.
OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class LedgerEntry:
    monitor: str
    window: Window
    fire_time: datetime  # the scheduled T that produced the window
    status: str  # running | done | aborted
    trigger: str  # schedule | backfill
    owner: str
    attempts: int
    claimed_at: datetime
    finished_at: datetime | None = None
    run_id: str | None = None
    run_status: str | None = None  # ok | error | no_data of the recorded run
    note: str | None = None


def owner_alive(owner: str) -> bool | None:
    """Whether the claiming process still runs: True/False on this host, None elsewhere."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    if owner == OWNER:  # runs are sequential: our own claim found by us is a leftover
        return False
    pid = int(pid_text)
    if pid == os.getpid():  # our pid, another token: an earlier incarnation, now dead
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def settled(entry: LedgerEntry | None, now: datetime, ttl: timedelta) -> bool:
    """Whether a window needs no run from us: done, or being run by a live owner."""
    if entry is None or entry.status == "aborted":
        return False
    if entry.status == "done":
        return True
    alive = owner_alive(entry.owner)
    if alive is None:  # another host: trust the claim until it is far too old
        return now - entry.claimed_at < ttl
    return alive
