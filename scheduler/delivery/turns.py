"""Stage ``turns``: a group goes out one request at a time.

Each turn runs the per-request stages (pace, prepare, send, record) on the rows still
pending; ``prepare`` takes the first request's worth, and the rest wait for the next
turn, so every request gets its own pace token and is rendered at its own send time.
A turn that ends nothing (the channel was disabled while it waited) ends the group.

Each turn first takes a permit from the channel's send slots
(:class:`~scheduler.delivery.slots.SendSlots`), so no more requests are being paced,
rendered and sent at once than the channel's adaptive limit allows: a burst waits for
its turns without work, instead of rendering hundreds of requests that then queue at
the receiver. ``send`` gives the permit back when the answer is in; a turn that ended
before that gives it back here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from scheduler.delivery.stage import MultiStage
from scheduler.delivery.values import Batch


class Turns:
    def __init__(self, per_request: MultiStage) -> None:
        self._per_request = per_request

    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        pending = batch.rows
        done: list[Batch] = []
        runtime = batch.runtime
        assert runtime is not None  # routed
        while pending:
            async with await runtime.slots.acquire() as permit:
                sent = await self._per_request.run(replace(batch, rows=pending, permit=permit))
            taken = {row.id for b in sent for row in b.rows}
            if not taken:
                break
            done.extend(sent)
            pending = tuple(row for row in pending if row.id not in taken)
        return done
