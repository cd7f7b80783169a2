"""Email channels against a real SMTP server on loopback (aiosmtpd): TLS, auth, replies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from scheduler.delivery.policy import is_grouped
from scheduler.model import (
    Channel,
    ChannelType,
    EmailSettings,
    Mailbox,
    Reason,
    Secret,
    StartTLS,
    Templates,
)
from scheduler.notify.email import EmailNotifier
from scheduler.notify.registry import make_notifier
from tests.support.alerts import burst, make_alert
from tests.support.daemon import free_port
from tests.support.secrets import assert_no_secret
from tests.support.smtp import LoopbackCA, SMTPServer

USER, PASSWORD = "deadlines-bot", "correct-horse-battery-staple"
TO = (Mailbox("legal@example.org"), Mailbox("counsel@example.org", "Counsel"))


def email_channel(
    server: SMTPServer | None = None,
    *,
    port: int | None = None,
    login: tuple[str, str] | None = None,
    starttls: StartTLS = StartTLS.AUTO,
    timeout: float = 5,
) -> Channel:
    from datetime import timedelta

    implicit = server is not None and server.url.startswith("smtps")
    port = port if port is not None else server.port if server else free_port()
    settings = EmailSettings(
        host="127.0.0.1",
        port=port,
        implicit_tls=implicit,
        sender=Mailbox("deadlines@example.org", "tminus"),
        recipients=TO,
        starttls=starttls,
        username=Secret(login[0]) if login else None,
        password=Secret(login[1]) if login else None,
    )
    scheme = "smtps" if implicit else "smtp"
    return Channel(
        name="legal-mail",
        type=ChannelType.EMAIL,
        url=Secret(f"{scheme}://127.0.0.1:{port}"),
        timeout=timedelta(seconds=timeout),
        email=settings,
    )


@pytest.fixture
def ca(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LoopbackCA:
    """A test CA that the notifier trusts (through SSL_CERT_FILE, as a user's private CA)."""
    authority = LoopbackCA()
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.bundle(tmp_path)))
    return authority


@pytest.fixture
def plain() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    yield server
    server.stop()


async def send_one(channel: Channel, **alert_args: object):  # type: ignore[no-untyped-def]
    notifier = EmailNotifier(channel)
    [request] = notifier.prepare([make_alert(channel=channel.name, **alert_args)])  # type: ignore[arg-type]
    return request, await notifier.send(request)


async def test_registered_and_grouped(plain: SMTPServer) -> None:
    channel = email_channel(plain)
    async with httpx.AsyncClient() as client:
        assert isinstance(make_notifier(channel, client), EmailNotifier)
    assert is_grouped(channel)


async def test_plain_smtp_delivers_to_every_recipient(plain: SMTPServer) -> None:
    request, outcome = await send_one(email_channel(plain))
    assert outcome.ok and outcome.reason is Reason.OK and outcome.status_code == 250
    (mail,) = plain.mails
    assert mail.mail_from == "deadlines@example.org"
    assert mail.rcpt_tos == ["legal@example.org", "counsel@example.org"]
    assert not mail.tls
    message = mail.message
    assert message["Message-ID"] == f"<{request.alerts[0].delivery_id}@example.org>"
    assert message.get_content_type() == "multipart/mixed"
    assert message["Subject"].startswith("T-7d: INF Treaty withdrawal takes effect")
    assert mail.raw.replace(b"\r\n", b"\n") == request.content.replace(b"\r\n", b"\n")


async def test_starttls_when_offered(ca: LoopbackCA) -> None:
    server = SMTPServer(tls="starttls", ca=ca, credentials=(USER, PASSWORD)).start()
    try:
        _, outcome = await send_one(email_channel(server, login=(USER, PASSWORD)))
    finally:
        server.stop()
    assert outcome.ok, outcome
    (mail,) = server.mails
    assert mail.tls, "the message went in the clear although the server offered STARTTLS"
    assert mail.login == USER
    assert server.auth_attempts == [(USER, PASSWORD)]


async def test_implicit_tls(ca: LoopbackCA) -> None:
    server = SMTPServer(tls="implicit", ca=ca, credentials=(USER, PASSWORD)).start()
    try:
        _, outcome = await send_one(email_channel(server, login=(USER, PASSWORD)))
    finally:
        server.stop()
    assert outcome.ok, outcome
    (mail,) = server.mails
    assert mail.tls and mail.login == USER


async def test_untrusted_certificate_is_dead_not_sent_in_the_clear() -> None:
    # No SSL_CERT_FILE: the server's certificate comes from a CA nobody trusts.
    server = SMTPServer(tls="starttls").start()
    try:
        _, outcome = await send_one(email_channel(server))
    finally:
        server.stop()
    assert not outcome.ok and not outcome.retryable
    assert outcome.reason is Reason.TLS
    assert "certificate verify failed" in outcome.detail
    assert server.mails == [] and server.rcpt_seen == []


async def test_starttls_required_refuses_a_server_without_it(plain: SMTPServer) -> None:
    _, outcome = await send_one(email_channel(plain, starttls=StartTLS.REQUIRED))
    assert (outcome.ok, outcome.retryable, outcome.reason) == (False, False, Reason.TLS)
    assert "STARTTLS" in outcome.detail
    assert plain.rcpt_seen == []


async def test_password_is_never_sent_without_tls() -> None:
    server = SMTPServer(credentials=(USER, PASSWORD), auth_over_plain=True).start()
    try:
        _, outcome = await send_one(email_channel(server, login=(USER, PASSWORD)))
    finally:
        server.stop()
    assert (outcome.ok, outcome.retryable, outcome.reason) == (False, False, Reason.TLS)
    assert server.auth_attempts == [], "the password went over an unencrypted connection"


