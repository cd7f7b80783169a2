"""Stage ``group``: chat channels combine rows within the group window; webhooks do not."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.delivery.group import Group, clusters_within
from scheduler.delivery.values import Batch
from scheduler.model import ChannelType
from tests.delivery.helpers import runtime
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
