"""Stage ``held``: is each claim still this worker's, just before its request is built?

On PostgreSQL another replica may take a claim over once this worker's liveness session
ended or its lease ran out (:mod:`scheduler.fencing`). A row this worker can no longer
be sure of is not sent: it is given back under the claim's own guard (a no-op if it was
taken over, the claim returned to the queue if it was not) and counted.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import replace

from scheduler.delivery.claims import Claims
from scheduler.delivery.finish import Finisher
from scheduler.delivery.values import Batch
from scheduler.errors import StoreError
from scheduler.fencing import Hold
from scheduler.logs import fields
from scheduler.metrics import Metrics

log = logging.getLogger("tminus.delivery")


class StillHeld:
    def __init__(self, finisher: Finisher, claims: Claims, metrics: Metrics) -> None:
        self._finish = finisher
        self._claims = claims
        self._metrics = metrics

    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        keep = []
        for row in batch.rows:
            hold = self._claims.check(row)
            if hold is Hold.HELD:
                keep.append(row)
                continue
            self._metrics.claims_lost_total.labels(reason=hold.value).inc()
            log.warning(
                "claim no longer sure to be ours: not sent",
                extra=fields(delivery=row.id, channel=row.channel, hold=hold),
            )
            # The database out of reach: the claim ends by takeover or lease instead.
            with contextlib.suppress(StoreError):
                await self._finish.release(row)
        if not keep:
            return []
        return [replace(batch, rows=tuple(keep))]
