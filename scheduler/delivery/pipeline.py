"""The delivery pipeline: claimed deliveries in, recorded outcomes out.

The stages, one module each, in the order the pipeline runs them::

    route -> group -> wait -> verdict -> hold
          -> turns: (pace -> fence -> prepare -> send -> record)*

``turns`` sends a group one request at a time, each through the per-request stages.
A new stage is one module and one line in one of the two lists ``Pipeline`` builds. What the
pipeline learns that others care about (a reminder's moment came, a retry was
recorded) it publishes as events; the dispatcher subscribes.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta

from scheduler.db.rows import DeliveryRow
from scheduler.delivery.acked import AckMemory
from scheduler.delivery.claims import Claims
from scheduler.delivery.events import Events, Listener
from scheduler.delivery.fence import StillHeld
from scheduler.delivery.finish import Finisher
from scheduler.delivery.group import Group
from scheduler.delivery.hold import Hold
from scheduler.delivery.pace import Pace
from scheduler.delivery.policy import is_grouped
from scheduler.delivery.prepare import AckUrl, Prepare
from scheduler.delivery.record import Record
from scheduler.delivery.recorder import Recorder
from scheduler.delivery.route import Route
from scheduler.delivery.send import Send
from scheduler.delivery.stage import MultiStage, Stage
from scheduler.delivery.turns import Turns
from scheduler.delivery.values import Batch, ChannelRuntime, Clock, DbCall
from scheduler.delivery.verdict import Check, PlanMemory, StillWanted
from scheduler.delivery.wait import WaitUntilDue
from scheduler.metrics import Metrics
from scheduler.store import Store


class Pipeline:
    """Sends claimed deliveries and records what happened to each."""

    def __init__(
        self,
        *,
        store: Store,
        db: DbCall,
        metrics: Metrics,
        worker: str,
        clock: Clock,
        rand: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        checks: Sequence[Check] = (),
        ack_url: AckUrl | None = None,
        claims: Claims | None = None,
    ) -> None:
        self.plan = PlanMemory()
        self.acks = AckMemory()
        # The claims held in memory; the dispatcher notes them, ``fence`` checks them.
        self.claims = claims or Claims()
        self.events = Events()
        self._recorder = Recorder(store.record, db)
        finisher = Finisher(recorder=self._recorder, metrics=metrics, worker=worker, clock=clock)
        self._send = Send(clock=clock)

        async def renew(rows: Sequence[DeliveryRow]) -> set[tuple[str, int]]:
            lease = timedelta(seconds=self.claims.lease or 0)
            held: set[tuple[str, int]] = await db(
                store.extend_leases,
                [(r.id, r.attempts) for r in rows],
                worker=worker,
                lease_until=clock() + lease,
            )
            return held

        async def reserve(channel: str, interval: timedelta) -> float:
            seconds: float = await db(store.reserve_send_slot, channel, interval=interval)
            return seconds

        per_request: list[Stage] = [
            # Replicas on PostgreSQL share one pace per channel; SQLite has one daemon.
            Pace(finisher, sleep=sleep, reserve=None if store.is_sqlite else reserve),
            StillHeld(
                finisher,
                self.claims,
                metrics,
                renew=renew if self.claims.lease is not None else None,
            ),
            Prepare(clock=clock, ack_url=ack_url),
            self._send,
            Record(
                recorder=self._recorder,
                disable_channel=store.disable_channel,
                db=db,
                metrics=metrics,
                events=self.events,
                worker=worker,
                rand=rand,
            ),
        ]
        stages: list[Stage] = [
            Route(finisher),
            Group(clock),
            WaitUntilDue(clock=clock, sleep=sleep),
            StillWanted(finisher, [self.plan, *checks], acks=self.acks),
            Hold(
                recorder=self._recorder,
                events=self.events,
                metrics=metrics,
                worker=worker,
                clock=clock,
                sleep=sleep,
            ),
            Turns(MultiStage(per_request)),
        ]
        self._runner = MultiStage(stages)
        self._channels: dict[str, ChannelRuntime] = {}

    @property
    def channels(self) -> Mapping[str, ChannelRuntime]:
        return self._channels

    def set_channels(self, runtimes: Mapping[str, ChannelRuntime]) -> None:
        self._channels = dict(runtimes)

    def subscribe(self, listener: Listener) -> None:
        self.events.subscribe(listener)

    @property
    def on_the_wire(self) -> frozenset[str]:
        """Deliveries inside a request right now (the others can be given back unsent)."""
        return frozenset(self._send.on_the_wire)

    async def deliver(self, channel: str, rows: Sequence[DeliveryRow]) -> None:
        """Deliver rows claimed for one channel."""
        runtime = self._channels.get(channel)
        batch = Batch(channel=channel, runtime=runtime, rows=tuple(rows))
        if runtime is not None and is_grouped(runtime.channel):
            # One request at a time per chat channel keeps its ordering and pacing honest.
            async with runtime.lock:
                await self._runner.run(batch)
            return
        await self._runner.run(batch)

    async def close(self) -> None:
        """Stop the outcome writer (after the deliveries in flight ended)."""
        await self._recorder.close()
