"""The one protocol every channel implements, and the HTTP post they all share.

A notifier renders alerts into requests once (:meth:`Notifier.prepare`) and sends
one request (:meth:`Notifier.send`), answering with an
:class:`~scheduler.model.Outcome` that the retry policy reads. It never retries,
sleeps or records anything itself: those are pipeline stages.

This module names no channel: each channel's module builds on it, and
:mod:`scheduler.notify.registry` (above both) maps a channel type to its notifier.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx

from scheduler import __version__
from scheduler.logs import REDACTED, fields
from scheduler.logs import scrub as scrub_text
from scheduler.model import Alert, Channel, Outcome, Reason
from scheduler.notify.classify import AnswerRule, classify_error, classify_response, timed_out
from scheduler.render.templated import TemplateFailure

log = logging.getLogger("tminus.notify")

USER_AGENT = f"tminus/{__version__}"
# Bytes of a receiver's answer read at most: enough for any error body worth
# keeping, and a receiver cannot make us buffer megabytes.
READ_MAX = 16 * 1024
# The shortest beginning of a secret redacted where an answer was cut off.
PARTIAL_MIN = 3


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request's worth of alerts, rendered once."""

    alerts: tuple[Alert, ...]
    content: bytes  # the rendered body, sent as it is
    # The channel's and the request's static headers; per-send headers (timestamps,
    # signatures) are added by :meth:`Notifier.send`.
    headers: Mapping[str, str]
    # Alerts of this request whose template failed and that carry the built-in text:
    # said in the log when the request is sent (not when it is rendered, as a group's
    # later requests are rendered again on their own turn).
    fallbacks: tuple[TemplateFailure, ...] = ()

    def __post_init__(self) -> None:
        if not self.alerts:
            raise ValueError("a request carries at least one alert")


class Notifier(Protocol):
    """One channel's way of turning alerts into HTTP requests."""

    channel: Channel

    def prepare(self, alerts: Sequence[Alert]) -> list[Request]:
        """Render ``alerts`` once, cut to the channel's limits: one :class:`Request` each.

        Every message shows its alerts' ``sent_at`` (a countdown, the lateness, the
        webhook's ``sent_at``), so the pipeline calls this at send time, after pacing,
        with alerts stamped with that moment.
        """
        ...

    async def send(self, request: Request) -> Outcome:
        """Send one prepared request as rendered and classify the answer."""
        ...


NotifierFactory = Callable[[Channel, httpx.AsyncClient], Notifier]


@dataclass(frozen=True, slots=True)
class ChannelKind:
    """What a channel type's module registers: how to build its notifier, how to read
    its receiver's answers (the shared table, or the channel's own rule over it)."""

    notifier: NotifierFactory
    answers: AnswerRule


def scrub_answer(text: str, secrets: Sequence[str], *, cut: bool) -> str:
    """A receiver's answer with every secret replaced by ``***``, before anything keeps it.

    Scrubbed whole, before the excerpt an :class:`Outcome` keeps is cut from it, so a
    secret straddling the excerpt's end is not kept half. When the answer itself was
    cut at :data:`READ_MAX` (``cut``), a secret's beginning at its very end is redacted too.
    """
    text = scrub_text(text, secrets)
    if cut:
        for secret in secrets:
            for size in range(len(secret) - 1, PARTIAL_MIN - 1, -1):
                if text.endswith(secret[:size]):
                    return text[:-size] + REDACTED
    return text


def scrub(outcome: Outcome, channel: Channel, secrets: Sequence[str] | None = None) -> Outcome:
    """``outcome`` with every secret of ``channel`` (``secrets``, when the caller has them
    already) in its texts replaced by ``***``."""
    if secrets is None:
        secrets = channel.secrets()
    if not outcome.body and not outcome.detail:
        return outcome
    body, detail = scrub_text(outcome.body, secrets), scrub_text(outcome.detail, secrets)
    if body == outcome.body and detail == outcome.detail:
        return outcome
    return Outcome(
        outcome.ok,
        outcome.retryable,
        outcome.reason,
        outcome.status_code,
        body,
        outcome.retry_after,
        outcome.disable_channel,
        detail,
    )


async def post(
    client: httpx.AsyncClient,
    channel: Channel,
    content: bytes,
    headers: Mapping[str, str],
    answers: AnswerRule,
) -> Outcome:
    """POST ``content`` to the channel's URL once and classify the answer by ``answers``.

    The channel's timeout bounds the whole request (SPEC: "each request has a
    timeout"): httpx's own timeout applies to each connect, read and write, so a
    receiver trickling bytes could outlast it; ``asyncio.timeout`` caps the total.
    Redirects are not followed; at most :data:`READ_MAX` bytes of the answer are read.
    """
    seconds = channel.timeout.total_seconds()
    secrets = channel.secrets()
    try:
        async with asyncio.timeout(seconds):
            async with client.stream(
                "POST",
                str(channel.url),
                content=content,
                headers=headers,
                timeout=seconds,
                follow_redirects=False,
            ) as response:
                raw = bytearray()
                async for chunk in response.aiter_bytes():
                    raw += chunk
                    if len(raw) >= READ_MAX:
                        break
                text = bytes(raw[:READ_MAX]).decode("utf-8", "replace")
                outcome = classify_response(
                    response.status_code,
                    scrub_answer(text, secrets, cut=len(raw) >= READ_MAX),
                    response.headers,
                    now=time.time(),
                    rule=answers,
                )
    except httpx.HTTPError as exc:
        outcome = classify_error(exc)
    except httpx.InvalidURL:
        outcome = Outcome(False, False, Reason.CLIENT_ERROR, detail="InvalidURL: bad channel URL")
    except TimeoutError:  # the whole-request bound above, not one of httpx's
        outcome = timed_out("TimeoutError")
    outcome = scrub(outcome, channel, secrets)
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "request answered",
            extra={
                "channel": channel.name,
                "status_code": outcome.status_code,
                "reason": outcome.reason.value,
            },
        )
    return outcome


def report_fallbacks(channel: Channel, request: Request) -> None:
    """Say, for each alert of ``request`` whose template failed, that it carries the
    built-in text instead, and why (the problem never shows a template's secrets)."""
    for failure in request.fallbacks:
        log.warning(
            "template failed; sent the built-in text",
            extra=fields(
                channel=channel.name,
                delivery_id=failure.alert.delivery_id,
                template=failure.key,
                problem=failure.problem.describe(),
            ),
        )


def json_headers(channel: Channel) -> dict[str, str]:
    """Headers every channel sends: JSON, our user agent, then the channel's own."""
    headers = {"content-type": "application/json", "user-agent": USER_AGENT}
    headers.update({k.lower(): v for k, v in channel.headers.items()})
    return headers


def carries_at_most(request: Request, most: int, channel: Channel) -> None:
    """Refuse a request with more alerts than one message of the channel holds (a caller bug:
    requests come from :meth:`Notifier.prepare`)."""
    if len(request.alerts) > most:
        raise ValueError(
            f"{channel.name}: one request carries at most {most} alerts here, this one "
            f"carries {len(request.alerts)}; build requests with Notifier.prepare()"
        )
