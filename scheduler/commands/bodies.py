"""What each channel would receive for the alerts of ``tminus simulate``: the exact bodies.

Each channel's own notifier renders them (:meth:`~scheduler.notify.base.Notifier.prepare`,
the code the daemon sends with), through a client whose transport refuses every
request: nothing here can reach the network. Alerts are sent as the daemon sends
them when nothing goes wrong: first attempts, on time; chat channels combine the
reminders due within their ``group_window`` into one message, sent when the last
of them is due, as the ``group`` stage does. A channel's secrets that a template
put into a body (``env.PD_KEY``) are shown as ``***``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from scheduler.delivery.policy import is_grouped
from scheduler.logs import scrub
from scheduler.model import Alert, Config, Reminder
from scheduler.notify import make_notifier


@dataclass(frozen=True, slots=True)
class Body:
    """One channel's request carrying one reminder."""

    channel: str
    type: str
    delivery_id: str
    content_type: str
    body: str  # the request body exactly as it would be sent (UTF-8)
    alerts: int  # how many reminders that one request carries


def _no_network(request: httpx.Request) -> httpx.Response:
    raise RuntimeError("simulate renders only; it sends nothing")


def channel_bodies(config: Config, reminders: Sequence[Reminder]) -> dict[tuple[str, str], Body]:
    """``(reminder id, channel) -> Body`` for every delivery of ``reminders``."""
    per_channel: dict[str, list[Reminder]] = {}
    for reminder in reminders:
        for name in reminder.channels:
            per_channel.setdefault(name, []).append(reminder)
    client = httpx.AsyncClient(transport=httpx.MockTransport(_no_network))
    try:
        return _render(config, per_channel, client)
    finally:
        asyncio.run(client.aclose())


def _render(
    config: Config, per_channel: dict[str, list[Reminder]], client: httpx.AsyncClient
) -> dict[tuple[str, str], Body]:
    out: dict[tuple[str, str], Body] = {}
    for name, planned in per_channel.items():
        channel = config.channels.get(name)
        if channel is None:
            continue
        notifier = make_notifier(channel, client)
        ordered = sorted(planned, key=lambda r: r.due_at)
        clusters: list[list[Reminder]] = []
        for reminder in ordered:
            first = clusters[-1][0] if clusters else None
            near = first is not None and reminder.due_at - first.due_at <= channel.group_window
            if is_grouped(channel) and near:
                clusters[-1].append(reminder)
            else:
                clusters.append([reminder])
        for cluster in clusters:
            sent_at = cluster[-1].due_at  # a group goes when its last reminder is due
            alerts = [
                Alert(r.delivery_id(name), r, name, attempt=1, late=False, sent_at=sent_at)
                for r in cluster
            ]
            for request in notifier.prepare(alerts):
                for alert in request.alerts:
                    out[(alert.reminder.id, name)] = Body(
                        channel=name,
                        type=channel.type.value,
                        delivery_id=alert.delivery_id,
                        content_type=request.headers.get("content-type", ""),
                        # A template may put a secret in the body (env.PD_KEY): shown as ***.
                        body=scrub(request.content.decode("utf-8"), channel.secrets()),
                        alerts=len(request.alerts),
                    )
    return out
