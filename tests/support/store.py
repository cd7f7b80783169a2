"""Store test helpers: inserting planned deliveries, attempts, and single guarded marks.

The store has one state-change call, ``Store.record(marks)``; these helpers are
that call for one mark, returning whether it held (the claim was still the worker's).
A mark's generation is its attempt's number (the claim that made the attempt), or
``generation`` when it records no attempt.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from scheduler.model import DeliveryStatus
from scheduler.reconcile import PlannedDelivery, ReconcileActions
from scheduler.store import AttemptRecord, Mark, Store
from tests.support.deliveries import T0

LEASE = timedelta(seconds=30)


def insert(
    store: Store,
    rows: Iterable[PlannedDelivery],
    *,
    status: DeliveryStatus = DeliveryStatus.SCHEDULED,
    late: bool = False,
    now: datetime = T0 - timedelta(days=1),
) -> list[PlannedDelivery]:
    """Insert ``rows`` through a reconciliation, all with ``status`` and ``late``."""
    rows = list(rows)
    store.apply(ReconcileActions(insert=[(p, status, late) for p in rows]), now=now)
    return rows


def attempt(
    n: int = 1, code: int | None = 200, *, body: str = "ok", error: str | None = None
) -> AttemptRecord:
    """Attempt ``n``, answered ``code`` 5 ms after T0."""
    return AttemptRecord(
        attempt=n,
        started_at=T0,
        finished_at=T0 + timedelta(milliseconds=5),
        status_code=code,
        reason="ok" if code == 200 else "server_error",
        error=error,
        body=body,
    )


def _one(store: Store, mark: Mark) -> bool:
    (held,) = store.record([mark])
    return held


def record_sent(
    store: Store, delivery_id: str, *, worker: str, now: datetime, attempt: AttemptRecord
) -> bool:
    """The receiver's 2xx; False if ``worker`` no longer holds the claim."""
    mark = Mark("sent", delivery_id, worker, now, attempt=attempt, generation=attempt.attempt)
    return _one(store, mark)


def record_retry(
    store: Store,
    delivery_id: str,
    *,
    worker: str,
    now: datetime,
    next_attempt_at: datetime,
    attempt: AttemptRecord,
) -> bool:
    """Back as ``retrying`` at ``next_attempt_at``; False if the claim was lost."""
    mark = Mark(
        "retry",
        delivery_id,
        worker,
        now,
        attempt=attempt,
        next_attempt_at=next_attempt_at,
        generation=attempt.attempt,
    )
    return _one(store, mark)


def record_dead(
    store: Store,
    delivery_id: str,
    *,
    worker: str,
    now: datetime,
    reason: str,
    attempt: AttemptRecord | None = None,
    generation: int = 1,
) -> bool:
    """Given up for ``reason``; False if the claim was lost."""
    generation = attempt.attempt if attempt is not None else generation
    mark = Mark(
        "dead", delivery_id, worker, now, attempt=attempt, reason=reason, generation=generation
    )
    return _one(store, mark)
