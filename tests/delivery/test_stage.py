"""The runner: each stage's results go on, in order on chat channels, together otherwise."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace

import pytest

from scheduler.delivery.stage import MultiStage
from scheduler.delivery.values import Batch
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
