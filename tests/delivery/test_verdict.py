"""Stage ``verdict``: a first attempt claimed ahead is sent, cancelled or given back."""

from __future__ import annotations

from datetime import timedelta

from scheduler.db.rows import DeliveryRow
from scheduler.delivery.values import Batch, DeliveryReason, Verdict
from scheduler.delivery.verdict import PlanMemory, StillWanted
from tests.delivery.helpers import Harness, runtime
from tests.support.deliveries import T0
from tests.support.rows import claimed, retried


def test_the_plan_memory_judges_against_this_process_own_plan() -> None:
    memory = PlanMemory()
    a, b, c = claimed("a"), claimed("b"), claimed("c")
    memory.update({a.id: a.due_at, b.id: b.due_at})
    memory.update({a.id: a.due_at + timedelta(hours=1)})  # b dropped by a reload, a moved
    assert memory.verdict(a) is Verdict.RELEASE
    assert memory.verdict(b) is Verdict.CANCEL
    assert memory.verdict(c) is Verdict.SEND  # never planned here: another replica's; send it
    memory.update({a.id: a.due_at, b.id: b.due_at})  # b comes back
    assert memory.verdict(b) is Verdict.SEND
    assert memory.verdict(a) is Verdict.SEND


def test_a_patch_replaces_only_the_ids_it_names() -> None:
    memory = PlanMemory()
    a, b, c = claimed("a"), claimed("b"), claimed("c")
    memory.update({a.id: a.due_at, b.id: b.due_at, c.id: c.due_at})
    # an incremental reload re-planned a and b: a moved, b went away; c is not its business
    memory.patch({a.id: a.due_at + timedelta(hours=1)}, replaced=[a.id, b.id], since=T0)
    assert memory.verdict(a) is Verdict.RELEASE
    assert memory.verdict(b) is Verdict.CANCEL
    assert memory.verdict(c) is Verdict.SEND
    # one due before the window only fell out of it: not dropped
    early = claimed("early")
    memory.update({early.id: T0 - timedelta(days=1)})
    memory.patch({}, replaced=[early.id], since=T0)
    assert memory.verdict(early) is Verdict.SEND
    memory.patch({b.id: b.due_at}, replaced=[b.id], since=T0)  # b comes back
    assert memory.verdict(b) is Verdict.SEND


class Always:
    def __init__(self, verdict: Verdict) -> None:
        self.verdict_ = verdict
        self.asked: list[str] = []

    def verdict(self, row: DeliveryRow) -> Verdict:
        self.asked.append(row.id)
        return self.verdict_


async def test_cancelled_and_released_rows_leave_the_batch() -> None:
    h = Harness()
    memory = PlanMemory()
    keep, drop, move = claimed("keep"), claimed("drop"), claimed("move")
    memory.update({drop.id: T0, move.id: T0})
    memory.update({keep.id: keep.due_at, move.id: T0 + timedelta(minutes=5)})
    out = await StillWanted(h.finisher, [memory])(Batch("hook", runtime(), (keep, drop, move)))
    await h.close()
    assert [[r.id for r in b.rows] for b in out] == [[keep.id]]
    assert h.marks.kinds() == [("cancelled", DeliveryReason.MILESTONE_CHANGED), ("released", None)]
    assert [m.delivery_id for m in h.marks.marks] == [drop.id, move.id]


async def test_retries_are_not_judged_again_and_an_empty_batch_stops() -> None:
    h = Harness()
    check = Always(Verdict.CANCEL)
    retry = retried(claimed("r"))
    stage = StillWanted(h.finisher, [check])
    out = await stage(Batch("hook", runtime(), (retry,)))
    assert [b.rows for b in out] == [(retry,)]
    assert check.asked == []
    assert await stage(Batch("hook", runtime(), (claimed("f"),))) == []
    assert check.asked == [claimed("f").id]


async def test_the_first_check_that_objects_decides() -> None:
    h = Harness()
    first, second = Always(Verdict.SEND), Always(Verdict.RELEASE)
    row = claimed("x")
    assert await StillWanted(h.finisher, [first, second])(Batch("hook", runtime(), (row,))) == []
    await h.close()
    assert first.asked == second.asked == [row.id]
    assert h.marks.kinds() == [("released", None)]
