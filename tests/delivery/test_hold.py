"""Stage ``hold``: outside its channel's quiet hours a delivery is held until the opening."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from scheduler.delivery.events import DeliveryEvent, Events, Held
from scheduler.delivery.hold import IN_MEMORY, Hold
from scheduler.delivery.policy import DEFAULT_LOOKAHEAD
from scheduler.delivery.prepare import alert_for
from scheduler.delivery.values import Batch, DeliveryReason
from scheduler.model import QuietHours
from tests.delivery.helpers import Harness, runtime
from tests.support.clock import FakeClock
from tests.support.rows import claimed, retried

# 2030-01-01 (the fake clock's start) is a Tuesday, 00:00 UTC.
OFFICE = QuietHours(frozenset(range(5)), time(9), time(18), "UTC")


def stage(h: Harness) -> tuple[Hold, list[DeliveryEvent]]:
    heard: list[DeliveryEvent] = []
    events = Events()

    async def listen(event: DeliveryEvent) -> None:
        heard.append(event)

    events.subscribe(listen)
    hold = Hold(
        recorder=h.recorder,
        events=events,
        metrics=h.metrics,
        worker="w",
        clock=h.clock,
        sleep=h.clock.sleep,
    )
    return hold, heard


async def test_a_channel_without_hours_passes_everything() -> None:
    h = Harness()
    hold, heard = stage(h)
    batch = Batch("hook", runtime(), (claimed(at=h.at(0)),))
    assert await hold(batch) == [batch]
    assert h.marks.marks == [] and heard == []
    await h.close()


@pytest.mark.parametrize("attempts", [1, 3])  # first attempts and retries alike
async def test_outside_the_hours_rows_are_held_until_the_opening(attempts: int) -> None:
    h = Harness()
    hold, heard = stage(h)
    rows = (retried(claimed("m1", at=h.at(0)), attempts), claimed("m2", at=h.at(0)))
    assert await hold(Batch("hook", runtime(hours=OFFICE), rows)) == []
    opening = datetime(2030, 1, 1, 9, tzinfo=UTC)
    assert [(m.kind, m.delivery_id, m.next_attempt_at, m.reason) for m in h.marks.marks] == [
        ("held", rows[0].id, opening, DeliveryReason.QUIET_HOURS),
        ("held", rows[1].id, opening, DeliveryReason.QUIET_HOURS),
    ]
    assert heard == [Held(rows[0].id, opening), Held(rows[1].id, opening)]
    assert h.clock.slept == []
    labels = {"channel": "hook", "outcome": "held", "reason": "quiet_hours"}
    assert h.metrics.registry.get_sample_value("tminus_deliveries_total", labels) == 2
    await h.close()


async def test_inside_the_hours_rows_go_on() -> None:
    h = Harness()
    h.clock.advance(10 * 3600)  # Tuesday 10:00
    hold, _ = stage(h)
    batch = Batch("hook", runtime(hours=OFFICE), (claimed(at=h.at(0)),))
    assert await hold(batch) == [batch]
    assert h.marks.marks == []
    await h.close()


async def test_an_opening_within_the_claim_lookahead_is_waited_out() -> None:
    # A held row is claimed again a little ahead of its opening: it must not go early.
    h = Harness()
    h.clock.moment = datetime(2030, 1, 1, 8, 59, 59, 200_000, tzinfo=UTC)
    hold, heard = stage(h)
    batch = Batch("hook", runtime(hours=OFFICE), (claimed(at=h.at(-3600)),))
    assert await hold(batch) == [batch]
    assert h.clock.slept == pytest.approx([0.8])
    assert h.clock() == datetime(2030, 1, 1, 9, tzinfo=UTC)
    assert h.marks.marks == [] and heard == []
    await h.close()


async def test_a_lost_claim_is_not_announced() -> None:
    h = Harness(kept=False)
    hold, heard = stage(h)
    assert await hold(Batch("hook", runtime(hours=OFFICE), (claimed(at=h.at(0)),))) == []
    assert len(h.marks.marks) == 1 and heard == []
    await h.close()


def test_a_held_row_says_so_when_it_is_sent() -> None:
    clock = FakeClock()
    row = claimed(at=clock())
    assert alert_for(row, clock()).held is False
    held = replace(row, reason=DeliveryReason.QUIET_HOURS.value)
    assert alert_for(held, clock() + timedelta(hours=9)).held is True
    assert DEFAULT_LOOKAHEAD < IN_MEMORY  # a held row claimed ahead of its opening waits
