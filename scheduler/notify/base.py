"""The one protocol every channel implements, and the HTTP post they all share.

A notifier knows how to cut a list of alerts into requests (:meth:`Notifier.batches`)
and how to send one request (:meth:`Notifier.send`), answering with an
:class:`~scheduler.model.Outcome` that the retry policy reads. It never retries,
sleeps or records anything itself: those are pipeline stages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx

from scheduler import __version__
from scheduler.model import Alert, Channel, ChannelType, Outcome, Reason
from scheduler.notify.classify import classify_error, classify_response, timed_out

log = logging.getLogger("tminus.notify")

USER_AGENT = f"tminus/{__version__}"
# Bytes of a receiver's answer read at most: enough for any error body worth
# keeping, and a receiver cannot make us buffer megabytes.
READ_MAX = 16 * 1024
REDACTED = "***"


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request's worth of alerts, rendered once."""

    alerts: tuple[Alert, ...]
    content: bytes
    headers: Mapping[str, str]


class Notifier(Protocol):
    """One channel's way of turning alerts into HTTP requests."""

    channel: Channel

    def batches(self, alerts: Sequence[Alert]) -> list[list[Alert]]:
        """Cut ``alerts`` into groups that are each exactly one request."""
        ...

    async def send(self, batch: Sequence[Alert]) -> Outcome:
        """Send one batch (as returned by :meth:`batches`) and classify the answer."""
        ...


def make_notifier(channel: Channel, client: httpx.AsyncClient) -> Notifier:
    """The notifier for ``channel``'s type, posting through the shared ``client``."""
    from scheduler.notify.discord import DiscordNotifier
    from scheduler.notify.slack import SlackNotifier
    from scheduler.notify.webhook import WebhookNotifier

    kinds: dict[ChannelType, type[WebhookNotifier | SlackNotifier | DiscordNotifier]] = {
        ChannelType.WEBHOOK: WebhookNotifier,
        ChannelType.SLACK: SlackNotifier,
        ChannelType.DISCORD: DiscordNotifier,
    }
    return kinds[channel.type](channel, client)


def secrets_of(channel: Channel) -> list[str]:
    """The strings that must never appear in an outcome or a log line."""
    found = [str(channel.url)]
    if "://" in channel.url:
        path = channel.url.split("://", 1)[1].partition("/")[2]
        if len(path) >= 8:
            found.append(path)
    if channel.secret:
        found.append(str(channel.secret))
        if channel.secret.startswith("whsec_"):
            found.append(channel.secret[len("whsec_") :])
    return sorted(found, key=len, reverse=True)


def scrub(outcome: Outcome, channel: Channel) -> Outcome:
    """``outcome`` with every secret of ``channel`` in its texts replaced by ``***``."""
    body, detail = outcome.body, outcome.detail
    for secret in secrets_of(channel):
        body = body.replace(secret, REDACTED)
        detail = detail.replace(secret, REDACTED)
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
) -> Outcome:
    """POST ``content`` to the channel's URL once and classify the answer.

    The channel's timeout bounds the whole request (SPEC: "each request has a
    timeout"): httpx's own timeout applies to each connect, read and write, so a
    receiver trickling bytes could outlast it; ``asyncio.timeout`` caps the total.
    Redirects are not followed; at most :data:`READ_MAX` bytes of the answer are read.
    """
    seconds = channel.timeout.total_seconds()
    try:
        async with asyncio.timeout(seconds):
            async with client.stream(
                "POST",
                str(channel.url),
                content=content,
                headers=dict(headers),
                timeout=seconds,
                follow_redirects=False,
            ) as response:
                raw = bytearray()
                async for chunk in response.aiter_bytes():
                    raw += chunk
                    if len(raw) >= READ_MAX:
                        break
                outcome = classify_response(
                    channel.type,
                    response.status_code,
                    bytes(raw[:READ_MAX]).decode("utf-8", "replace"),
                    response.headers,
                )
    except httpx.HTTPError as exc:
        outcome = classify_error(exc)
    except httpx.InvalidURL:
        outcome = Outcome(False, False, Reason.CLIENT_ERROR, detail="InvalidURL: bad channel URL")
    except TimeoutError:  # the whole-request bound above, not one of httpx's
        outcome = timed_out("TimeoutError")
    outcome = scrub(outcome, channel)
    log.debug(
        "request answered",
        extra={
            "channel": channel.name,
            "status_code": outcome.status_code,
            "reason": outcome.reason.value,
        },
    )
    return outcome


def json_headers(channel: Channel) -> dict[str, str]:
    """Headers every channel sends: JSON, our user agent, then the channel's own."""
    headers = {"content-type": "application/json", "user-agent": USER_AGENT}
    headers.update({k.lower(): v for k, v in channel.headers.items()})
    return headers


def one_request(batch: Sequence[Alert], parts: int, channel: Channel) -> None:
    """Refuse a batch that would need ``parts`` != 1 requests (a caller bug)."""
    if parts != 1:
        raise ValueError(
            f"{channel.name}: a batch must be one request, this one needs {parts}; "
            "cut alerts with Notifier.batches() first"
        )
    if not batch:
        raise ValueError(f"{channel.name}: empty batch")
