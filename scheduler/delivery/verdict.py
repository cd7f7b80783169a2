"""Stage ``verdict``: is a claimed first attempt still wanted when its moment comes?

Each check answers :class:`~scheduler.delivery.values.Verdict` for a row; the first
that does not say ``SEND`` decides. The plan this process reconciled last
(:class:`PlanMemory`): a reload may have dropped the delivery (cancel) or moved it
(give the claim back). Acknowledgements (:class:`~scheduler.delivery.acked.AckMemory`)
are checked first and for retries too: an acknowledged occurrence stops every delivery
of its reminders, whatever attempt it is on.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from scheduler.db.rows import DeliveryRow
from scheduler.delivery.acked import AckMemory
from scheduler.delivery.finish import Finisher
from scheduler.delivery.values import Batch, DeliveryReason, Verdict


class Check(Protocol):
    def verdict(self, row: DeliveryRow) -> Verdict: ...


class PlanMemory:
    """What this process's last reconcile planned (id -> due time) and what its reloads
    dropped. Ids it has never seen (planned by another replica) are sent."""

    def __init__(self) -> None:
        self._planned: dict[str, datetime] = {}
        self._dropped: set[str] = set()

    def update(self, planned: Mapping[str, datetime], *, since: datetime | None = None) -> None:
        """Record a reconcile's plan of the deliveries due from ``since`` on; what the
        previous one planned there and this one does not was dropped by this process (a
        reload). One due before ``since`` only fell out of the window (a delivery held
        overnight for quiet hours is still wanted): the reconcile left its row alone, and
        so does this."""
        gone = {
            i
            for i in self._planned.keys() - planned.keys()
            if since is None or self._planned[i] >= since
        }
        self._dropped = (self._dropped | gone) - planned.keys()
        self._planned = dict(planned)

    def patch(
        self, planned: Mapping[str, datetime], *, replaced: Collection[str], since: datetime
    ) -> None:
        """:meth:`update` for part of the plan: ``planned`` takes the place of the ids
        ``replaced`` (what the previous plan held of the milestones re-planned)."""
        gone = {i for i in replaced if i not in planned and self._planned.get(i, since) >= since}
        for i in replaced:
            self._planned.pop(i, None)
        self._dropped = (self._dropped | gone) - planned.keys()
        self._planned.update(planned)

    def verdict(self, row: DeliveryRow) -> Verdict:
        if row.id in self._dropped:
            return Verdict.CANCEL
        due = self._planned.get(row.id)
        if due is not None and due != row.due_at:
            return Verdict.RELEASE
        return Verdict.SEND


class StillWanted:
    def __init__(
        self, finisher: Finisher, checks: Sequence[Check], *, acks: AckMemory | None = None
    ) -> None:
        self._finish = finisher
        self._checks = tuple(checks)
        self._acks = acks

    def decide(self, row: DeliveryRow) -> Verdict:
        if self._acks is not None and self._acks.verdict(row) is Verdict.ACKNOWLEDGED:
            return Verdict.ACKNOWLEDGED
        if row.attempts > 1:  # a retry: it was wanted when it was first sent
            return Verdict.SEND
        for check in self._checks:
            verdict = check.verdict(row)
            if verdict is not Verdict.SEND:
                return verdict
        return Verdict.SEND

    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        keep: list[DeliveryRow] = []
        if self._acks is not None and batch.rows:
            await self._acks.ensure_fresh()
        for row in batch.rows:
            verdict = self.decide(row)
            if verdict is Verdict.SEND:
                keep.append(row)
            elif verdict is Verdict.CANCEL:
                await self._finish.cancel(row, DeliveryReason.MILESTONE_CHANGED)
            elif verdict is Verdict.ACKNOWLEDGED:
                await self._finish.cancel(row, DeliveryReason.ACKNOWLEDGED)
            else:
                # Same reminder, new due time (a reload changed its zone or offset): give
                # the claim back untouched; it is claimed again at the new time.
                await self._finish.release(row)
        if not keep:
            return []
        return [replace(batch, rows=tuple(keep))]
