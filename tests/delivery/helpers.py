"""What the stage tests share: a fake clock, a recorder that keeps its marks, a fake
notifier speaking the ``prepare``/``send`` protocol, and a channel runtime."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from scheduler.db.marks import Mark
from scheduler.delivery.finish import Finisher
from scheduler.delivery.recorder import Recorder
from scheduler.delivery.values import ChannelRuntime
from scheduler.metrics import Metrics
from scheduler.model import Alert, Channel, ChannelType, Outcome, Reason, Secret
from scheduler.notify.base import Request
from scheduler.notify.pacing import TokenBucket
from tests.support.clock import FakeClock

OK = Outcome(ok=True, retryable=False, reason=Reason.OK, status_code=200)
FAIL = Outcome(ok=False, retryable=True, reason=Reason.SERVER_ERROR, status_code=500)


async def direct(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


class Marks:
    """A stand-in for ``Store.record``: keeps what it is asked to record."""

    def __init__(self, kept: bool = True) -> None:
        self.marks: list[Mark] = []
        self.kept = kept

    def __call__(self, marks: Sequence[Mark]) -> list[bool]:
        self.marks.extend(marks)
        return [self.kept] * len(marks)

    def kinds(self) -> list[tuple[str, str | None]]:
        return [(m.kind, m.reason) for m in self.marks]


class FakeNotifier:
    """One request per ``per_request`` alerts; answers ``outcomes`` in turn (then the last)."""

    def __init__(self, channel: Channel, *outcomes: Outcome, per_request: int = 1) -> None:
        self.channel = channel
        self.outcomes = list(outcomes) or [OK]
        self.per_request = per_request
        self.prepared: list[list[Alert]] = []
        self.sent: list[list[str]] = []

    def prepare(self, alerts: Sequence[Alert]) -> list[Request]:
        self.prepared.append(list(alerts))
        out = []
        for i in range(0, len(alerts), self.per_request):
            part = tuple(alerts[i : i + self.per_request])
            body = json.dumps([a.delivery_id for a in part]).encode()
            out.append(Request(alerts=part, content=body, headers={}))
        return out

    async def send(self, request: Request) -> Outcome:
        self.sent.append([a.delivery_id for a in request.alerts])
        return self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]


def channel(kind: ChannelType = ChannelType.WEBHOOK, name: str = "hook", **kw: Any) -> Channel:
    return Channel(name=name, type=kind, url=Secret("http://127.0.0.1:9/x"), **kw)


def runtime(
    kind: ChannelType = ChannelType.WEBHOOK, *outcomes: Outcome, per_request: int = 1, **kw: Any
) -> ChannelRuntime:
    ch = channel(kind, **kw)
    bucket = TokenBucket(1e6, 1_000_000, lambda: 0.0)
    return ChannelRuntime(ch, FakeNotifier(ch, *outcomes, per_request=per_request), bucket)


class Harness:
    """A clock, marks and a finisher wired as the pipeline wires them."""

    def __init__(self, *, kept: bool = True) -> None:
        self.clock = FakeClock()
        self.marks = Marks(kept)
        self.metrics = Metrics()
        self.recorder = Recorder(self.marks, direct)
        self.finisher = Finisher(
            recorder=self.recorder, metrics=self.metrics, worker="w", clock=self.clock
        )

    def at(self, seconds: float) -> Any:
        return self.clock() + timedelta(seconds=seconds)

    async def close(self) -> None:
        await self.recorder.close()
