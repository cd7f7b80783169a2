"""Stage ``send``: one request on the wire; a Retry-After pauses the channel, capped."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from scheduler.delivery.policy import MAX_PAUSE
from scheduler.delivery.send import Send
from scheduler.delivery.values import Batch
from scheduler.model import Alert, ChannelType, Outcome, Reason
from scheduler.notify.base import Request
from tests.delivery.helpers import OK, FakeNotifier, Harness, channel, runtime
from tests.support.rows import claimed


def prepared(rows: Sequence[object]) -> Request:
    return Request(alerts=tuple(rows), content=b"{}", headers={})  # type: ignore[arg-type]


async def test_the_ids_are_on_the_wire_only_while_the_request_runs() -> None:
    h = Harness()
    stage = Send(clock=h.clock)
    seen: list[frozenset[str]] = []

    class Watching(FakeNotifier):
        async def send(self, request: Request) -> Outcome:
            seen.append(frozenset(stage.on_the_wire))
            return OK

    rt = runtime()
    rt.notifier = Watching(channel())
    row = claimed("a")
    alert: Alert = Alert(row.id, None, "hook", 1, False, h.clock())  # type: ignore[arg-type]
    (out,) = await stage(Batch("hook", rt, (row,), request=prepared([alert])))
    assert seen == [frozenset({row.id})]
    assert stage.on_the_wire == set()
    assert out.sent is not None and out.sent.outcome is OK
    assert out.sent.started == out.sent.finished == h.clock()


@pytest.mark.parametrize(
    ("asked", "paused_at_most"), [(3.0, 3.0), (1e5, MAX_PAUSE.total_seconds())]
)
async def test_a_retry_after_pauses_the_whole_channel_within_the_cap(
    asked: float, paused_at_most: float
) -> None:
    h = Harness()
    limited = Outcome(
        ok=False, retryable=True, reason=Reason.RATE_LIMITED, status_code=429, retry_after=asked
    )
    rt = runtime(ChannelType.WEBHOOK, limited)
    assert rt.bucket is not None
    row = claimed("a")
    alert: Alert = Alert(row.id, None, "hook", 1, False, h.clock())  # type: ignore[arg-type]
    batch = Batch("hook", rt, (row,), request=prepared([alert]))
    await Send(clock=h.clock)(batch)
    assert 0 < rt.bucket.paused_for() <= paused_at_most
