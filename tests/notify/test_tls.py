"""TLS failures are named as such, against a real loopback HTTPS receiver."""

from __future__ import annotations

import ssl
from datetime import timedelta
from pathlib import Path

import httpx

from scheduler.model import Channel, ChannelType, Reason, RetryPolicy, Secret
from scheduler.notify import make_notifier
from scheduler.retry import Action, decide
from tests.support.alerts import make_alert
from tests.support.notify import send_one
from tests.support.receiver import running_receiver
from tests.support.tls import self_signed, server_context


def webhook(url: str) -> Channel:
    return Channel(
        name="audit",
        type=ChannelType.WEBHOOK,
        url=Secret(url + "/hooks/tls-test-token"),
        timeout=timedelta(seconds=5),
    )


async def test_self_signed_certificate_is_a_tls_error_not_a_network_one(tmp_path: Path) -> None:
    # Issue 13: it read "ConnectError: Operation not permitted" and retried for hours.
    cert, key = self_signed(tmp_path)
    with running_receiver(tls=server_context(cert, key)) as receiver:
        async with httpx.AsyncClient() as client:
            outcome = await send_one(make_notifier(webhook(receiver.url), client), make_alert())
        assert receiver.requests == []
    assert outcome.reason is Reason.TLS
    assert not outcome.retryable  # a configuration problem: dead at once, with the reason
    assert outcome.detail.startswith("TLS: certificate verify failed (self")
    assert "signed certificate)" in outcome.detail
    assert "Operation not permitted" not in outcome.detail
    assert "tls-test-token" not in outcome.detail
    decision = decide(outcome, 1, RetryPolicy(), rand=lambda: 0.5)
    assert (decision.action, decision.reason) == (Action.DEAD, Reason.TLS)


async def test_the_same_receiver_trusted_answers(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    trusted = ssl.create_default_context(cafile=str(cert))
    with running_receiver(tls=server_context(cert, key)) as receiver:
        async with httpx.AsyncClient(verify=trusted) as client:
            outcome = await send_one(make_notifier(webhook(receiver.url), client), make_alert())
        assert len(receiver.requests) == 1
    assert outcome.ok and outcome.reason is Reason.OK


async def test_https_to_a_plain_http_port_is_a_tls_error_that_retries() -> None:
    with running_receiver() as receiver:
        url = receiver.url.replace("http://", "https://")
        async with httpx.AsyncClient() as client:
            outcome = await send_one(make_notifier(webhook(url), client), make_alert())
    assert outcome.reason is Reason.TLS and outcome.retryable
    assert outcome.detail.startswith("TLS: handshake failed (")
    assert "tls-test-token" not in outcome.detail
