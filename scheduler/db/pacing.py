"""One pace for a channel across replicas (PostgreSQL): send slots reserved in the database.

Each replica's token bucket paces only its own sends, so N replicas could send N times a
channel's ``rate_limit``. Before a paced request, a replica reserves the channel's next
send slot: under a per-channel advisory *transaction* lock it reads the last slot given
out (a ``meta`` row, ``pace:<channel>``), takes ``max(now, last + 1/rate)`` and writes it
back. Slots are one interval apart for the whole cluster, on the database server's clock
(so the replicas' clocks do not matter); the caller waits until its slot. One short
transaction per paced request: about one a second for Slack.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql

from scheduler.db.reads import get_meta
from scheduler.db.tables import META
from scheduler.fencing import lock_key

PACE_LOCK_SPACE = 0x746D7063  # "tmpc": channel pace locks, apart from worker locks
PREFIX = "pace:"


def reserve_slot(conn: Connection, channel: str, *, interval: timedelta) -> float:
    """Reserve ``channel``'s next send slot; returns the seconds to wait until it."""
    conn.execute(select(func.pg_advisory_xact_lock(PACE_LOCK_SPACE, lock_key(channel))))
    now: datetime = conn.execute(select(func.clock_timestamp())).scalar_one()
    raw = get_meta(conn, PREFIX + channel)
    slot = now if raw is None else max(now, datetime.fromisoformat(raw) + interval)
    stmt = postgresql.insert(META).values(key=PREFIX + channel, value=slot.isoformat())
    conn.execute(
        stmt.on_conflict_do_update(index_elements=["key"], set_={"value": slot.isoformat()})
    )
    return (slot - now).total_seconds()