async def test_535_is_dead_and_disables_the_channel(ca: LoopbackCA) -> None:
    server = SMTPServer(tls="starttls", ca=ca, credentials=(USER, PASSWORD)).start()
    try:
        _, outcome = await send_one(email_channel(server, login=(USER, "wrong-password-123")))
    finally:
        server.stop()
    assert outcome.status_code == 535
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert outcome.reason is Reason.AUTH_FAILED and outcome.disable_channel
    assert server.mails == []
    assert_no_secret(repr(outcome), ["wrong-password-123"])


async def test_451_at_data_retries(plain: SMTPServer) -> None:
    plain.script.append(("DATA", "451 4.3.0 Mailbox busy, try later"))
    _, outcome = await send_one(email_channel(plain))
    assert (outcome.ok, outcome.retryable, outcome.reason) == (
        False,
        True,
        Reason.RETRYABLE_STATUS,
    )
    assert outcome.status_code == 451 and "try later" in outcome.body
    _, again = await send_one(email_channel(plain))
    assert again.ok and len(plain.mails) == 1


async def test_550_for_one_recipient_sends_to_nobody(plain: SMTPServer) -> None:
    plain.script.append(("RCPT", "250 OK"))  # legal@ is fine...
    plain.script.append(("RCPT", "550 5.1.1 No such user"))  # ...counsel@ does not exist
    _, outcome = await send_one(email_channel(plain))
    assert (outcome.ok, outcome.retryable, outcome.reason) == (False, False, Reason.CLIENT_ERROR)
    assert outcome.status_code == 550
    assert "counsel@example.org" in outcome.detail and "sent to none" in outcome.detail
    assert plain.data_seen == [], "part of the recipients got the message"


async def test_connection_refused_retries() -> None:
    _, outcome = await send_one(email_channel(port=free_port()))
    assert (outcome.ok, outcome.retryable, outcome.reason) == (False, True, Reason.NETWORK)
    assert "Connection refused" in outcome.detail


async def test_a_server_that_never_answers_times_out() -> None:
    hung_up = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # no greeting, ever; until the client gives up and closes
        writer.close()
        await writer.wait_closed()
        hung_up.set()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        loop = asyncio.get_running_loop()
        began = loop.time()
        _, outcome = await send_one(email_channel(port=port, timeout=0.5))
        assert loop.time() - began < 3
    finally:
        server.close()
        await server.wait_closed()
    await asyncio.wait_for(hung_up.wait(), 5)  # the client closed its connection
    assert (outcome.ok, outcome.retryable, outcome.reason) == (False, True, Reason.TIMEOUT)


async def test_a_group_is_one_message(plain: SMTPServer) -> None:
    channel = email_channel(plain)
    notifier = EmailNotifier(channel)
    [request] = notifier.prepare(burst(5, channel=channel.name))
    assert len(request.alerts) == 5
    assert (await notifier.send(request)).ok
    (mail,) = plain.mails
    assert mail.message["Subject"].startswith("5 reminders: T-7d: Deadline 000")


async def test_a_template_failing_at_send_time_is_said_once_and_the_mail_still_goes(
    plain: SMTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    # ``tags[1]`` renders for the first deadline and fails for the one-tag second; the
    # channel's template_env value must not show in the log.
    source = "{{ milestone.tags[1] }} {{ env.TMINUS_TEMPLATE_KEY }}: {{ milestone.title }}"
    templates = Templates(subject=source, env={"TMINUS_TEMPLATE_KEY": "k3y-s3cret"})
    channel = replace(email_channel(plain), templates=templates)
    [ok] = burst(1, channel=channel.name)
    one_tag = make_alert(channel=channel.name, milestone_id="one-tag", tags=("inf",))
    notifier = EmailNotifier(channel)
    [request] = notifier.prepare([ok, one_tag])
    assert [(f.alert.delivery_id, f.key) for f in request.fallbacks] == [
        (one_tag.delivery_id, "subject")
    ]
    with caplog.at_level(logging.WARNING, logger="tminus.notify"):
        assert (await notifier.send(request)).ok
    [warning] = [r for r in caplog.records if "template failed" in r.getMessage()]
    event = warning.tminus_fields  # type: ignore[attr-defined]
    assert event["delivery_id"] == one_tag.delivery_id and event["template"] == "subject"
    assert "unknown variable" in event["problem"]
    assert_no_secret(repr(warning.__dict__), ["k3y-s3cret"])
    (mail,) = plain.mails
    assert mail.message["Subject"] == (
        "2 reminders: usa k3y-s3cret: Deadline 000; "
        "T-7d: INF Treaty withdrawal takes effect — Fri 2 Aug 2019 00:00 CEST"
    )


async def test_a_server_echoing_the_password_leaks_nothing(
    ca: LoopbackCA, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-password-echoed-back"
    server = SMTPServer(
        tls="starttls",
        ca=ca,
        credentials=(USER, PASSWORD),
        refusal="535 5.7.8 no user {login} with password {password}",
    ).start()
    try:
        _, outcome = await send_one(email_channel(server, login=(USER, wrong)))
    finally:
        server.stop()
    assert outcome.reason is Reason.AUTH_FAILED
    assert "no user *** with password ***" in outcome.body
    # The client side's logs (tminus, aiosmtplib), not the test server's own ("mail.log").
    ours = [repr(r.__dict__) for r in caplog.records if not r.name.startswith("mail.log")]
    assert ours, "nothing was logged: the check below would prove nothing"
    shown = " ".join((outcome.body, outcome.detail, repr(outcome), *ours))
    assert_no_secret(shown, [wrong, USER])
