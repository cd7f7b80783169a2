"""Stage ``prepare``: rows become requests, rendered once, each a batch of its own."""

from __future__ import annotations

from scheduler.delivery.prepare import Prepare, alert_for
from scheduler.delivery.values import Batch
from scheduler.model import ChannelType
from tests.delivery.helpers import FakeNotifier, Harness, runtime
from tests.support.rows import claimed, retried


async def test_the_first_request_goes_on_with_exactly_its_rows() -> None:
    h = Harness()
    rt = runtime(ChannelType.SLACK, per_request=2)
    rows = tuple(claimed(f"m{i}") for i in range(5))
    (out,) = await Prepare(clock=h.clock)(Batch("hook", rt, rows))
    notifier = rt.notifier
    assert isinstance(notifier, FakeNotifier)
    assert len(notifier.prepared) == 1  # rendered once
    assert [a.sent_at for a in notifier.prepared[0]] == [h.clock()] * 5  # stamped now
    assert [r.id for r in out.rows] == [rows[0].id, rows[1].id]
    assert out.request is not None
    assert [a.delivery_id for a in out.request.alerts] == [r.id for r in out.rows]


def test_an_alert_comes_from_the_stored_snapshot() -> None:
    h = Harness()
    row = retried(claimed("inf", offset="7d"), 3)
    alert = alert_for(row, h.clock())
    assert alert.delivery_id == row.id
    assert alert.attempt == 3
    assert alert.sent_at == h.clock()
    assert alert.reminder.milestone.id == "inf"
    assert alert.reminder.due_at == row.due_at
    assert alert.reminder.id == row.reminder_id
    assert alert.reminder.delivery_id(row.channel) == row.id
