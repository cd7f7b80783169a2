"""Stage ``group``: chat channels combine rows within the group window; webhooks do not."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from scheduler.delivery.group import Group, clusters_within
from scheduler.delivery.values import Batch, DeliveryReason
from scheduler.model import ChannelType
from tests.delivery.helpers import runtime
from tests.support.clock import FakeClock
from tests.support.deliveries import T0
from tests.support.rows import claimed


@pytest.mark.parametrize(
    ("offsets", "window", "expected"),
    [
        ([0, 1, 2], 2, [[0, 1, 2]]),
        ([0, 1, 3], 2, [[0, 1], [3]]),
        ([0, 2, 4, 6], 2, [[0, 2], [4, 6]]),  # measured from a group's first row
        ([0, 5], 0, [[0], [5]]),
        ([], 2, []),
    ],
)
def test_clusters_lie_within_the_window_of_their_first(
    offsets: list[int], window: int, expected: list[list[int]]
) -> None:
    rows = [claimed(f"m{o}", at=T0 + timedelta(seconds=o)) for o in offsets]
    got = clusters_within(rows, timedelta(seconds=window))
    assert [[int((r.due_at - T0).total_seconds()) for r in c] for c in got] == expected


async def test_slack_groups_rows_in_due_order() -> None:
    rows = (claimed("b", at=T0 + timedelta(seconds=1)), claimed("a", at=T0))
    out = await Group()(Batch("hook", runtime(ChannelType.SLACK), rows))
    assert [[r.milestone_id for r in b.rows] for b in out] == [["a", "b"]]


async def test_a_webhook_sends_each_row_alone() -> None:
    rows = (claimed("b", at=T0 + timedelta(seconds=1)), claimed("a", at=T0))
    out = await Group()(Batch("hook", runtime(), rows))
    assert [[r.milestone_id for r in b.rows] for b in out] == [["a"], ["b"]]


async def test_rows_held_for_quiet_hours_group_at_their_opening() -> None:
    opening = T0 + timedelta(hours=9)
    clock = FakeClock(opening)
    held = [
        replace(claimed(f"m{h}", at=T0 + timedelta(hours=h)), reason=DeliveryReason.QUIET_HOURS)
        for h in (0, 3, 6)
    ]
    fresh = claimed("now", at=opening + timedelta(seconds=1))
    out = await Group(clock)(Batch("hook", runtime(ChannelType.SLACK), (*held, fresh)))
    assert [[r.milestone_id for r in b.rows] for b in out] == [["m0", "m3", "m6", "now"]]
    # Without the hold, hours apart stay apart.
    plain = [claimed(f"m{h}", at=T0 + timedelta(hours=h)) for h in (0, 3)]
    out = await Group(clock)(Batch("hook", runtime(ChannelType.SLACK), tuple(plain)))
    assert len(out) == 2
