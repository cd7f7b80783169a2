"""A channel's send slots: permits for requests in flight, as many as its adaptive limit
(:class:`~scheduler.delivery.limit.AdaptiveLimit`) allows now.

A permit is taken before a request's turn (pace, prepare, send) and given back as soon
as its answer is in, with the time it spent on the wire, so the recording that follows
does not hold it. Waiters get permits in the order they asked.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType

from scheduler.delivery.limit import INITIAL_LIMIT, AdaptiveLimit


class SendSlots:
    """Permits for one channel's requests, bounded by its adaptive limit."""

    def __init__(
        self,
        maximum: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        initial: int = INITIAL_LIMIT,
    ) -> None:
        self.limit = AdaptiveLimit(maximum, clock=clock, initial=initial)
        self.in_flight = 0  # permits held
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> Permit:
        """Wait for a permit (first come, first served)."""
        if self.in_flight < self.limit.limit and not self._waiters:
            self.in_flight += 1
            return Permit(self)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if not waiter.cancelled():  # granted, then cancelled: pass it on
                self._give_back()
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise
        return Permit(self)

    def _give_back(self, rtt: float | None = None) -> None:
        if rtt is not None:
            self.limit.sample(rtt, self.in_flight)
        self.in_flight -= 1
        while self._waiters and self.in_flight < self.limit.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)


class Permit:
    """One request's place in flight; :meth:`release` is safe to call more than once."""

    def __init__(self, slots: SendSlots) -> None:
        self._slots: SendSlots | None = slots

    def release(self, rtt: float | None = None) -> None:
        """Give the place back; ``rtt`` (seconds on the wire) feeds the limit."""
        slots, self._slots = self._slots, None
        if slots is not None:
            slots._give_back(rtt)

    async def __aenter__(self) -> Permit:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
