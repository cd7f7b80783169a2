"""Wake-ups between replicas on PostgreSQL: one LISTEN/NOTIFY channel, small payloads.

A replica that changes what others should act on at once publishes a :class:`Wakeup`
on :data:`CHANNEL` (``Store.notify``); every replica's session connection listens
(:mod:`scheduler.db.session`) and hands the kind to the daemon's
:class:`~scheduler.wakeups.Wakeups`, whose subscribers act (re-arm the timer, claim).
A notification is sent when its transaction commits and only to sessions listening
then: it is a hint that saves waiting for the periodic sweep, never the record of
anything (the database rows are).
"""

from __future__ import annotations

import enum

from sqlalchemy import Connection, func, select

CHANNEL = "tminus"


class Wakeup(enum.StrEnum):
    """What a notification says happened."""

    WORK = "work"  # deliveries were added or queued again (reconcile, redeliver)
    TAKEOVER = "takeover"  # a dead worker's claims were put back in the queue
    RELOAD = "reload"  # a replica installed a new config
    ACK = "ack"  # an occurrence was acknowledged or the acknowledgement taken back


def publish(conn: Connection, kind: str) -> None:
    """Queue the notification ``kind`` in the caller's transaction (sent at commit)."""
    conn.execute(select(func.pg_notify(CHANNEL, kind)))
