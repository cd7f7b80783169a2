"""Email channels: one message per delivery group, sent over SMTP with aiosmtplib.

:meth:`EmailNotifier.prepare` renders the MIME message once
(:mod:`scheduler.render.email_mime`), in the words of the channel's ``subject`` and
``template`` when it has them; the request's content is the message as ``DATA``
carries it, and an alert whose template failed is said in the log when it is sent.
:meth:`EmailNotifier.send` holds one SMTP conversation:

1. connect: TLS from the first byte for ``smtps://``; for ``smtp://`` a STARTTLS
   upgrade when the server offers it (``starttls: required``: refuse a server
   that does not). The certificate is verified against the system's trust store
   (``SSL_CERT_FILE`` names another bundle, for a private CA).
2. ``AUTH`` when a username is set, only over TLS: a password is never sent bare.
3. ``MAIL FROM``, then ``RCPT TO`` for every recipient. If any is refused the
   transaction is reset and nothing is sent to anyone (SPEC: success means the
   server took the message for every recipient, and a retry must not give the
   others a second copy).
4. ``DATA``; a 250 answer is success.

The channel's timeout bounds the whole conversation. What each answer means is
the table in :mod:`scheduler.notify.smtp_replies`; 535 disables the channel. The
server's words are scrubbed of the channel's secrets before an outcome keeps them.
The shared HTTP client is not used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import aiosmtplib
import httpx

from scheduler.model import Alert, Channel, EmailSettings, Outcome, Reason, StartTLS
from scheduler.notify.base import ChannelKind, Request, report_fallbacks, scrub
from scheduler.notify.classify import by_status, excerpt, timed_out
from scheduler.notify.smtp_replies import Refusal, Step, error_outcome, no_tls, refused_outcome
from scheduler.render.email_mime import email_messages

log = logging.getLogger("tminus.notify")


class EmailNotifier:
    """Sends the channel's rendered messages to its SMTP server, one conversation each."""

    def __init__(self, channel: Channel, client: httpx.AsyncClient | None = None) -> None:
        if channel.email is None:
            raise ValueError(f"{channel.name}: an email channel needs its email settings")
        self.channel = channel
        self.settings: EmailSettings = channel.email

    def prepare(self, alerts: Sequence[Alert]) -> list[Request]:
        headers = {"content-type": "message/rfc822"}
        return [
            Request(tuple(mail.alerts), mail.content, headers, mail.fallbacks)
            for mail in email_messages(alerts, self.settings, self.channel.templates)
        ]

    async def send(self, request: Request) -> Outcome:
        report_fallbacks(self.channel, request)
        seconds = self.channel.timeout.total_seconds()
        try:
            async with asyncio.timeout(seconds):
                outcome = await self._converse(request.content, seconds)
        except TimeoutError:  # the whole-conversation bound, not one of aiosmtplib's
            outcome = timed_out("TimeoutError")
        outcome = scrub(outcome, self.channel)
        log.debug(
            "smtp answered",
            extra={
                "channel": self.channel.name,
                "status_code": outcome.status_code,
                "reason": outcome.reason.value,
            },
        )
        return outcome

    def _client(self, seconds: float) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            use_tls=s.implicit_tls,
            # None: upgrade when offered. aiosmtplib then fails loudly on a bad
            # certificate rather than going on in the clear.
            start_tls=False if s.implicit_tls else None,
            timeout=seconds,
            # The certificate is verified (host name included) against the default trust
            # store, read by aiosmtplib off the event loop when TLS begins.
            validate_certs=True,
        )

    async def _converse(self, content: bytes, seconds: float) -> Outcome:
        s = self.settings
        smtp = self._client(seconds)
        step = Step.CONNECT
        try:
            await smtp.connect()
            encrypted = smtp.get_transport_info("sslcontext") is not None
            if not encrypted and s.starttls is StartTLS.REQUIRED:
                step = Step.STARTTLS
                return no_tls("the server does not offer STARTTLS (starttls: required)")
            if s.username is not None:
                step = Step.AUTH
                if not encrypted:
                    return no_tls(
                        "the server offers no STARTTLS, and the password is only sent over TLS"
                    )
                await smtp.login(str(s.username), str(s.password or ""))
            step = Step.MAIL
            await smtp.mail(s.sender.address)
            step = Step.RCPT
            refusals = await self._recipients(smtp)
            if refusals:
                with contextlib.suppress(aiosmtplib.SMTPException):
                    await smtp.rset()
                return refused_outcome(refusals, recipients=len(s.recipients))
            step = Step.DATA
            response = await smtp.data(content)
            return Outcome(True, False, Reason.OK, response.code, excerpt(response.message))
        except (aiosmtplib.SMTPException, OSError) as exc:
            return error_outcome(exc, step=step)
        except BaseException:
            smtp.close()  # cancelled (the whole-conversation timeout): drop it, no QUIT
            raise
        finally:
            await _close(smtp)

    async def _recipients(self, smtp: aiosmtplib.SMTP) -> list[Refusal]:
        refusals = []
        for box in self.settings.recipients:
            try:
                await smtp.rcpt(box.address)
            except aiosmtplib.SMTPRecipientRefused as exc:
                refusals.append(Refusal(box.address, exc.code, exc.message))
        return refusals


async def _close(smtp: aiosmtplib.SMTP) -> None:
    """QUIT politely when still connected; a server that is gone is simply dropped."""
    if smtp.is_connected:
        with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
            await smtp.quit(timeout=2)
    smtp.close()
    # The transport finishes closing on the loop's next turn: give it that turn, so a
    # short-lived loop (notify-test) never ends with it half closed.
    await asyncio.sleep(0)


# Email has no HTTP answers; the shared status table is its registry entry's rule
# only because every kind names one. SMTP replies are read by smtp_replies.
EMAIL = ChannelKind(notifier=EmailNotifier, answers=by_status)
