"""What a receiver's answer means: one small table, after Alertmanager's ``Retrier.Check``.

=========================  =========  ==========  ===================
answer                     retryable  reason      notes
=========================  =========  ==========  ===================
2xx (Slack: 200 ``ok``)    —          ok
Slack 2xx, other body      no*        rejected    *yes for Slack's transient errors
3xx                        no         redirect    redirects are never followed
408, 425                   yes        retryable_status
429                        yes        rate_limited  ``Retry-After`` / Discord ``retry_after``
5xx                        yes        server_error  503 ``Retry-After`` honoured
410, Slack ``channel_is_archived`` / ``no_service``, Discord unknown webhook
                           no         gone        disables the channel
other 4xx                  no         client_error
timeout                    yes        timeout
connection error           yes        network
=========================  =========  ==========  ===================

No URL, header value or exception text that could hold one goes into an
``Outcome``: httpx error messages can quote the request URL, which for Slack
and Discord *is* the secret.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import httpx

from scheduler.model import ChannelType, Outcome, Reason

BODY_EXCERPT_MAX = 500
RETRYABLE_STATUSES = frozenset({408, 425, 429})
RETRY_AFTER_STATUSES = frozenset({429, 503})

# Slack incoming-webhook error bodies and what they mean for a person reading history.
SLACK_ERRORS: dict[str, str] = {
    "invalid_payload": "Slack could not parse the message (malformed JSON or blocks)",
    "invalid_blocks": "Slack rejected the message's blocks",
    "invalid_blocks_format": "Slack rejected the message's blocks",
    "no_text": "the message had no text",
    "too_many_attachments": "the message had too many attachments",
    "user_not_found": "the webhook's user no longer exists",
    "channel_not_found": "the webhook's channel does not exist or the app cannot see it",
    "channel_is_archived": "the webhook's channel was archived; the channel is disabled",
    "action_prohibited": "a Slack admin restricted posting to this channel",
    "posting_to_general_channel_denied": "only admins may post to this channel",
    "no_service": "the webhook was disabled, removed or revoked; the channel is disabled",
    "no_service_id": "the webhook URL is incomplete (no service id)",
    "no_team": "the webhook URL's workspace does not exist",
    "team_disabled": "the Slack workspace is disabled",
    "invalid_token": "the webhook URL's token is invalid or revoked",
    "invalid_team": "the webhook URL's workspace is invalid",
    "rollup_error": "Slack had an internal error",
    "internal_error": "Slack had an internal error",
    "fatal_error": "Slack had an internal error",
    "service_unavailable": "Slack is unavailable",
    "request_timeout": "Slack timed out reading the message",
}
SLACK_GONE = frozenset({"channel_is_archived", "no_service"})
SLACK_TRANSIENT = frozenset(
    {"rollup_error", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
DISCORD_UNKNOWN_WEBHOOK = 10015


def excerpt(text: str, limit: int = BODY_EXCERPT_MAX) -> str:
    """The first ``limit`` characters of a body, on one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
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
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN, inf
        return None
    return max(0.0, seconds)


def _json(body: str) -> dict[str, object]:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _by_status(status: int, *, retry_after: float | None, body: str) -> Outcome:
    """The generic table, for any channel."""
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
    channel_type: ChannelType,
    status_code: int,
    body_text: str,
    headers: Mapping[str, str],
    *,
    now: float | None = None,
) -> Outcome:
    """Map one HTTP answer to an :class:`Outcome` (``now``: epoch seconds for HTTP-dates)."""
    body = excerpt(body_text)
    lowered = {k.lower(): v for k, v in headers.items()}
    retry_after = None
    if status_code in RETRY_AFTER_STATUSES:
        retry_after = parse_retry_after(lowered.get("retry-after"), now=now)
    if channel_type is ChannelType.SLACK:
        return _slack(status_code, body_text.strip(), body, retry_after)
    if channel_type is ChannelType.DISCORD:
        return _discord(status_code, body_text, body, retry_after)
    return _by_status(status_code, retry_after=retry_after, body=body)


def _slack(status: int, word: str, body: str, retry_after: float | None) -> Outcome:
    if status == 200 and word == "ok":
        return Outcome(True, False, Reason.OK, status, body)
    meaning = SLACK_ERRORS.get(word)
    if word in SLACK_GONE:
        return Outcome(
            False, False, Reason.GONE, status, body, disable_channel=True,
            detail=f"{word}: {meaning}",
        )  # fmt: skip
    if 200 <= status < 300:
        detail = f"{word}: {meaning}" if meaning else f"HTTP {status} without 'ok': Slack said no"
        return Outcome(False, word in SLACK_TRANSIENT, Reason.REJECTED, status, body, detail=detail)
    outcome = _by_status(status, retry_after=retry_after, body=body)
    if meaning:
        outcome = _with_detail(outcome, f"{word}: {meaning} (HTTP {status})")
    return outcome


def _discord(status: int, text: str, body: str, retry_after: float | None) -> Outcome:
    data = _json(text) if status >= 400 else {}
    if status == 429:
        value = data.get("retry_after")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            retry_after = max(float(value), retry_after or 0.0)
    if status == 404 and data.get("code") == DISCORD_UNKNOWN_WEBHOOK:
        return Outcome(
            False, False, Reason.GONE, status, body, disable_channel=True,
            detail="Unknown Webhook: the Discord webhook was deleted; the channel is disabled",
        )  # fmt: skip
    outcome = _by_status(status, retry_after=retry_after, body=body)
    message = data.get("message")
    if isinstance(message, str) and not outcome.ok:
        outcome = _with_detail(outcome, f"{outcome.detail}: {excerpt(message, 200)}")
    return outcome


def _with_detail(outcome: Outcome, detail: str) -> Outcome:
    return Outcome(
        outcome.ok,
        outcome.retryable,
        outcome.reason,
        outcome.status_code,
        outcome.body,
        outcome.retry_after,
        outcome.disable_channel,
        detail,
    )


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
    words = _os_error_words(exc)
    return Outcome(
        False, True, Reason.NETWORK,
        detail=f"{kind}: {words}" if words else f"{kind}: the connection failed",
    )  # fmt: skip


def _os_error_words(exc: BaseException) -> str:
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
