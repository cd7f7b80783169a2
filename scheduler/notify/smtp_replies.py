"""What an SMTP server's answer means: one table, as :mod:`scheduler.notify.classify` is for HTTP.

===============================  =========  ================  =================================
answer                           retryable  reason            notes
===============================  =========  ================  =================================
250 to DATA, every RCPT 250/251  —          ok                the server took the message
535 to AUTH                      no         auth_failed       disables the channel
other 4xx (421, 450, 451, 452…)  yes        retryable_status  transient: "try again later"
other 5xx (550, 552, 554…)       no         client_error      permanent: dead at once
a recipient refused              as above   as above          nothing is sent (see below)
timeout                          yes        timeout
connection refused, reset, lost  yes        network
certificate not trusted          no         tls               as for HTTP
other TLS failure                yes        tls
STARTTLS required, not offered   no         tls               ``starttls: required``
password, but no TLS             no         tls               the password is never sent bare
server offers no AUTH            no         client_error      a username is configured
===============================  =========  ================  =================================

SPEC counts a send as done when the server accepted the message for every
recipient, so the notifier asks for every recipient before it sends any data: a
recipient refused means the transaction is reset and nothing is delivered to
anyone, so a retry can never send the others a second copy. Among several
refusals the permanent one decides (a mailbox that does not exist will not exist
on the next attempt).

Pure: values in, an :class:`~scheduler.model.Outcome` out. The server's own words
are kept as the outcome's body (the caller scrubs secrets); the detail is worded
here from the reply code and the step, never from an exception's text, which
can quote the host.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

import aiosmtplib

from scheduler.model import Outcome, Reason
from scheduler.notify.classify import excerpt, os_error_words, timed_out, tls_failure

AUTH_FAILED = 535


class Step(enum.StrEnum):
    """Where in the SMTP conversation an answer came."""

    CONNECT = "connect"
    STARTTLS = "STARTTLS"
    AUTH = "AUTH"
    MAIL = "MAIL FROM"
    RCPT = "RCPT TO"
    DATA = "DATA"


@dataclass(frozen=True, slots=True)
class Refusal:
    """One recipient the server would not take, with its reply."""

    recipient: str
    code: int
    message: str


def reply_outcome(code: int, message: str, *, step: Step, about: str = "") -> Outcome:
    """The outcome of one SMTP reply ``code`` (with the server's ``message``) at ``step``.

    ``about`` names what the reply concerns (a recipient) in the detail.
    """
    where = f"{step} for {about}" if about else str(step)
    body = excerpt(message)
    if 200 <= code < 400:
        return Outcome(True, False, Reason.OK, code, body)
    if code == AUTH_FAILED:
        return Outcome(
            False, False, Reason.AUTH_FAILED, code, body, disable_channel=True,
            detail=f"SMTP {code} at {where}: the server refused the username or password; "
            "the channel is disabled until its config changes",
        )  # fmt: skip
    if 400 <= code < 500:
        return Outcome(
            False, True, Reason.RETRYABLE_STATUS, code, body,
            detail=f"SMTP {code} at {where}: the server asked to try again later",
        )  # fmt: skip
    return Outcome(
        False, False, Reason.CLIENT_ERROR, code, body,
        detail=f"SMTP {code} at {where}: the server refused the message",
    )  # fmt: skip


def refused_outcome(refusals: Sequence[Refusal], *, recipients: int) -> Outcome:
    """The outcome when some of ``recipients`` addresses were refused and nothing was sent."""
    if not refusals:
        raise ValueError("refused_outcome() needs at least one refusal")
    permanent = [r for r in refusals if r.code >= 500]
    worst = permanent[0] if permanent else refusals[0]
    outcome = reply_outcome(worst.code, worst.message, step=Step.RCPT, about=worst.recipient)
    note = f" ({len(refusals)} of {recipients} recipients refused; sent to none)"
    return Outcome(
        outcome.ok,
        outcome.retryable,
        outcome.reason,
        outcome.status_code,
        outcome.body,
        disable_channel=outcome.disable_channel,
        detail=outcome.detail + note,
    )


def error_outcome(exc: BaseException, *, step: Step) -> Outcome:
    """The outcome of an exception raised by the SMTP client at ``step``.

    Server replies carry their code (the table above); the rest are worded from the
    exception's class and the operating system's errno words only.
    """
    kind = type(exc).__name__
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        return reply_outcome(exc.code, exc.message, step=Step.RCPT, about=exc.recipient)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return reply_outcome(exc.code, exc.message, step=_step_of(exc, step))
    if isinstance(exc, TimeoutError):  # aiosmtplib's timeouts are TimeoutErrors too
        return timed_out(kind)
    tls = tls_failure(exc)
    if tls is not None:
        return tls
    if isinstance(exc, ConnectionError | OSError):  # SMTPConnectError, SMTPServerDisconnected
        words = os_error_words(exc)
        return Outcome(
            False, True, Reason.NETWORK,
            detail=f"{kind} at {step}: {words or 'the connection failed or was closed'}",
        )  # fmt: skip
    if isinstance(exc, aiosmtplib.SMTPException) and step is Step.STARTTLS:
        return no_tls("the server does not offer STARTTLS (starttls: required)")
    if isinstance(exc, aiosmtplib.SMTPException) and step is Step.AUTH:
        return Outcome(
            False, False, Reason.CLIENT_ERROR,
            detail=f"{kind} at AUTH: the server offers no authentication tminus can use "
            "(a username is configured)",
        )  # fmt: skip
    return Outcome(False, True, Reason.NETWORK, detail=f"{kind} at {step}: the exchange failed")


def no_tls(why: str) -> Outcome:
    """The connection is not encrypted where it must be: dead, a configuration problem."""
    return Outcome(False, False, Reason.TLS, detail=f"TLS: {why}")


def _step_of(exc: aiosmtplib.SMTPResponseException, step: Step) -> Step:
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return Step.AUTH
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return Step.MAIL
    if isinstance(exc, aiosmtplib.SMTPDataError):
        return Step.DATA
    if isinstance(exc, aiosmtplib.SMTPConnectResponseError):
        return Step.CONNECT
    return step
