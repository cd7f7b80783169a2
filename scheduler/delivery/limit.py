"""A channel's adaptive in-flight limit: as many requests at once as its receiver answers
without queueing them (TCP Vegas, as Netflix's concurrency-limits ``VegasLimit`` applies it
to requests).

Each answered request is a sample of its time on the wire. The least time seen lately is
the receiver's time with nothing queued (``no_load``); with ``limit`` requests in flight
and a sample of ``rtt``, about ``queued = limit * (1 - no_load / rtt)`` of them were
waiting behind the others. As in Vegas, the thresholds scale with ``log10(limit)``, so a
large limit tolerates a few more queued and a limit of 1 can still be reached:

* ``queued <= 3 * log10(limit)``: one more in flight (the receiver keeps up);
* ``queued > 6 * log10(limit)``: one fewer (requests queue at the receiver, where
  another channel's request would wait behind them);
* in between, or while fewer than half the limit are in flight (no evidence either way):
  unchanged;
* always within ``1 .. maximum`` (the channel's configured concurrency);
* ``no_load`` is forgotten after ``window`` seconds and taken afresh from the next
  sample, so a receiver that became slower for good does not pin the limit at 1.

Pure: the clock is injected and nothing here waits; :mod:`scheduler.delivery.slots`
holds the permits.
"""

from __future__ import annotations

import math
from collections.abc import Callable

GROW_AT_MOST = 3.0  # requests queued at the receiver, times log10(limit): Vegas's alpha
SHRINK_ABOVE = 6.0  # the same, Vegas's beta
NO_LOAD_WINDOW = 10.0  # seconds a least round trip is trusted
INITIAL_LIMIT = 8


class AdaptiveLimit:
    """How many requests one channel may have in flight now; see the module docstring."""

    def __init__(
        self,
        maximum: int,
        *,
        clock: Callable[[], float],
        initial: int = INITIAL_LIMIT,
        grow_at_most: float = GROW_AT_MOST,
        shrink_above: float = SHRINK_ABOVE,
        window: float = NO_LOAD_WINDOW,
    ) -> None:
        if maximum < 1:
            raise ValueError("maximum must be at least 1")
        if not 0 <= grow_at_most <= shrink_above:
            raise ValueError("need 0 <= grow_at_most <= shrink_above")
        self.maximum = maximum
        self.limit = max(1, min(maximum, initial))
        self._clock = clock
        self._grow_at_most = grow_at_most
        self._shrink_above = shrink_above
        self._window = window
        self.no_load: float | None = None  # seconds: the least round trip seen lately
        self._no_load_at = 0.0

    def queued(self, rtt: float) -> float:
        """Requests estimated to wait at the receiver, given a round trip of ``rtt``."""
        if self.no_load is None or rtt <= 0:
            return 0.0
        return self.limit * max(0.0, 1.0 - self.no_load / rtt)

    def sample(self, rtt: float, in_flight: int) -> int:
        """A request took ``rtt`` seconds with ``in_flight`` requests out (itself
        included); returns the new limit."""
        now = self._clock()
        if self.no_load is None or rtt < self.no_load or now - self._no_load_at > self._window:
            self.no_load, self._no_load_at = rtt, now
        queued, scale = self.queued(rtt), math.log10(self.limit)
        if queued > self._shrink_above * scale:
            self.limit = max(1, self.limit - 1)
        elif queued <= self._grow_at_most * scale and 2 * in_flight >= self.limit:
            self.limit = min(self.maximum, self.limit + 1)
        return self.limit
