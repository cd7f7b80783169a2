"""Stage ``route``: a removed or disabled channel ends its deliveries ``dead``."""

from __future__ import annotations

import pytest

from scheduler.delivery.route import Route
from scheduler.delivery.values import Batch, DeliveryReason
from tests.delivery.helpers import Harness, runtime
from tests.support.rows import claimed


async def test_a_live_channel_passes_the_batch_on() -> None:
    h = Harness()
    batch = Batch("hook", runtime(), (claimed("a"),))
    assert await Route(h.finisher)(batch) == [batch]
    assert h.marks.marks == []


@pytest.mark.parametrize(
    ("disabled", "removed", "reason"),
    [
        (False, True, DeliveryReason.CHANNEL_REMOVED),
        (True, False, DeliveryReason.CHANNEL_DISABLED),
    ],
)
async def test_a_gone_channel_ends_every_row_dead(
    disabled: bool, removed: bool, reason: DeliveryReason
) -> None:
    h = Harness()
    rt = runtime()
    rt.disabled = disabled
    rows = (claimed("a"), claimed("b"))
    assert await Route(h.finisher)(Batch("hook", None if removed else rt, rows)) == []
    await h.close()
    assert h.marks.kinds() == [("dead", reason), ("dead", reason)]
    assert [m.delivery_id for m in h.marks.marks] == [r.id for r in rows]
