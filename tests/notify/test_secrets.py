"""No webhook URL or signing secret in logs or outcomes when sends fail."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from scheduler.model import Channel, ChannelType, Outcome, Secret
from scheduler.notify import make_notifier
from tests.support.alerts import make_alert
from tests.support.notify import send_one
from tests.support.receiver import Received, Response, running_receiver
from tests.support.secrets import assert_no_secret

SIGNING = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LWZvci10ZXN0cw=="


def echo(req: Received) -> Response:
    # A hostile or chatty receiver that repeats what it got, URL and headers included.
    return Response(500, f"failed {req.path} {req.headers} {req.body[:100]!r}")


@pytest.fixture
def quiet_http_loggers() -> Iterator[None]:
    """As the daemon's logging setup does: httpx and httpcore log full URLs at INFO."""
    loggers = [logging.getLogger(n) for n in ("httpx", "httpcore")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    yield
    for lg, level in zip(loggers, levels, strict=True):
        lg.setLevel(level)


def dump(outcome: Outcome) -> str:
    return " ".join(str(v) for v in (outcome.body, outcome.detail, repr(outcome)))


@pytest.mark.usefixtures("quiet_http_loggers")
async def test_failing_sends_leak_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    outcomes: list[Outcome] = []
    secrets: list[str] = [SIGNING, SIGNING.removeprefix("whsec_")]
    with running_receiver(echo) as receiver:
        receiver.script.append(Response(200, "x", delay=1.0))
        urls = {
            ChannelType.WEBHOOK: receiver.url + "/hooks/T0SECRET/B0SECRET/tokentokentoken",
            ChannelType.SLACK: receiver.url + "/services/T0SECRET/B0SECRET/slacktokenslack",
            ChannelType.DISCORD: receiver.url + "/api/webhooks/123/discordtokendiscord",
        }
        async with httpx.AsyncClient() as client:
            for kind, url in urls.items():
                for target in (url, url.replace(receiver.url, f"http://127.0.0.1:{closed}")):
                    channel = Channel(
                        name=kind.value,
                        type=kind,
                        url=Secret(target),
                        secret=Secret(SIGNING) if kind is ChannelType.WEBHOOK else None,
                        timeout=timedelta(seconds=0.3),
                    )
                    secrets.append(target)
                    outcomes.append(await send_one(make_notifier(channel, client), make_alert()))
    assert [o.ok for o in outcomes] == [False] * 6
    assert {o.reason.value for o in outcomes} >= {"timeout", "server_error", "network"}
    assert any("***" in o.body for o in outcomes)  # the echoed path was there, and scrubbed
    records = " ".join(repr(r.__dict__) for r in caplog.records)
    assert caplog.records, "the notifiers log each answer at DEBUG"
    for text in [caplog.text, records, *map(dump, outcomes)]:
        assert_no_secret(text, secrets)
