"""``tminus ack`` and ``tminus unack``: acknowledge a milestone occurrence, or take it back.

They work on the database directly (no daemon needed) and read the config (``-c``)
to know which occurrence is meant: without ``--occurrence``, the next one not yet
past, else the latest. A running daemon notices within a second (its heartbeat
reads the acknowledgement version) and stops what it holds in memory.
"""

from __future__ import annotations

import argparse
import getpass
from datetime import UTC, datetime

from scheduler.acknowledge import (
    MAX_BY_CHARS,
    MAX_NOTE_CHARS,
    Acknowledgement,
    AckSource,
    choose_occurrence,
    clean_text,
)
from scheduler.commands.offline import _load, _parse_instant
from scheduler.commands.records import _emit_json, _missing_sqlite, _no_database, _open
from scheduler.errors import NotFoundError, TminusError, UsageError
from scheduler.model import ChannelType, Config
from scheduler.planning import Resolved
from scheduler.render.words import counted
from scheduler.settings import Settings
from scheduler.store import Store
from scheduler.timekeeping import format_instant


def _occurrence(
    args: argparse.Namespace, config: Config, resolved: dict[str, Resolved], now: datetime
) -> tuple[Resolved, datetime]:
    found = resolved.get(args.milestone)
    if found is None:
        raise NotFoundError(f"no milestone {args.milestone!r} in {', '.join(config.sources)}")
    wanted = _parse_instant(args.occurrence, "--occurrence") if args.occurrence else None
    return found, choose_occurrence(found, now, wanted)


def _who(given: str | None) -> str:
    if given is not None:
        return given
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return "(cli)"


def _text(value: str | None, flag: str, limit: int) -> str:
    try:
        return clean_text(value, field=flag, limit=limit)
    except TminusError as exc:
        raise UsageError(str(exc)) from None


def _open_store(settings: Settings) -> Store:
    missing = _missing_sqlite(settings.database_url)
    if missing is not None:
        raise TminusError(_no_database(missing))
    return _open(settings)


def ack(args: argparse.Namespace, settings: Settings) -> int:
    """Acknowledge an occurrence: its unsent reminders and escalations are cancelled."""
    config, resolved = _load(settings)
    now = datetime.now(UTC)
    found, occurrence = _occurrence(args, config, resolved, now)
    acknowledgement = Acknowledgement(
        milestone_id=found.milestone.id,
        occurrence=occurrence,
        by=_text(_who(args.by), "--by", MAX_BY_CHARS) or "(cli)",
        note=_text(args.note, "--note", MAX_NOTE_CHARS),
        source=AckSource.CLI,
        at=now,
    )
    webhooks = sorted(n for n, c in config.channels.items() if c.type is ChannelType.WEBHOOK)
    store = _open_store(settings)
    try:
        change = store.acknowledge(acknowledgement, webhook_channels=webhooks)
    finally:
        store.close()
    shown = format_instant(occurrence.astimezone(found.milestone.zone))
    if args.json:
        _emit_json(
            {
                "acknowledged": change.acknowledgement.to_json(),
                "changed": change.changed,
                "cancelled": [i for i, _c in change.cancelled],
                "notices": [i for i, _c in change.notices],
            }
        )
        return 0
    a = change.acknowledgement
    if not change.changed:
        print(
            f"{found.milestone.id} at {shown} was already acknowledged by {a.by} "
            f"({a.source.value}, {format_instant(a.at)}): nothing changed."
        )
        return 0
    print(
        f"Acknowledged {found.milestone.id} at {shown} (by {a.by}): "
        f"{counted(len(change.cancelled), 'delivery', 'deliveries')} cancelled, "
        f"{counted(len(change.notices), 'webhook notice')} queued."
    )
    return 0


def unack(args: argparse.Namespace, settings: Settings) -> int:
    """Take an acknowledgement back: reminders not yet due are scheduled again."""
    config, resolved = _load(settings)
    now = datetime.now(UTC)
    found, occurrence = _occurrence(args, config, resolved, now)
    who = _text(_who(args.by), "--by", MAX_BY_CHARS) or "(cli)"
    store = _open_store(settings)
    try:
        change = store.unacknowledge(found.milestone.id, occurrence, by=who, now=now)
    finally:
        store.close()
    shown = format_instant(occurrence.astimezone(found.milestone.zone))
    if change is None:
        raise NotFoundError(f"{found.milestone.id} at {shown} is not acknowledged")
    if args.json:
        _emit_json(
            {
                "taken_back": change.acknowledgement.to_json(),
                "restored": [i for i, _c in change.restored],
            }
        )
        return 0
    print(
        f"Took back the acknowledgement of {found.milestone.id} at {shown}: "
        f"{counted(len(change.restored), 'delivery', 'deliveries')} scheduled again."
    )
    return 0
