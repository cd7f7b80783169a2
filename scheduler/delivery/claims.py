"""The claims this worker holds in memory, and whether each may still be sent.

The dispatcher notes every claim it takes (with the liveness session's epoch at the
moment it claimed) and what each lease renewal found; the ``held`` stage asks, just
before a request is prepared, whether its rows may still go out
(:func:`scheduler.fencing.still_held`: no I/O, so it costs nothing per request).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from scheduler.db.rows import DeliveryRow
from scheduler.fencing import HeldClaim, Hold, Session, still_held

ALWAYS = Session(epoch=0, confirmed_until=math.inf)
"""The session of a worker nobody can take over from (SQLite: one daemon per file)."""

# A claim is trusted for this share of its lease after it was taken or last renewed;
# renewals come every third of a lease, so a healthy worker never reaches the end.
TRUSTED_SHARE = 2 / 3


Claim = tuple[str, int]
"""(delivery id, generation): one claim of one delivery; the same worker may hold a
stale and a fresh claim of one delivery at once (taken over, then claimed again)."""


class Claims:
    """Claims held in memory, by (delivery id, generation)."""

    def __init__(
        self,
        *,
        session: Callable[[], Session] = lambda: ALWAYS,
        lease: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``lease`` (seconds) is how long a claim stays ours untouched; None: forever
        (nobody takes over on lease expiry: SQLite)."""
        self._session = session
        self.lease = lease
        self._trust = math.inf if lease is None else lease * TRUSTED_SHARE
        self._monotonic = monotonic
        self._held: dict[Claim, HeldClaim] = {}

    def epoch(self) -> int | None:
        """The session epoch to tag new claims with; None while no claim may be taken."""
        session = self._session()
        if session.epoch is None or self._monotonic() >= session.confirmed_until:
            return None
        return session.epoch

    def taken(self, rows: Iterable[DeliveryRow], *, epoch: int, since: float) -> None:
        """Note claims taken under ``epoch`` by a statement sent at monotonic ``since``."""
        for row in rows:
            self._held[row.id, row.attempts] = HeldClaim(
                epoch=epoch, lease_until=since + self._trust
            )

    def renewed(self, held: Iterable[Claim], lost: Iterable[Claim], *, since: float) -> None:
        """A lease renewal sent at ``since`` kept ``held`` and found ``lost`` gone (taken
        over, or already recorded: either way not to be sent)."""
        for key in held:
            claim = self._held.get(key)
            if claim is not None:
                self._held[key] = replace(claim, lease_until=since + self._trust)
        for key in lost:
            claim = self._held.get(key)
            if claim is not None:
                self._held[key] = replace(claim, lost=True)

    def forget(self, rows: Iterable[DeliveryRow]) -> None:
        for row in rows:
            self._held.pop((row.id, row.attempts), None)

    def check(self, row: DeliveryRow) -> Hold:
        """May ``row`` be sent now? A claim never noted (a test's pipeline) is held."""
        claim = self._held.get((row.id, row.attempts))
        if claim is None:
            return Hold.HELD
        return still_held(claim, self._session(), self._monotonic())
