"""The outcome writer: one transaction for what piled up, every caller answered."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from scheduler.db.marks import Mark
from scheduler.delivery.recorder import Recorder
from scheduler.delivery.waves import STEP as ANSWER_STEP

NOW = datetime(2026, 12, 8, tzinfo=UTC)


def mark(i: int) -> Mark:
    return Mark("sent", f"d{i:03d}", "w", NOW, generation=1)


async def direct(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


class Writes:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def __call__(self, marks: Sequence[Mark]) -> list[bool]:
        self.batches.append([m.delivery_id for m in marks])
        return [not m.delivery_id.endswith("7") for m in marks]  # ...7: claim lost


async def test_marks_piled_up_share_one_transaction_and_each_caller_learns_its_own() -> None:
    writes = Writes()
    recorder = Recorder(writes, direct)
    count = 3 * ANSWER_STEP
    kept = await asyncio.gather(*(recorder.record(mark(i)) for i in range(count)))
    await recorder.close()
    assert writes.batches == [[f"d{i:03d}" for i in range(count)]]
    assert kept == [not f"{i:03d}".endswith("7") for i in range(count)]


async def test_a_large_batch_lets_other_ready_work_run_between_its_answers() -> None:
    recorder = Recorder(Writes(), direct)
    count = 4 * ANSWER_STEP
    answered: list[int] = []
    seen: list[int] = []  # how many callers had been answered each time "other" ran

    async def caller(i: int) -> None:
        await recorder.record(mark(i))
        answered.append(i)

    async def other_channel() -> None:
        while len(answered) < count:
            seen.append(len(answered))
            await asyncio.sleep(0)

    await asyncio.gather(other_channel(), *(caller(i) for i in range(count)))
    await recorder.close()
    assert sorted(answered) == list(range(count))
    assert any(0 < n < count for n in seen)  # ran between answers, not only before/after
    assert max(b - a for a, b in itertools.pairwise(seen)) <= ANSWER_STEP


async def test_a_failed_transaction_fails_every_caller_of_the_batch() -> None:
    def broken(marks: Sequence[Mark]) -> list[bool]:
        raise RuntimeError("database gone")

    recorder = Recorder(broken, direct)
    results = await asyncio.gather(
        *(recorder.record(mark(i)) for i in range(3)), return_exceptions=True
    )
    await recorder.close()
    assert all(isinstance(r, RuntimeError) for r in results)


async def test_closing_midway_through_the_answers_leaves_no_caller_waiting() -> None:
    recorder = Recorder(Writes(), direct)
    count = 4 * ANSWER_STEP
    callers = [asyncio.create_task(recorder.record(mark(i))) for i in range(count)]
    while not any(c.done() for c in callers):
        await asyncio.sleep(0)
    assert not all(c.done() for c in callers)  # closed while answers are under way
    await recorder.close()
    await asyncio.sleep(0)
    assert all(c.done() for c in callers)
    assert [c.result() for c in callers] == [not f"{i:03d}".endswith("7") for i in range(count)]


@pytest.mark.parametrize("count", [1, ANSWER_STEP, ANSWER_STEP + 1])
async def test_every_caller_is_answered_whatever_the_batch_size(count: int) -> None:
    recorder = Recorder(Writes(), direct)
    kept = await asyncio.gather(*(recorder.record(mark(i)) for i in range(count)))
    await recorder.close()
    assert len(kept) == count
