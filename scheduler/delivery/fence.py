"""Stage ``fence``: is each claim still this worker's, just before its request is built?

On PostgreSQL another replica may take a claim over once this worker's liveness session
ended or its lease ran out (:mod:`scheduler.fencing`). A claim whose lease ran out by
this worker's clock (renewals were late: a busy database or machine) is confirmed with
one guarded lease renewal for all such rows of the turn: still ours, it goes out with
a fresh lease; gone, it is dropped. A claim from a session that ended is not sent: it
is given back under its own guard (a no-op if it was taken over, the claim returned to
the queue if it was not). Every drop is counted and logged.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from scheduler.db.rows import DeliveryRow
from scheduler.delivery.claims import Claims
from scheduler.delivery.finish import Finisher
from scheduler.delivery.values import Batch
from scheduler.errors import StoreError
from scheduler.fencing import Hold
from scheduler.logs import fields
from scheduler.metrics import Metrics

log = logging.getLogger("tminus.delivery")

Renew = Callable[[Sequence[DeliveryRow]], Awaitable[set[tuple[str, int]]]]
"""Renews the leases of claims (guarded by generation); returns the claims still held."""


class StillHeld:
    def __init__(
        self, finisher: Finisher, claims: Claims, metrics: Metrics, *, renew: Renew | None = None
    ) -> None:
        self._finish = finisher
        self._claims = claims
        self._metrics = metrics
        self._renew = renew

    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        holds = {row.id: self._claims.check(row) for row in batch.rows}
        expired = [row for row in batch.rows if holds[row.id] is Hold.LEASE_RUN_OUT]
        if expired and self._renew is not None:
            holds |= await self._confirm(expired)
        keep = []
        for row in batch.rows:
            hold = holds[row.id]
            if hold is Hold.HELD:
                keep.append(row)
                continue
            self._metrics.claims_lost_total.labels(reason=hold.value).inc()
            log.warning(
                "claim no longer sure to be ours: not sent",
                extra=fields(delivery=row.id, channel=row.channel, hold=hold),
            )
            if hold in (Hold.SESSION_LOST, Hold.SESSION_STALE, Hold.SESSION_CHANGED):
                # The database out of reach: the claim ends by takeover or lease instead.
                with contextlib.suppress(StoreError):
                    await self._finish.release(row)
        if not keep:
            return []
        return [replace(batch, rows=tuple(keep))]

    async def _confirm(self, rows: Sequence[DeliveryRow]) -> dict[str, Hold]:
        assert self._renew is not None
        since = time.monotonic()
        try:
            held = await self._renew(rows)
        except StoreError:
            return {}  # not confirmed: they stay LEASE_RUN_OUT
        keys = [(r.id, r.attempts) for r in rows]
        self._claims.renewed(held, [k for k in keys if k not in held], since=since)
        return {r.id: self._claims.check(r) for r in rows}
