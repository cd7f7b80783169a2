"""Stage ``record``: outcomes become sent, retry or dead marks; one jitter per request;
a receiver that says the channel is gone disables it; events for the dispatcher."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from scheduler.delivery.events import DeliveryEvent, Events, Reached, RetryScheduled
from scheduler.delivery.record import Record
from scheduler.delivery.values import Batch, ChannelRuntime, Sent
from scheduler.model import Outcome, Reason, RetryPolicy
from tests.delivery.helpers import FAIL, OK, Harness, direct, runtime
from tests.support.rows import claimed, retried

GONE = Outcome(ok=False, retryable=False, reason=Reason.GONE, status_code=410, disable_channel=True)


class Setup:
    def __init__(self, h: Harness, *, rand: float = 0.5) -> None:
        self.events: list[DeliveryEvent] = []
        self.disabled: list[tuple[str, dict[str, Any]]] = []
        bus = Events()

        async def listen(event: DeliveryEvent) -> None:
            self.events.append(event)

        bus.subscribe(listen)
        self.stage = Record(
            recorder=h.recorder,
            disable_channel=lambda name, **kw: self.disabled.append((name, kw)),
            db=direct,
            metrics=h.metrics,
            events=bus,
            worker="w",
            rand=lambda: rand,
        )


def sent(h: Harness, outcome: Outcome) -> Sent:
    return Sent(outcome=outcome, started=h.clock(), finished=h.clock(), elapsed=0.01)


async def test_a_2xx_is_recorded_sent_and_reached() -> None:
    h = Harness()
    s = Setup(h)
    rows = (claimed("a"), retried(claimed("b")))
    await s.stage(Batch("hook", runtime(), rows, sent=sent(h, OK)))
    await h.close()
    assert [m.kind for m in h.marks.marks] == ["sent", "sent"]
    assert all(m.attempt is not None and m.attempt.status_code == 200 for m in h.marks.marks)
    assert s.events == [Reached((rows[0],))]  # only first attempts reach their moment


async def test_a_failure_retries_together_with_one_jitter_draw() -> None:
    h = Harness()
    rt: ChannelRuntime = runtime(retry=RetryPolicy(initial=timedelta(seconds=10)))
    s = Setup(h, rand=1.0)
    rows = (claimed("a"), claimed("b"))
    await s.stage(Batch("hook", rt, rows, sent=sent(h, FAIL)))
    await h.close()
    assert [m.kind for m in h.marks.marks] == ["retry", "retry"]
    retry_at = {m.next_attempt_at for m in h.marks.marks}
    assert retry_at == {h.clock() + timedelta(seconds=10)}  # rand 1.0: the full backoff
    assert [type(e) for e in s.events] == [RetryScheduled, RetryScheduled, Reached]


async def test_the_last_attempt_is_dead_with_max_attempts() -> None:
    h = Harness()
    s = Setup(h)
    rt = runtime(retry=RetryPolicy(max_attempts=2))
    await s.stage(Batch("hook", rt, (retried(claimed("a"), 2),), sent=sent(h, FAIL)))
    await h.close()
    assert h.marks.kinds() == [("dead", "max_attempts")]
    assert s.events == []


async def test_gone_disables_the_channel_once() -> None:
    h = Harness()
    s = Setup(h)
    rt = runtime()
    for name in ("a", "b"):
        await s.stage(Batch("hook", rt, (claimed(name),), sent=sent(h, GONE)))
    await h.close()
    assert rt.disabled
    assert [name for name, _ in s.disabled] == ["hook"]
    assert s.disabled[0][1]["fingerprint"] == rt.channel.fingerprint()
    assert h.marks.kinds() == [("dead", "gone"), ("dead", "gone")]
