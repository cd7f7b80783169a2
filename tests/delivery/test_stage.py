"""The runner: each stage's results go on, in order on chat channels, together otherwise."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace

import pytest

from scheduler.delivery.stage import MultiStage
from scheduler.delivery.values import Batch
from scheduler.delivery.waves import STEP as FAN_OUT_STEP
from scheduler.model import ChannelType
from tests.delivery.helpers import runtime
from tests.support.rows import claimed


class Split:
    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        return [replace(batch, rows=(row,)) for row in batch.rows]


class Log:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.running = 0
        self.most = 0

    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(0)
        self.seen.append(batch.rows[0].milestone_id)
        self.running -= 1
        return []


class Stop:
    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        return []


@pytest.mark.parametrize(("kind", "together"), [(ChannelType.WEBHOOK, 3), (ChannelType.SLACK, 1)])
async def test_fan_out_runs_together_unless_the_channel_keeps_order(
    kind: ChannelType, together: int
) -> None:
    log = Log()
    rows = (claimed("a"), claimed("b"), claimed("c"))
    await MultiStage([Split(), log]).run(Batch("hook", runtime(kind), rows))
    assert sorted(log.seen) == ["a", "b", "c"]
    assert log.most == together
    if together == 1:
        assert log.seen == ["a", "b", "c"]


async def test_an_empty_result_stops_the_batch() -> None:
    log = Log()
    await MultiStage([Stop(), log]).run(Batch("hook", runtime(), (claimed("a"),)))
    assert log.seen == []


async def test_a_failing_sibling_does_not_cut_the_others_short() -> None:
    log = Log()

    class Boom:
        async def __call__(self, batch: Batch) -> Sequence[Batch]:
            if batch.rows[0].milestone_id == "a":
                raise RuntimeError("a fails")
            return [batch]

    rows = (claimed("a"), claimed("b"), claimed("c"))
    with pytest.raises(RuntimeError, match="a fails"):
        await MultiStage([Split(), Boom(), log]).run(Batch("hook", runtime(), rows))
    assert sorted(log.seen) == ["b", "c"]


async def test_a_wide_fan_out_lets_other_ready_work_run_between_its_steps() -> None:
    order: list[str] = []

    class Note:
        async def __call__(self, batch: Batch) -> Sequence[Batch]:
            order.append(batch.rows[0].milestone_id)
            return []

    async def other_channel() -> None:
        order.append("other")

    rows = tuple(claimed(f"m{i:03d}") for i in range(3 * FAN_OUT_STEP))
    fan_out = asyncio.create_task(MultiStage([Split(), Note()]).run(Batch("hook", runtime(), rows)))
    await asyncio.sleep(0)  # the fan-out starts its first step of branches
    other = asyncio.create_task(other_channel())  # ready while the fan-out is under way
    await asyncio.gather(fan_out, other)
    assert len(order) == 3 * FAN_OUT_STEP + 1
    assert order.index("other") <= 2 * FAN_OUT_STEP  # not behind every branch


async def test_cancelling_a_fan_out_mid_way_cancels_the_branches_it_started() -> None:
    started: list[str] = []
    never = asyncio.Event()

    class Hang:
        async def __call__(self, batch: Batch) -> Sequence[Batch]:
            started.append(batch.rows[0].milestone_id)
            await never.wait()
            return []

    rows = tuple(claimed(f"m{i:03d}") for i in range(3 * FAN_OUT_STEP))
    fan_out = asyncio.create_task(MultiStage([Split(), Hang()]).run(Batch("hook", runtime(), rows)))
    for _ in range(3):
        await asyncio.sleep(0)
    fan_out.cancel()
    with pytest.raises(asyncio.CancelledError):
        await fan_out
    assert 0 < len(started) < 3 * FAN_OUT_STEP
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
