"""The SMTP reply table: codes and client errors to outcomes, without a server."""

from __future__ import annotations

import errno
import ssl

import aiosmtplib as E
import pytest

from scheduler.model import Reason
from scheduler.model import Reason as R
from scheduler.notify.smtp_replies import (
    Refusal,
    Step,
    error_outcome,
    refused_outcome,
    reply_outcome,
)


@pytest.mark.parametrize(
    ("code", "step", "ok", "retryable", "reason", "disable"),
    [
        (250, Step.DATA, True, False, Reason.OK, False),
        (251, Step.RCPT, True, False, Reason.OK, False),
        (421, Step.CONNECT, False, True, R.RETRYABLE_STATUS, False),
        (450, Step.RCPT, False, True, R.RETRYABLE_STATUS, False),
        (451, Step.DATA, False, True, R.RETRYABLE_STATUS, False),
        (452, Step.RCPT, False, True, R.RETRYABLE_STATUS, False),
        (454, Step.AUTH, False, True, R.RETRYABLE_STATUS, False),
        (530, Step.MAIL, False, False, R.CLIENT_ERROR, False),
        (535, Step.AUTH, False, False, Reason.AUTH_FAILED, True),
        (550, Step.RCPT, False, False, R.CLIENT_ERROR, False),
        (552, Step.DATA, False, False, R.CLIENT_ERROR, False),
        (553, Step.MAIL, False, False, R.CLIENT_ERROR, False),
        (554, Step.CONNECT, False, False, R.CLIENT_ERROR, False),
    ],
)
def test_reply_codes(
    code: int, step: Step, ok: bool, retryable: bool, reason: Reason, disable: bool
) -> None:
    outcome = reply_outcome(code, "5.7.8  words\n of the server", step=step)
    assert (outcome.ok, outcome.retryable, outcome.reason) == (ok, retryable, reason)
    assert outcome.disable_channel is disable
    assert outcome.status_code == code
    assert outcome.body == "5.7.8 words of the server"
    if not ok:
        assert outcome.detail.startswith(f"SMTP {code} at {step}")


def test_the_permanent_refusal_decides() -> None:
    refusals = [
        Refusal("busy@example.org", 452, "mailbox full, later"),
        Refusal("nobody@example.org", 550, "no such user"),
    ]
    outcome = refused_outcome(refusals, recipients=3)
    assert (outcome.retryable, outcome.reason, outcome.status_code) == (
        False,
        R.CLIENT_ERROR,
        550,
    )
    assert "nobody@example.org" in outcome.detail
    assert outcome.detail.endswith("(2 of 3 recipients refused; sent to none)")
    only_temporary = refused_outcome(refusals[:1], recipients=3)
    assert only_temporary.retryable and only_temporary.status_code == 452
    with pytest.raises(ValueError):
        refused_outcome([], recipients=1)


def _connect_error(err: int) -> E.SMTPConnectError:
    exc = E.SMTPConnectError("Error connecting to secret-host.example on port 25")
    exc.__cause__ = ConnectionRefusedError(err, "Connect call failed ('10.0.0.1', 25)")
    return exc


@pytest.mark.parametrize(
    ("exc", "step", "retryable", "reason", "words"),
    [
        (_connect_error(errno.ECONNREFUSED), Step.CONNECT, True, Reason.NETWORK, "refused"),
        (E.SMTPServerDisconnected("lost"), Step.DATA, True, Reason.NETWORK, "DATA"),
        (E.SMTPConnectTimeoutError("x"), Step.CONNECT, True, Reason.TIMEOUT, "Timeout"),
        (E.SMTPReadTimeoutError("x"), Step.DATA, True, Reason.TIMEOUT, "Timeout"),
        (E.SMTPAuthenticationError(535, "bad"), Step.MAIL, False, Reason.AUTH_FAILED, "AUTH"),
        (E.SMTPSenderRefused(553, "no", "a@b"), Step.DATA, False, R.CLIENT_ERROR, "MAIL FROM"),
        (E.SMTPDataError(451, "later"), Step.DATA, True, R.RETRYABLE_STATUS, "DATA"),
        (E.SMTPConnectResponseError(421, "busy"), Step.MAIL, True, R.RETRYABLE_STATUS, "connect"),
        (E.SMTPRecipientRefused(550, "no", "x@y.org"), Step.RCPT, False, R.CLIENT_ERROR, "x@y.org"),
        (E.SMTPException("no STARTTLS"), Step.STARTTLS, False, R.TLS, "STARTTLS"),
        (E.SMTPException("SMTP AUTH not supported."), Step.AUTH, False, R.CLIENT_ERROR, "authenti"),
        (E.SMTPException("odd"), Step.MAIL, True, Reason.NETWORK, "MAIL FROM"),
    ],
)  # fmt: skip
def test_client_errors(
    exc: BaseException, step: Step, retryable: bool, reason: Reason, words: str
) -> None:
    outcome = error_outcome(exc, step=step)
    assert (outcome.ok, outcome.retryable, outcome.reason) == (False, retryable, reason)
    assert words in outcome.detail
    assert "secret-host" not in outcome.detail and "10.0.0.1" not in outcome.detail


def test_an_untrusted_certificate_is_dead() -> None:
    exc = E.SMTPConnectError("Error connecting to mail.example.org on port 465")
    cause = ssl.SSLCertVerificationError(1, "certificate verify failed")
    cause.verify_message = "self-signed certificate"
    exc.__cause__ = cause
    outcome = error_outcome(exc, step=Step.CONNECT)
    assert (outcome.retryable, outcome.reason) == (False, Reason.TLS)
    assert outcome.detail == "TLS: certificate verify failed (self-signed certificate)"
