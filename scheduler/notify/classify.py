"""What a receiver's answer means: one shared table, after Alertmanager's ``Retrier.Check``.

=========================  =========  ================  ===================
answer                     retryable  reason            notes
=========================  =========  ================  ===================
2xx                        —          ok
3xx                        no         redirect          redirects are never followed
408, 425                   yes        retryable_status
429                        yes        rate_limited      ``Retry-After``
5xx                        yes        server_error      503 ``Retry-After`` honoured
410                        no         gone              disables the channel
other 4xx                  no         client_error
timeout                    yes        timeout
certificate not trusted    no         tls               self-signed, expired, wrong host
other TLS failure          yes        tls               handshake cut short, protocol
connection error           yes        network
=========================  =========  ================  ===================

A certificate that does not verify is a configuration problem on one side or
the other (a self-signed or expired certificate, a URL naming the wrong host):
retrying every few seconds for hours will not fix it, and as Alertmanager and
Healthchecks users expect of a bad URL or key, the delivery goes ``dead`` at
once with the verifier's own words (``TLS: certificate verify failed
(self-signed certificate)``), so the first look at ``history`` says what to fix.
Other TLS failures (a handshake reset or cut short) can pass, and retry.

A channel whose receiver says more than its status (Slack's ``ok`` and error
words, Discord's JSON errors) supplies an :data:`AnswerRule` from its own module
that reads those first and falls back to :func:`by_status`; this module knows
no channel type. It reads no clock either: the caller passes ``now`` for
``Retry-After`` dates.

No URL, header value or exception text that could hold one goes into an
``Outcome``: httpx error messages can quote the request URL, which for Slack
and Discord *is* the secret.
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime

import httpx

from scheduler.model import Outcome, Reason

BODY_EXCERPT_MAX = 500
RETRYABLE_STATUSES = frozenset({408, 425, 429})
RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer as the rules read it."""

    status: int
    text: str  # the body as received (at most READ_MAX bytes of it)
    body: str  # its one-line excerpt, the part an Outcome keeps
    retry_after: float | None  # from the Retry-After header, for the statuses that honour it


# How one channel type reads an answer: :func:`by_status` or a channel's own rule over it.
AnswerRule = Callable[[Answer], Outcome]


def excerpt(text: str, limit: int = BODY_EXCERPT_MAX) -> str:
    """The first ``limit`` characters of a body, on one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds from a ``Retry-After`` value: delta-seconds or an HTTP-date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - now
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN, inf
        return None
    return max(0.0, seconds)


def by_status(answer: Answer) -> Outcome:
    """The shared table, for any channel: the status alone decides."""
    status, body, retry_after = answer.status, answer.body, answer.retry_after
    if 200 <= status < 300:
        return Outcome(True, False, Reason.OK, status, body)
    if 300 <= status < 400:
        return Outcome(
            False,
            False,
            Reason.REDIRECT,
            status,
            body,
            detail=f"HTTP {status}: the receiver redirected; redirects are not followed",
        )
    if status == 410:
        return Outcome(
            False,
            False,
            Reason.GONE,
            status,
            body,
            disable_channel=True,
            detail="HTTP 410 Gone: the receiver is gone; the channel is disabled",
        )
    if status == 429:
        return Outcome(
            False,
            True,
            Reason.RATE_LIMITED,
            status,
            body,
            retry_after,
            detail="HTTP 429: rate limited by the receiver",
        )
    if status in RETRYABLE_STATUSES:
        return Outcome(
            False,
            True,
            Reason.RETRYABLE_STATUS,
            status,
            body,
            detail=f"HTTP {status}: the receiver asked to try again",
        )
    if status >= 500:
        return Outcome(
            False,
            True,
            Reason.SERVER_ERROR,
            status,
            body,
            retry_after if status in RETRY_AFTER_STATUSES else None,
            detail=f"HTTP {status}: the receiver failed",
        )
    return Outcome(
        False, False, Reason.CLIENT_ERROR, status, body,
        detail=f"HTTP {status}: the receiver refused the request",
    )  # fmt: skip


def classify_response(
    status_code: int,
    body_text: str,
    headers: Mapping[str, str],
    *,
    now: float,
    rule: AnswerRule = by_status,
) -> Outcome:
    """Map one HTTP answer to an :class:`Outcome` by the channel's ``rule``.

    ``now`` (epoch seconds) is when the answer arrived, for ``Retry-After`` HTTP-dates.
    """
    retry_after = None
    if status_code in RETRY_AFTER_STATUSES:
        lowered = {k.lower(): v for k, v in headers.items()}
        retry_after = parse_retry_after(lowered.get("retry-after"), now=now)
    return rule(Answer(status_code, body_text, excerpt(body_text), retry_after))


def with_detail(outcome: Outcome, detail: str) -> Outcome:
    """``outcome`` saying ``detail`` instead (a channel's words for a generic answer)."""
    return replace(outcome, detail=detail)


def timed_out(kind: str) -> Outcome:
    """No whole answer within the channel's timeout: retryable, and no URL in the detail."""
    return Outcome(
        False, True, Reason.TIMEOUT,
        detail=f"{kind}: no answer within the channel's timeout",
    )  # fmt: skip


def classify_error(exc: httpx.HTTPError) -> Outcome:
    """Map a failed request (no answer) to an :class:`Outcome`, without the URL.

    Only the exception's class name and, for socket errors, the operating
    system's words (``Connection refused``) are kept; ``str(exc)`` may quote the URL.
    """
    kind = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return timed_out(kind)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return Outcome(
            False, False, Reason.CLIENT_ERROR,
            detail=f"{kind}: the channel URL's scheme is not http or https",
        )  # fmt: skip
    if isinstance(exc, httpx.TooManyRedirects):
        return Outcome(False, False, Reason.REDIRECT, detail=f"{kind}: redirects are not followed")
    tls = tls_failure(exc)
    if tls is not None:
        return tls
    words = os_error_words(exc)
    return Outcome(
        False, True, Reason.NETWORK,
        detail=f"{kind}: {words}" if words else f"{kind}: the connection failed",
    )  # fmt: skip


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions under it, each once."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def tls_failure(exc: BaseException) -> Outcome | None:
    """A failed TLS handshake, named as such (its errno, 1, is not "Operation not permitted")."""
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            why = cause.verify_message or "the certificate is not trusted"
            return Outcome(
                False, False, Reason.TLS,
                detail=f"TLS: certificate verify failed ({why})",
            )  # fmt: skip
        if isinstance(cause, ssl.SSLError):
            # The library's reason code (WRONG_VERSION_NUMBER, …): never a host or URL.
            why = (cause.reason or type(cause).__name__).replace("_", " ").lower()
            return Outcome(False, True, Reason.TLS, detail=f"TLS: handshake failed ({why})")
    return None


def os_error_words(exc: BaseException) -> str:
    """``Connection refused`` and the like, from the OSError under an httpx error."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        # The errno's standard words only: asyncio's own strerror texts quote host and port.
        if isinstance(current, socket.gaierror) and current.strerror:
            return current.strerror
        if isinstance(current, OSError) and isinstance(current.errno, int) and current.errno > 0:
            return os.strerror(current.errno)
        current = current.__cause__ or current.__context__
    return ""
