"""Stage ``send``: one request on the wire, answered with an :class:`~scheduler.model.Outcome`.

Each channel has its own slots (``ChannelRuntime.slots``): a burst on one channel fills
only its own. The request's permit (taken by ``turns``, or here when a batch comes without
one) is given back as soon as the answer is in, with the time on the wire, which is what
the channel's adaptive limit learns from. A ``Retry-After`` pauses the whole channel (at most
:data:`~scheduler.delivery.policy.MAX_PAUSE`).
The ids on the wire are kept so that a shutdown gives back, without using up an
attempt, only the deliveries that never left.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from scheduler.delivery.policy import MAX_PAUSE
from scheduler.delivery.values import Batch, Clock, Sent


class Send:
    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self.on_the_wire: set[str] = set()

    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        runtime, request = batch.runtime, batch.request
        assert runtime is not None and request is not None  # routed and prepared
        permit = batch.permit or await runtime.slots.acquire()
        started = self._clock()
        began = time.monotonic()
        wire = [row.id for row in batch.rows]
        self.on_the_wire.update(wire)
        try:
            outcome = await runtime.notifier.send(request)
        except BaseException:
            permit.release()
            raise
        finally:
            self.on_the_wire.difference_update(wire)
        elapsed = time.monotonic() - began
        permit.release(elapsed)
        if outcome.retry_after and runtime.bucket is not None:
            pause = min(outcome.retry_after, MAX_PAUSE.total_seconds())
            runtime.bucket.pause_for(pause)
        sent = Sent(outcome=outcome, started=started, finished=self._clock(), elapsed=elapsed)
        return [replace(batch, sent=sent, permit=None)]
