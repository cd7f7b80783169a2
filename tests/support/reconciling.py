"""A stand-in for the dispatcher as the reconciler sees it: the plan memory, and arming
(shared by the incremental-reconcile tests and ``benchmarks.reload_100k``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scheduler.delivery.verdict import PlanMemory


class FakeDispatcher:
    """What the reconciler asks of the dispatcher: the plan memory, and arming."""

    def __init__(self) -> None:
        self.plan = PlanMemory()

    def set_plan(self, planned: dict[str, datetime], *, since: datetime | None = None) -> None:
        self.plan.update(planned, since=since)

    def patch_plan(self, planned: dict[str, datetime], *, replaced: Any, since: datetime) -> None:
        self.plan.patch(planned, replaced=replaced, since=since)

    async def arm(self) -> None:
        return None
