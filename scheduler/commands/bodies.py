"""What each channel would receive for the alerts of ``tminus simulate``: the exact bodies.

Each channel's own notifier renders them (:meth:`~scheduler.notify.base.Notifier.prepare`,
the code the daemon sends with), through a client whose transport refuses every
request: nothing here can reach the network. Alerts are sent as the daemon sends
them when nothing goes wrong: first attempts, on time, or at the channel's next
opening when its quiet hours hold them (``held``); chat channels combine the
reminders going out within their ``group_window`` into one message, sent when the
last of them goes, as the ``group`` stage does. A channel's secrets that a template
put into a body (``env.PD_KEY``) are shown as ``***``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx

from scheduler.delivery.policy import is_grouped
from scheduler.logs import scrub
from scheduler.model import Alert, Config, Reminder
from scheduler.notify import make_notifier
from scheduler.quiet_hours import held_until


@dataclass(frozen=True, slots=True)
class Body:
    """One channel's request carrying one reminder."""

    channel: str
    type: str
    delivery_id: str
    content_type: str
    body: str  # the request body exactly as it would be sent (UTF-8)
    alerts: int  # how many reminders that one request carries
    sent_at: str  # when it goes out (ISO 8601): its due time, or the opening that ends a hold


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
        goes: dict[str, tuple[datetime, bool]] = {}
        for r in planned:
            opening = held_until(channel.hours, r.due_at)
            goes[r.id] = (r.due_at, False) if opening is None else (opening, True)
        ordered = sorted(planned, key=lambda r: goes[r.id][0])
        clusters: list[list[Reminder]] = []
        for reminder in ordered:
            first = goes[clusters[-1][0].id][0] if clusters else None
            near = first is not None and goes[reminder.id][0] - first <= channel.group_window
            if is_grouped(channel) and near:
                clusters[-1].append(reminder)
            else:
                clusters.append([reminder])
        for cluster in clusters:
            sent_at = goes[cluster[-1].id][0]  # a group goes when its last reminder goes
            alerts = [
                Alert(
                    r.delivery_id(name),
                    r,
                    name,
                    attempt=1,
                    late=False,
                    sent_at=sent_at,
                    held=goes[r.id][1],
                )
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
                        sent_at=sent_at.isoformat(),
                    )
    return out
