"""The store: the one place that speaks SQL, on SQLite and PostgreSQL alike.

:class:`Store` is what the rest of tminus uses: one facade that owns the engine,
the transactions and the mapping of driver errors, over modules that each hold one
kind of SQL (all in :mod:`scheduler.db`):

* :mod:`~scheduler.db.reads` — the delivery row query and its decoding, listings, counts;
* :mod:`~scheduler.db.queue` — claims, leases and the guard of every outcome;
* :mod:`~scheduler.db.marks` — what each outcome (:class:`Mark`) writes, a batch at a time;
* :mod:`~scheduler.db.bulk` — the bulk writes of a reconciliation;
* :mod:`~scheduler.db.acks` — acknowledgements and the deliveries they change;
* :mod:`~scheduler.db.engine` — engines and migrations;
* :mod:`~scheduler.db.tables` — the schema (the one source the others derive from).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Connection

from scheduler.acknowledge import Acknowledgement
from scheduler.db import acks, liveness, notify, pacing, queue, reads
from scheduler.db.acks import AckChange
from scheduler.db.base import StoreBase
from scheduler.db.bulk import apply_actions
from scheduler.db.marks import Mark
from scheduler.db.rows import AttemptRecord, AttemptRow, ChannelState, DeliveryRow
from scheduler.db.tables import CHANNEL_STATE, META
from scheduler.errors import NotFoundError, TminusError
from scheduler.fencing import dead_workers
from scheduler.reconcile import ReconcileActions

__all__ = [
    "AckChange",
    "AttemptRecord",
    "AttemptRow",
    "ChannelState",
    "DeliveryRow",
    "Mark",
    "Store",
]


class Store(StoreBase):
    """Durable deliveries, attempts, channel state and metadata behind named operations."""

    # -- the queue: claims and guarded state changes -------------------------------------
    def claim_due(
        self,
        *,
        now: datetime,
        worker: str,
        lease: timedelta,
        limit: int,
        ahead: timedelta = timedelta(0),
        skip_channels: Collection[str] = (),
    ) -> list[DeliveryRow]:
        """Atomically take up to ``limit`` due deliveries for ``worker``, soonest first.

        Due means scheduled or retrying with ``next_attempt_at <= now``, or sending
        under a lease that ran out (its claimer died). Taken rows become
        ``sending`` with a fresh lease and one more attempt.

        ``next_attempt_at`` is when a row next needs attention: its due or retry
        time while queued, its lease expiry while sending, NULL once final. So one
        ordered range scan of one index finds both kinds of due rows.

        ``ahead`` also takes first attempts due up to that long after ``now``, so the
        daemon can send them from memory at the exact moment; retries and expired
        leases are only taken once their time has come. Rows of ``skip_channels``
        are left for later (the dispatcher's channels that hold all they may).
        """
        # On PostgreSQL one statement (the claim and its snapshots), sent on the database
        # thread's kept connection: one round trip per batch.
        return self._write_kept(
            lambda conn: queue.claim_due(
                conn,
                now=now,
                worker=worker,
                lease=lease,
                limit=limit,
                ahead=ahead,
                skip_channels=skip_channels,
            )
        )

    def record(self, marks: Sequence[Mark]) -> list[bool]:
        """Every state change of claimed deliveries: one guarded batch, one transaction.

        The guard: a mark changes its row only while that row is still ``sending``
        under the mark's worker's claim (``claimed_by``) of the mark's generation
        (``attempts``); otherwise (the claim was taken over, maybe claimed again, or
        it was already marked) the row is left as it is and no attempt is recorded.
        Results are in the order of ``marks``: True where the mark held, False where
        the claim was lost. (River's ``JobSetStateIfRunningMany``.)
        """
        with self._queue_writes:
            # On PostgreSQL one statement (guard, lock, change, attempts) on the kept
            # connection; on SQLite one transaction.
            return self._write_kept(lambda conn: queue.record(conn, marks))

    def supersede_all(
        self, items: Sequence[tuple[str, str, datetime]], *, now: datetime
    ) -> list[tuple[str, str]]:
        """For each (milestone id, channel, before), its retrying deliveries due before
        ``before`` become dead (``superseded``), in one transaction.

        Returns (delivery id, channel) of every delivery that became dead, sorted.
        """
        # Nothing retrying (almost always, during a burst): one read on the kept connection.
        if not self._read_kept(queue.anything_retrying):
            return []
        return self._transact(lambda conn: queue.supersede_all(conn, items, now=now))

    def extend_leases(
        self, claims: Sequence[tuple[str, int]], *, worker: str, lease_until: datetime
    ) -> set[tuple[str, int]]:
        """Keep long sends claimed: push the lease of ``worker``'s claims (delivery id,
        generation) to ``lease_until``. Returns the claims still held; the others were
        taken over (or finished), and must be neither sent nor recorded."""
        if not claims:
            return set()
        with self._queue_writes:  # on PostgreSQL one statement, on the kept connection
            return self._write_kept(
                lambda conn: queue.extend_leases(
                    conn, claims, worker=worker, lease_until=lease_until
                )
            )

    def take_over_dead(self, *, me: str) -> liveness.TakeoverCheck:
        """PostgreSQL: put the claims of every worker whose session lock is gone back in
        the queue (see :mod:`scheduler.db.liveness`); returns how many per worker, and
        whether workers other than ``me`` held claims. SQLite: nothing (one daemon owns
        the file and releases at start)."""
        if self.is_sqlite:
            return liveness.TakeoverCheck()
        # Every second while claims are about: reads on the kept connection.
        claimants = self._read_kept(liveness.claimants)
        if not any(w != me for w in claimants):  # idle: no need to read pg_locks
            return liveness.TakeoverCheck()
        dead = dead_workers(claimants, self._read_kept(liveness.live_keys), me=me)
        taken: dict[str, int] = {}
        for worker in dead:
            count = self._transact(partial(liveness.take_over, worker=worker))
            if count:
                taken[worker] = count
        return liveness.TakeoverCheck(taken, claims_elsewhere=True)

    def reserve_send_slot(self, channel: str, *, interval: timedelta) -> float:
        """PostgreSQL: reserve ``channel``'s next send slot for the whole cluster (one
        ``interval`` apart, :mod:`scheduler.db.pacing`); the seconds to wait for it.
        SQLite: 0 (one daemon; its own bucket paces it)."""
        if self.is_sqlite:
            return 0.0
        return self._transact(lambda conn: pacing.reserve_slot(conn, channel, interval=interval))

    def notify(self, kind: str) -> None:
        """PostgreSQL: tell every replica's listener ``kind`` (``scheduler.db.notify``);
        SQLite: nothing (one daemon)."""
        if not self.is_sqlite:
            self._transact(lambda conn: notify.publish(conn, kind))

    def release_claims(self, *, worker: str | None = None, forgive_unrecorded: bool = False) -> int:
        """Put ``sending`` rows (of ``worker``, or all) back in the queue; returns how many
        (``forgive_unrecorded``: see :func:`scheduler.db.queue.release_claims`)."""
        return self._transact(
            lambda conn: queue.release_claims(
                conn, worker=worker, forgive_unrecorded=forgive_unrecorded
            )
        )

    def redeliver(self, delivery_id: str, *, now: datetime) -> DeliveryRow:
        """Queue a finished (dead, sent, skipped, cancelled) delivery again, same id, now."""
        changed = self._transact(lambda conn: queue.redeliver(conn, delivery_id, now=now))
        row = self.get_delivery(delivery_id)
        if row is None:
            raise NotFoundError(f"no delivery {delivery_id!r}")
        if not changed:
            raise TminusError(
                f"delivery {delivery_id} is {row.status.value}: it is already queued"
                " (only dead, sent, skipped or cancelled deliveries can be redelivered)"
            )
        return row

    # -- reading deliveries --------------------------------------------------------------
    def get_delivery(self, delivery_id: str) -> DeliveryRow | None:
        with self._read() as conn:
            return reads.get_delivery(conn, delivery_id)

    def deliveries_by_id(self, ids: Sequence[str]) -> dict[str, DeliveryRow]:
        """The stored deliveries among ``ids`` (unknown ids are left out), by id."""
        with self._read() as conn:
            return reads.deliveries_by_id(conn, ids)

    def open_deliveries(
        self, *, due_from: datetime | None = None, due_until: datetime | None = None
    ) -> dict[str, DeliveryRow]:
        """Scheduled, retrying and sending rows, optionally ``due_from <= due_at < due_until``."""
        with self._read() as conn:
            return reads.open_deliveries(conn, due_from=due_from, due_until=due_until)

    def deliveries_due(self, *, due_from: datetime, due_until: datetime) -> dict[str, DeliveryRow]:
        """Every stored delivery, whatever its status, with ``due_from <= due_at < due_until``."""
        with self._read() as conn:
            return reads.deliveries_due(conn, due_from=due_from, due_until=due_until)

    def open_deliveries_of(self, milestone_ids: Collection[str]) -> dict[str, DeliveryRow]:
        """The open rows of these milestones only (an incremental reload's)."""
        with self._read() as conn:
            return reads.open_deliveries_of(conn, milestone_ids)

    def earliest_held(self) -> datetime | None:
        """The earliest due time quiet hours still hold (a reconcile window reaches it)."""
        with self._read() as conn:
            return reads.earliest_held(conn)

    def sent_since(
        self, *, due_from: datetime, milestone_ids: Collection[str] | None = None
    ) -> list[DeliveryRow]:
        """Sent deliveries due since ``due_from``, optionally of some milestones only
        (what channels were told: moved-deadline notices compare it with the plan)."""
        with self._read() as conn:
            return reads.sent_since(conn, due_from=due_from, milestone_ids=milestone_ids)

    def history(
        self,
        *,
        status: str | None = None,
        milestone: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[DeliveryRow]:
        """Deliveries, newest due first, optionally of one status and one milestone."""
        with self._read() as conn:
            return reads.history(
                conn, status=status, milestone=milestone, limit=limit, offset=offset
            )

    def deliveries(
        self, *, status: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[DeliveryRow]:
        """The API's listing: :meth:`history` without the milestone filter."""
        return self.history(status=status, limit=limit, offset=offset)

    def attempts(self, delivery_id: str) -> list[AttemptRow]:
        """Every recorded attempt of one delivery, oldest first."""
        with self._read() as conn:
            return reads.attempts(conn, delivery_id)

    def counts_by_status(self) -> dict[str, int]:
        """Deliveries per status, every status present (zero when none)."""
        with self._read() as conn:
            return reads.counts_by_status(conn)

    def counts_by_channel_status(self) -> dict[str, dict[str, int]]:
        """Deliveries per channel, then per status (only the pairs that occur)."""
        with self._read() as conn:
            return reads.counts_by_channel_status(conn)

    def next_wakeup(
        self, *, ahead: timedelta = timedelta(0), skip_channels: Collection[str] = ()
    ) -> datetime | None:
        """When the daemon must next claim: the earliest next attempt (scheduled,
        retrying) or lease expiry (sending), where a first attempt counts ``ahead``
        early, as ``claim_due(ahead=…)`` takes those that far ahead of their time;
        rows of ``skip_channels`` do not count."""
        with self._read() as conn:
            return reads.next_wakeup(conn, ahead=ahead, skip_channels=skip_channels)

    # -- reconciliation ------------------------------------------------------------------
    def apply(self, actions: ReconcileActions, *, now: datetime) -> None:
        """Apply a reconciliation in one transaction (bulk inserts, cancels, skips, refreshes);
        what it schedules for an acknowledged occurrence is cancelled in the same one."""

        def work(conn: Connection) -> None:
            apply_actions(conn, actions, now=now)
            acks.cancel_acknowledged_inserts(conn, actions, now=now)

        self._transact(work)

    # -- acknowledgements ----------------------------------------------------------------
    def acknowledge(self, ack: Acknowledgement, *, webhook_channels: Sequence[str]) -> AckChange:
        """Acknowledge an occurrence, cancel its unsent reminders and escalations and queue
        the webhook notices, in one transaction (see :func:`scheduler.db.acks.acknowledge`)."""
        return self._transact(
            lambda conn: acks.acknowledge(conn, ack, webhook_channels=webhook_channels)
        )

    def unacknowledge(
        self, milestone_id: str, occurrence: datetime, *, by: str, now: datetime
    ) -> AckChange | None:
        """Take an acknowledgement back (None: it was not acknowledged)."""
        return self._transact(
            lambda conn: acks.unacknowledge(conn, milestone_id, occurrence, by=by, now=now)
        )

    def acknowledgement(self, milestone_id: str, occurrence: datetime) -> Acknowledgement | None:
        """The occurrence's acknowledgement, in force or taken back; None if never made."""
        with self._read() as conn:
            return acks.get(conn, milestone_id, occurrence)

    def acknowledgements(self) -> list[Acknowledgement]:
        """Every acknowledgement in force."""
        with self._read() as conn:
            return acks.active(conn)

    def ack_version(self) -> str | None:
        """Changes with every acknowledgement and unack (the heartbeat compares it, and
        every due batch reads it: on a connection its thread keeps)."""
        return self._read_kept(acks.version)

    # -- meta and channel state ----------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._read() as conn:
            return reads.get_meta(conn, key)

    def set_meta(self, key: str, value: str) -> None:
        self._upsert(META, "key", {"key": key, "value": value})

    def channel_states(self) -> dict[str, ChannelState]:
        with self._read() as conn:
            return reads.channel_states(conn)

    def disable_channel(self, name: str, *, fingerprint: str, reason: str, now: datetime) -> None:
        """Disable ``name`` until its config (``fingerprint``) changes."""
        values = {
            "disabled_fingerprint": fingerprint,
            "disabled_reason": reason,
            "disabled_at": now,
        }
        self._upsert(CHANNEL_STATE, "name", {"name": name, **values})

    def enable_channel(self, name: str) -> None:
        values = {"disabled_fingerprint": None, "disabled_reason": None, "disabled_at": None}
        self._upsert(CHANNEL_STATE, "name", {"name": name, **values})
