"""Generic webhooks, signed the Standard Webhooks way (SPEC "Generic webhook").

The body is serialized once (:meth:`WebhookNotifier.prepare`) and the signature is
computed at send time over exactly the bytes that are sent: ``v1,`` +
base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), the key being the
base64-decoded part of ``whsec_…``. The receiver's status alone decides the outcome.
A channel's ``body_template`` replaces the body (PagerDuty, Opsgenie, ntfy, …); the
headers and the signature are the same.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence

import httpx

from scheduler.model import Alert, Channel, Outcome
from scheduler.notify.base import ChannelKind, Request, json_headers, post, report_fallbacks
from scheduler.notify.classify import by_status
from scheduler.render.template import TemplateProblem, render_json
from scheduler.render.templated import TemplateFailure
from scheduler.render.webhook import webhook_body

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret


def signing_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret.

    Standard Webhooks secrets are base64 after the prefix. A secret that is not
    valid base64 is used as its UTF-8 bytes, so a hand-made secret still signs
    (the receiver must then use the same raw bytes).
    """
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return encoded.encode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one request."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def encode_body(alert: Alert) -> bytes:
    """The exact bytes posted: compact UTF-8 JSON."""
    return json.dumps(webhook_body(alert), ensure_ascii=False, separators=(",", ":")).encode()


def channel_body(channel: Channel, alert: Alert) -> tuple[bytes, tuple[TemplateFailure, ...]]:
    """The channel's ``body_template`` rendered for ``alert`` (JSON, as the user wrote it);
    the built-in body without one, or when it fails for this alert (and why)."""
    templates = channel.templates
    if templates is None or templates.body is None:
        return encode_body(alert), ()
    rendered = render_json(templates.body, alert, templates)
    if rendered.text is None:
        problem = rendered.problem or TemplateProblem("renders to nothing")
        return encode_body(alert), (TemplateFailure(alert, "body_template", problem),)
    return rendered.text.encode(), ()


def _request(channel: Channel, alert: Alert) -> Request:
    content, fallbacks = channel_body(channel, alert)
    return Request((alert,), content, static_headers(channel, alert), fallbacks)


def static_headers(channel: Channel, alert: Alert) -> dict[str, str]:
    """Headers fixed when the body is rendered: JSON, user agent, the channel's own, the id."""
    headers = json_headers(channel)
    headers["webhook-id"] = alert.delivery_id
    return headers


def signed_headers(channel: Channel, request: Request) -> dict[str, str]:
    """The request's headers plus the send-time ones: ``webhook-timestamp`` (the alert's
    ``sent_at``, as in the body) and, with a secret, ``webhook-signature`` over the content."""
    [alert] = request.alerts
    timestamp = int(alert.sent_at.timestamp())
    headers = dict(request.headers)
    headers["webhook-timestamp"] = str(timestamp)
    if channel.secret:
        headers["webhook-signature"] = sign(
            channel.secret, alert.delivery_id, timestamp, request.content
        )
    return headers


class WebhookNotifier:
    """One signed POST per delivery."""

    def __init__(self, channel: Channel, client: httpx.AsyncClient) -> None:
        self.channel = channel
        self._client = client

    def prepare(self, alerts: Sequence[Alert]) -> list[Request]:
        return [_request(self.channel, alert) for alert in alerts]

    async def send(self, request: Request) -> Outcome:
        if len(request.alerts) != 1:
            raise ValueError(
                f"{self.channel.name}: one request carries one delivery, this one "
                f"carries {len(request.alerts)}; build requests with Notifier.prepare()"
            )
        headers = signed_headers(self.channel, request)
        report_fallbacks(self.channel, request)
        return await post(self._client, self.channel, request.content, headers, by_status)


WEBHOOK = ChannelKind(notifier=WebhookNotifier, answers=by_status)
