"""Generic webhooks against a real loopback receiver, signatures checked by the reference code."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from scheduler import __version__
from scheduler.model import Alert, Channel, ChannelType, Reason, Secret
from scheduler.notify import Request, make_notifier
from scheduler.notify.webhook import sign
from scheduler.render import webhook_body
from tests.support.alerts import make_alert
from tests.support.notify import send_one
from tests.support.receiver import Receiver, Response, running_receiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture(scope="module")
def shared_receiver() -> Iterator[Receiver]:
    # One server per module: stopping one takes half a second (its poll interval).
    with running_receiver(Response(204)) as r:
        yield r


@pytest.fixture
def receiver(shared_receiver: Receiver) -> Receiver:
    shared_receiver.requests.clear()
    shared_receiver.script.clear()
    return shared_receiver


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def now_alert(**kw: object) -> Alert:
    """An alert being sent right now (the reference verifier checks the timestamp)."""
    return dataclasses.replace(make_alert(channel="audit", **kw), sent_at=datetime.now(UTC))  # type: ignore[arg-type]


def audit(url: str, **kw: object) -> Channel:
    return Channel(name="audit", type=ChannelType.WEBHOOK, url=Secret(url), **kw)  # type: ignore[arg-type]


async def test_signed_delivery_verifies_with_the_reference_package(
    receiver: Receiver, client: httpx.AsyncClient
) -> None:
    channel = audit(
        receiver.url + "/treaty", secret=Secret(SECRET), headers={"X-Team": "arms-control"}
    )
    alert = now_alert(title="Ünïcode — & <stuff> 💥")
    outcome = await send_one(make_notifier(channel, client), alert)
    assert outcome.ok and outcome.reason is Reason.OK and outcome.status_code == 204
    [req] = receiver.requests
    assert req.path == "/treaty"
    assert Webhook(SECRET).verify(req.body, req.headers) == webhook_body(alert)
    assert json.loads(req.body) == webhook_body(alert)
    h = req.headers
    assert h["content-type"] == "application/json"
    assert h["user-agent"] == f"tminus/{__version__}"
    assert h["x-team"] == "arms-control"
    assert h["webhook-id"] == alert.delivery_id
    assert h["webhook-timestamp"] == str(int(alert.sent_at.timestamp()))
    assert h["webhook-signature"].startswith("v1,")
    # The check can fail: a changed body does not verify.
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(req.body.replace(b'"late":false', b'"late":true'), req.headers)


async def test_retries_carry_the_same_id(receiver: Receiver, client: httpx.AsyncClient) -> None:
    notifier = make_notifier(audit(receiver.url), client)
    first = now_alert()
    await send_one(notifier, first)
    await send_one(notifier, dataclasses.replace(first, attempt=2))
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert ids == [first.delivery_id] * 2
    assert [r.json()["attempt"] for r in receiver.requests] == [1, 2]


async def test_unsigned_without_a_secret(receiver: Receiver, client: httpx.AsyncClient) -> None:
    assert (await send_one(make_notifier(audit(receiver.url), client), now_alert())).ok
    assert "webhook-signature" not in receiver.requests[0].headers
    assert "webhook-id" in receiver.requests[0].headers


def test_signature_known_answer() -> None:
    # The Standard Webhooks specification's own example (id, timestamp, body, secret).
    body = b'{"test": 2432232314}'
    assert (
        sign(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


async def test_redirect_is_a_failure_and_not_followed(
    receiver: Receiver, client: httpx.AsyncClient
) -> None:
    receiver.script.append(Response(302, headers={"location": receiver.url + "/moved"}))
    outcome = await send_one(make_notifier(audit(receiver.url + "/hook"), client), now_alert())
    assert (outcome.ok, outcome.retryable, outcome.reason) == (False, False, Reason.REDIRECT)
    assert [r.path for r in receiver.requests] == ["/hook"]


@pytest.mark.parametrize(
    ("response", "reason", "retryable", "disable"),
    [
        (Response(500, "oops"), Reason.SERVER_ERROR, True, False),
        (Response(503, "", {"Retry-After": "30"}), Reason.SERVER_ERROR, True, False),
        (Response(429, "", {"Retry-After": "2"}), Reason.RATE_LIMITED, True, False),
        (Response(408), Reason.RETRYABLE_STATUS, True, False),
        (Response(400, "bad"), Reason.CLIENT_ERROR, False, False),
        (Response(410), Reason.GONE, False, True),
    ],
)
async def test_failures(
    receiver: Receiver,
    client: httpx.AsyncClient,
    response: Response,
    reason: Reason,
    retryable: bool,
    disable: bool,
) -> None:
    receiver.script.append(response)
    outcome = await send_one(make_notifier(audit(receiver.url), client), now_alert())
    assert (outcome.ok, outcome.reason, outcome.retryable) == (False, reason, retryable)
    assert outcome.disable_channel is disable
    assert outcome.status_code == response.status


async def test_timeout(receiver: Receiver, client: httpx.AsyncClient) -> None:
    receiver.script.append(Response(204, delay=1.0))
    channel = audit(receiver.url, timeout=timedelta(seconds=0.2))
    outcome = await send_one(make_notifier(channel, client), now_alert())
    assert (outcome.reason, outcome.retryable) == (Reason.TIMEOUT, True)


@asynccontextmanager
async def trickling_receiver(*, in_headers: bool, gap: float = 0.05) -> AsyncIterator[str]:
    """A loopback server that answers one byte every ``gap`` seconds, for seconds.

    Each byte arrives well within httpx's per-read timeout, so only a bound on
    the whole request stops it.
    """
    handlers: set[asyncio.Task[None]] = set()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"content-length: *(\d+)", head, re.IGNORECASE)
            await reader.readexactly(int(length.group(1)) if length else 0)
            body = b"x" * 100
            status = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n"
            if not in_headers:
                writer.write(status)
            for byte in status + body if in_headers else body:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(gap)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/hook/s3cr3t-path"
    finally:
        server.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


@pytest.mark.parametrize("in_headers", [False, True], ids=["body", "headers"])
async def test_timeout_bounds_the_whole_request(
    client: httpx.AsyncClient, in_headers: bool
) -> None:
    # SPEC: "Each request has a timeout". A receiver that trickles its answer
    # must not hold a delivery past the channel's timeout.
    async with trickling_receiver(in_headers=in_headers) as url:
        channel = audit(url, timeout=timedelta(seconds=0.4))
        started = time.monotonic()
        outcome = await send_one(make_notifier(channel, client), now_alert())
        elapsed = time.monotonic() - started
    assert (outcome.ok, outcome.reason, outcome.retryable) == (False, Reason.TIMEOUT, True)
    assert outcome.detail == "TimeoutError: no answer within the channel's timeout"
    assert url not in outcome.detail and "s3cr3t" not in outcome.detail
    assert 0.35 <= elapsed < 1.5


async def test_connection_refused(client: httpx.AsyncClient) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outcome = await send_one(
        make_notifier(audit(f"http://127.0.0.1:{port}/x"), client), now_alert()
    )
    assert (outcome.reason, outcome.retryable) == (Reason.NETWORK, True)
    assert outcome.detail == "ConnectError: Connection refused"


async def test_a_batch_is_one_alert(client: httpx.AsyncClient) -> None:
    notifier = make_notifier(audit("http://127.0.0.1:9/"), client)
    alerts = [now_alert(milestone_id=f"m{i}") for i in range(3)]
    assert [list(r.alerts) for r in notifier.prepare(alerts)] == [[a] for a in alerts]
    with pytest.raises(ValueError, match="one request"):
        await notifier.send(Request(tuple(alerts), b"{}", {}))
