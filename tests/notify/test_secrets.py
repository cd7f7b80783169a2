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


TOKEN = "header-secret-token-0123456789"


def _pieces(secret: str, shortest: int = 5) -> list[str]:
    return [secret[:n] for n in range(shortest, len(secret) + 1)]


@pytest.mark.parametrize(
    "padding",
    [
        # " Authorization: Bearer " is 23 characters: the token begins 15 before the cut
        500 - 23 - 15,  # the end of the 500-character excerpt an outcome keeps
        16 * 1024 - 23 - 15,  # the 16 KiB the notifier reads of an answer at most
    ],
)
async def test_a_header_secret_cut_in_half_is_still_scrubbed(padding: int) -> None:
    body = "x" * padding + f" Authorization: Bearer {TOKEN} " + "y" * 20_000
    with running_receiver(Response(400, body)) as receiver:
        channel = Channel(
            name="audit",
            type=ChannelType.WEBHOOK,
            url=Secret(receiver.url + "/hook"),
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        async with httpx.AsyncClient() as client:
            outcome = await send_one(make_notifier(channel, client), make_alert())
    assert outcome.reason.value == "client_error"
    shown = dump(outcome)
    assert not [p for p in _pieces(TOKEN) if p in shown.replace("x", "").replace("y", "")]


async def test_a_url_path_scrubs_itself_not_the_words_like_it() -> None:
    # Issue 13: a URL path of 8+ characters was a secret as a bare word, and
    # "redirected" became "***ed".
    def moved(req: Received) -> Response:
        return Response(301, f"redirected from {req.path}", {"Location": "/elsewhere"})

    with running_receiver(moved) as receiver:
        channel = Channel(
            name="mover", type=ChannelType.WEBHOOK, url=Secret(receiver.url + "/redirect")
        )
        async with httpx.AsyncClient() as client:
            outcome = await send_one(make_notifier(channel, client), make_alert())
    assert outcome.reason.value == "redirect"
    assert outcome.body == "redirected from ***"
    assert "redirected; redirects are not followed" in outcome.detail
