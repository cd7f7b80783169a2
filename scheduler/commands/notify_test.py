"""``tminus notify-test CHANNEL``: send one sample alert now and show the receiver's answer.

The sample is the first upcoming reminder for that channel (or any upcoming
one), as the daemon would render it, but with a delivery id of its own
(``msg_test_…``): a receiver that deduplicates on ``webhook-id`` must not
mistake the test for the real reminder and drop the real one later. With
nothing upcoming, a built-in INF Treaty sample a week ahead is sent.

The sample is sent now and worded for now, in every part of the message alike:
an "at the moment" reminder of a milestone 150 days away reads "In 150 days"
and ``T-150d: …``, never "Now" (:mod:`scheduler.render.words`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from scheduler.config import load_config
from scheduler.durations import Duration
from scheduler.errors import NotFoundError
from scheduler.logs import configure, redacting
from scheduler.model import Alert, Channel, Config, Milestone, Outcome, Reminder
from scheduler.notify import make_notifier
from scheduler.render import fallback_text
from scheduler.settings import Settings

LOOKAHEAD = timedelta(days=400)  # a yearly rrule always has an occurrence in this window
SAMPLE_OFFSET = Duration(days=7)


def sample_reminder(config: Config, channel: str, now: datetime) -> Reminder:
    """The first upcoming reminder for ``channel``, else any upcoming one, else a built-in one."""
    try:
        from scheduler.planning import plan
    except ImportError:  # pragma: no cover - planning ships with the package
        upcoming: list[Reminder] = []
    else:
        upcoming = plan(config, now, now + LOOKAHEAD)
    for reminder in upcoming:
        if channel in reminder.channels:
            return reminder
    if upcoming:
        return upcoming[0]
    return builtin_sample(config.timezone, channel, now)


def builtin_sample(timezone: str, channel: str, now: datetime) -> Reminder:
    """The flagship example, moved to a week from ``now`` (to the minute) in ``timezone``."""
    milestone = Milestone(
        id="tminus-sample",
        title="INF Treaty withdrawal takes effect (tminus test message)",
        timezone=timezone,
        description="Article XV — six months after notice. Sent by tminus notify-test.",
        tags=("inf", "test"),
        links=("https://en.wikipedia.org/wiki/Intermediate-Range_Nuclear_Forces_Treaty",),
    )
    due = now.astimezone(milestone.zone).replace(second=0, microsecond=0)
    return Reminder(
        milestone=milestone,
        occurrence=SAMPLE_OFFSET.add_to(due),
        offset=SAMPLE_OFFSET,
        due_at=due,
        channels=(channel,),
    )


async def send_sample(channel: Channel, alert: Alert) -> Outcome:
    """Send ``alert`` through a fresh client; a sample is always one request."""
    async with httpx.AsyncClient() as client:
        notifier = make_notifier(channel, client)
        [request] = notifier.prepare([alert])
        return await notifier.send(request)


def notify_test(args: argparse.Namespace, settings: Settings) -> int:
    """Send a sample alert to ``args.channel``; exit 0 when the receiver accepted it."""
    configure(fmt=settings.log_format, level=settings.log_level)
    config = load_config(settings.config)
    channel = config.channels.get(args.channel)
    if channel is None:
        known = ", ".join(sorted(config.channels)) or "none"
        raise NotFoundError(f"no channel named {args.channel!r} (known channels: {known})")
    with redacting(channel.secrets):
        return _send_and_report(args, config, channel)


def _send_and_report(args: argparse.Namespace, config: Config, channel: Channel) -> int:
    now = datetime.now(UTC)
    reminder = sample_reminder(config, channel.name, now)
    alert = Alert(
        delivery_id=f"msg_test_{uuid.uuid4().hex[:24]}",
        reminder=reminder,
        channel=channel.name,
        attempt=1,
        late=False,
        sent_at=now,
    )
    text = fallback_text(reminder, sent_at=alert.sent_at)
    outcome = asyncio.run(send_sample(channel, alert))
    status = outcome.status_code if outcome.status_code is not None else "-"
    if args.json:
        document = {
            "channel": channel.name,
            "type": channel.type.value,
            "ok": outcome.ok,
            "status_code": outcome.status_code,
            "reason": outcome.reason.value,
            "body": outcome.body,
            "detail": outcome.detail,
            "retryable": outcome.retryable,
            "retry_after": outcome.retry_after,
            "disable_channel": outcome.disable_channel,
            "delivery_id": alert.delivery_id,
            "text": text,
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        print(f"{channel.name}: {status} {outcome.reason.value} {outcome.body}".rstrip())
        if outcome.detail:
            print(f"  {outcome.detail}")
        print(f"  message: {text} (id {alert.delivery_id})")
    return 0 if outcome.ok else 1
