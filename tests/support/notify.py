"""Sending alerts through a notifier as the pipeline does: prepare once, send each request."""

from __future__ import annotations

from scheduler.model import Alert, Outcome
from scheduler.notify.base import Notifier


async def send_one(notifier: Notifier, *alerts: Alert) -> Outcome:
    """Prepare ``alerts`` as exactly one request and send it."""
    [request] = notifier.prepare(alerts)
    return await notifier.send(request)
