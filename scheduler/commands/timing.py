"""What the offline commands show about *when* things go out: quiet-hour holds and
digests (``simulate``, ``upcoming``, ``explain DIGEST``).

No database and no network: the same pure functions the daemon uses
(:mod:`scheduler.quiet_hours`, :mod:`scheduler.digests`).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from typing import Any

from scheduler.digests import digest_fires, digest_milestone_id
from scheduler.model import AlertKind, Config, Digest, Reminder
from scheduler.planning import Resolved
from scheduler.quiet_hours import describe, held_until
from scheduler.timekeeping import format_instant

EXPLAIN_FIRES = 5
# How far ahead ``explain`` looks for a digest's next fires (a yearly one still shows).
_EXPLAIN_REACH_DAYS = 400


def holds(config: Config, reminder: Reminder) -> dict[str, datetime]:
    """Channel -> when quiet hours let ``reminder`` go, for each channel that holds it."""
    out: dict[str, datetime] = {}
    for name in reminder.channels:
        channel = config.channels.get(name)
        until = held_until(channel.hours if channel else None, reminder.due_at)
        if until is not None:
            out[name] = until.astimezone(reminder.due_at.tzinfo)
    return out


def channels_cell(config: Config, reminder: Reminder) -> str:
    """``team, legal-mail (held until 2026-12-07 09:00 CET)`` for the ``upcoming`` table."""
    held = holds(config, reminder)
    cells = [
        f"{name} (held until {format_instant(held[name])})" if name in held else name
        for name in reminder.channels
    ]
    return ", ".join(cells) or "-"


def held_lines(config: Config, reminder: Reminder) -> list[str]:
    """``simulate``'s note under an alert that quiet hours hold on some channel."""
    return [
        f"    held on {name} until {format_instant(until)} (quiet hours)"
        for name, until in holds(config, reminder).items()
    ]


def reminder_extras(config: Config, reminder: Reminder) -> dict[str, Any]:
    """Keys the JSON of ``upcoming`` and ``simulate`` adds: holds, and a digest's list."""
    out: dict[str, Any] = {
        "held_until": {name: t.isoformat() for name, t in holds(config, reminder).items()}
    }
    if reminder.kind is AlertKind.DIGEST:
        out["digest"] = dict(reminder.extra["digest"])
        out["milestones"] = [item["id"] for item in reminder.extra["milestones"]]
    return out


def explain_digest(
    config: Config,
    digest: Digest,
    *,
    now: datetime,
    resolved: dict[str, Resolved],
    as_json: bool,
) -> int:
    """``tminus explain DIGEST``: its schedule, zone, window, filter, channels and next fires."""
    fires: list[Reminder] = []
    for fire in digest_fires(
        config, digest, now, now + timedelta(days=_EXPLAIN_REACH_DAYS), resolved=resolved
    ):
        fires.append(fire)
        if len(fires) >= EXPLAIN_FIRES:
            break
    quiet = {
        name: describe(channel.hours)
        for name in digest.notify
        if (channel := config.channels.get(name)) is not None and channel.hours is not None
    }
    if as_json:
        document = {
            "id": digest.id,
            "milestone_id": digest_milestone_id(digest.id),
            "schedule": digest.schedule,
            "timezone": digest.timezone,
            "within": digest.within.iso(),
            "tags": list(digest.tags),
            "notify": list(digest.notify),
            "skip_empty": digest.skip_empty,
            "quiet_hours": quiet,
            "fires": [
                {
                    "fired_at": f.due_at.isoformat(),
                    "milestones": [item["id"] for item in f.extra["milestones"]],
                    "total": f.extra["total"],
                    "sent": bool(f.extra["total"]) or not digest.skip_empty,
                }
                for f in fires
            ],
        }
        json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    tags = f", tagged {', '.join(digest.tags)}" if digest.tags else ""
    print(f"digest {digest.id} ({digest_milestone_id(digest.id)} in history)")
    print(f"  schedule: {digest.schedule} ({digest.timezone})")
    print(f"  lists: milestones within {digest.within.words()} of each fire{tags}")
    print(f"  to: {', '.join(digest.notify) or 'no channel'}")
    for name, hours in quiet.items():
        print(f"  {name} sends only {hours}: a fire outside is held until the next opening")
    if not fires:
        print("next fires: none")
        return 0
    print("next fires:")
    for f in fires:
        ids = [item["id"] for item in f.extra["milestones"]]
        total = int(f.extra["total"])
        if total:
            listed = ", ".join(ids) + (
                f", …and {total - len(ids)} more" if total > len(ids) else ""
            )
            what = f"{total} milestone{'s' if total != 1 else ''}: {listed}"
        else:
            what = "empty: nothing sent (skip_empty)" if digest.skip_empty else "empty"
        print(f"  {format_instant(f.due_at)}  {what}")
    return 0
