"""Commands that need only the config: check, upcoming, simulate, explain, export-ics.

No database and no network. Each is ``(args, settings) -> int``; expected errors
are raised as :class:`TminusError` and reported by the one handler in ``cli.py``.
Dates come from :mod:`scheduler.planning`, the same code the daemon runs.

Conventions:

* ``--now``, ``--from`` and ``--until`` are ISO 8601 (``2019-07-01``,
  ``2019-07-01T09:00``, ``2019-07-01T09:00+02:00``). Without an offset they are
  wall time in the config file's ``timezone`` (UTC when it names none), as a
  naive datetime in the config itself would be.
* ``--from``, ``--until`` and ``--now`` must fall in the years 1900–9000 and
  ``--within`` is at most 100 years: beyond that, date arithmetic runs off the
  end of Python's calendar (year 9999), and no deadline lives there.
* ``check`` counts reminders per occurrence: the sum of ``len(remind)`` over
  active (not cancelled or done) milestones. A recurring milestone with four
  offsets counts four, however often it recurs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.parser import isoparse

from scheduler.commands.timing import (
    channels_cell,
    explain_digest,
    held_lines,
    holds,
    reminder_extras,
)
from scheduler.config import load_config
from scheduler.digests import find_digest, plan_digests, with_digests
from scheduler.durations import Duration
from scheduler.errors import ConfigError, Problem, TminusError, UsageError
from scheduler.gc_pause import gc_paused
from scheduler.model import AlertKind, Config, MilestoneStatus, Reminder
from scheduler.planning import Resolved, plan, resolve
from scheduler.planning import explain as explain_milestone
from scheduler.render import fallback_text
from scheduler.render.words import counted
from scheduler.settings import Settings
from scheduler.timekeeping import compact_span, format_instant, format_utc_minute, to_zone

_INACTIVE = (MilestoneStatus.CANCELLED, MilestoneStatus.DONE)
MIN_YEAR = 1900
MAX_YEAR = 9000
MAX_WINDOW_YEARS = 100
_WINDOW_BASE = datetime(2000, 1, 1, tzinfo=UTC)


# -- shared helpers ------------------------------------------------------------------
def _load(settings: Settings) -> tuple[Config, dict[str, Resolved]]:
    """Load and resolve the config; a date that cannot be worked out is a config error."""
    config = load_config(settings.config)
    try:
        with gc_paused():
            resolved = resolve(config)
    except ValueError as exc:
        raise ConfigError(
            [Problem(file=settings.config, line=0, column=0, message=str(exc))]
        ) from exc
    return config, resolved


def _parse_instant(text: str, flag: str) -> datetime:
    """An ISO 8601 moment; naive ones get their zone later (:func:`_in_zone`)."""
    try:
        moment: datetime = isoparse(text.strip())
    except (ValueError, OverflowError) as exc:
        raise UsageError(
            f"{flag}: {text!r} is not an ISO 8601 date or time (e.g. 2019-07-01T09:00)"
        ) from exc
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise UsageError(
            f"{flag}: {text.strip()!r} is out of range: use a date in the years "
            f"{MIN_YEAR}-{MAX_YEAR}"
        )
    return moment


def _in_zone(moment: datetime, config: Config) -> datetime:
    return to_zone(moment, ZoneInfo(config.timezone))


def _parse_window(text: str) -> Duration:
    try:
        span = Duration.parse(text)
    except ValueError as exc:
        raise UsageError(f"--within: {exc}") from exc
    if span.is_negative or span.is_zero:
        raise UsageError(f"--within: {text!r} must be a positive duration such as 90d")
    limit = _WINDOW_BASE.replace(year=_WINDOW_BASE.year + MAX_WINDOW_YEARS)
    try:
        too_long = span.add_to(_WINDOW_BASE) > limit
    except (ValueError, OverflowError):  # past year 9999: far too long
        too_long = True
    if too_long:
        raise UsageError(f"--within: {text!r} is too long: at most {MAX_WINDOW_YEARS} years")
    return span


def _emit_json(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _alert_type(reminder: Reminder) -> str:
    if reminder.kind is AlertKind.ESCALATION:
        return "milestone.escalated"

    if reminder.kind is AlertKind.DIGEST:
        return "digest"
    return "milestone.reached" if reminder.offset.is_zero else "reminder.due"


def _reminder_json(reminder: Reminder) -> dict[str, Any]:
    m = reminder.milestone
    return {
        "id": reminder.id,
        "milestone": m.id,
        "title": m.title,
        "timezone": m.timezone,
        "due_at": reminder.due_at.isoformat(),
        "occurrence": reminder.occurrence.isoformat(),
        "offset": reminder.offset.iso(),
        "label": reminder.label,
        "type": _alert_type(reminder),
        "channels": list(reminder.channels),
    }


def _simulated_json(
    config: Config, reminder: Reminder, bodies: dict[tuple[str, str], Any]
) -> dict[str, Any]:
    """One simulated alert: the reminder, and per channel the exact body it would get."""
    r = reminder
    found = [bodies[(r.id, name)] for name in r.channels if (r.id, name) in bodies]
    return {
        **_reminder_json(r),
        **reminder_extras(config, r),
        "reminder_id": r.id,
        "text": fallback_text(r),
        "deliveries": [
            {
                "channel": b.channel,
                "type": b.type,
                "delivery_id": b.delivery_id,
                "content_type": b.content_type,
                "alerts_in_request": b.alerts,
                "sent_at": b.sent_at,
                "body": b.body,
            }
            for b in found
        ],
    }


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


# -- check -----------------------------------------------------------------------------
def check(args: argparse.Namespace, settings: Settings) -> int:
    """Validate the config: ``OK: N milestones, M reminders, K channels`` or every problem.

    The settings the daemon would refuse to start with are checked too: a
    ``TMINUS_PUBLIC_URL`` without a usable ``TMINUS_SECRET_KEY``.
    """
    settings.ack_links()
    try:
        config, _ = _load(settings)
    except ConfigError as exc:
        if not args.json:
            raise
        _emit_json(
            {
                "ok": False,
                "errors": [
                    {
                        "file": p.file,
                        "line": p.line,
                        "column": p.column,
                        "path": p.path,
                        "message": p.message,
                    }
                    for p in exc.problems
                ],
            }
        )
        return exc.exit_code
    n = len(config.milestones)
    reminders = sum(len(m.remind) for m in config.milestones if m.status not in _INACTIVE)
    k = len(config.channels)
    if args.json:
        document = {"ok": True, "milestones": n, "reminders": reminders, "channels": k}
        _emit_json({**document, "digests": len(config.digests)})
    else:
        summary = [counted(n, "milestone"), counted(reminders, "reminder"), counted(k, "channel")]
        if config.digests:
            summary.append(counted(len(config.digests), "digest"))
        print(f"OK: {', '.join(summary)}")
    return 0


# -- upcoming --------------------------------------------------------------------------
def upcoming(args: argparse.Namespace, settings: Settings) -> int:
    """The reminders due from now to now + ``--within``, soonest first."""
    span = _parse_window(args.within)
    raw_now = _parse_instant(args.now, "--now") if args.now else datetime.now(UTC)
    config, resolved = _load(settings)
    now = _in_zone(raw_now, config)
    end = span.add_to(now)
    with gc_paused():
        reminders = plan(config, now, end, resolved=resolved)
        reminders = with_digests(reminders, plan_digests(config, now, end, resolved=resolved))
    if args.json:
        _emit_json([{**_reminder_json(r), **reminder_extras(config, r)} for r in reminders])
        return 0
    if not reminders:
        print(f"No reminders due within {args.within} of {format_instant(now)}.")
        return 0
    rows = [
        [
            format_instant(r.due_at),
            f"in {compact_span(r.due_at - now)}",
            r.milestone.id,
            "digest" if r.kind is AlertKind.DIGEST else r.label,
            channels_cell(config, r),
        ]
        for r in reminders
    ]
    print(_table(["WHEN", "IN", "MILESTONE", "LABEL", "CHANNELS"], rows))
    return 0


# -- simulate --------------------------------------------------------------------------
def simulate(args: argparse.Namespace, settings: Settings) -> int:
    """Every alert the daemon would send in ``[--from, --until)``, in order, rendered."""
    raw_start = _parse_instant(args.start, "--from")
    raw_end = _parse_instant(args.end, "--until")
    config, resolved = _load(settings)
    start, end = _in_zone(raw_start, config), _in_zone(raw_end, config)
    if end <= start:
        raise UsageError("--until must be later than --from")
    with gc_paused():
        # escalations are listed as if nothing were acknowledged (there is no database here)
        reminders = plan(config, start, end, resolved=resolved)
        reminders = with_digests(reminders, plan_digests(config, start, end, resolved=resolved))
    if args.json:
        from scheduler.commands.bodies import channel_bodies  # notifiers: only for --json

        bodies = channel_bodies(config, reminders)
        _emit_json([_simulated_json(config, r, bodies) for r in reminders])
        return 0
    for r in reminders:
        print(f"{format_instant(r.due_at)}  [{', '.join(r.channels)}]  {fallback_text(r)}")
        for line in held_lines(config, r):
            print(line)
    deliveries = sum(len(r.channels) for r in reminders)
    held = sum(len(holds(config, r)) for r in reminders)
    # The summary goes to stderr so that stdout stays one line per alert for pipes.
    print(
        f"{counted(len(reminders), 'reminder')}, {counted(deliveries, 'delivery', 'deliveries')} "
        + (f"({held} held for quiet hours) " if held else "")
        + f"from {format_instant(start)} until {format_instant(end)}",
        file=sys.stderr,
    )
    return 0


# -- explain ---------------------------------------------------------------------------
def explain(args: argparse.Namespace, settings: Settings) -> int:
    """How a milestone's date was computed, its next occurrences and its reminders."""
    config, resolved = _load(settings)
    now = datetime.now(UTC)
    digest = find_digest(config, args.milestone)
    if digest is not None and (
        args.milestone.startswith("digest:") or args.milestone not in resolved
    ):
        return explain_digest(config, digest, now=now, resolved=resolved, as_json=args.json)
    e = explain_milestone(config, args.milestone, now=now, resolved=resolved)
    m = e.milestone
    if args.svg:
        _write_chain_svg(args.svg, config, resolved, m.id, now)
    if args.json:
        _emit_json(
            {
                "id": m.id,
                "title": m.title,
                "timezone": m.timezone,
                "status": m.status.value,
                "at": e.at.isoformat(),
                "steps": list(e.steps),
                "rrule": m.rrule,
                "occurrences": [o.isoformat() for o in e.occurrences],
                "reminders": [_reminder_json(r) for r in e.reminders],
            }
        )
        return 0
    print(f"{m.id}: {m.title}")
    for step in e.steps:
        print(f"  {step}")
    print(f"at: {format_instant(e.at)} ({format_utc_minute(e.at)})")
    if m.rrule:
        print(f"recurs: {m.rrule}")
        if e.occurrences:
            print("next occurrences:")
            for occ in e.occurrences:
                print(f"  {format_instant(occ)}")
        else:
            print("next occurrences: none (the rule has ended)")
    if e.reminders:
        print(f"reminders (to {', '.join(m.notify) or 'no channel'}):")
        for r in e.reminders:
            to = f" → {', '.join(r.channels)}" if r.kind is AlertKind.ESCALATION else ""
            print(f"  {format_instant(r.due_at)}  {r.label}{to}")
    elif m.status not in _INACTIVE:
        print("reminders: none")
    return 0


def _write_chain_svg(
    target: str, config: Config, resolved: dict[str, Resolved], milestone_id: str, now: datetime
) -> None:
    """Draw the milestone with its ``after`` ancestors and dependents, as the status
    page's timeline draws them (no database here: ticks are due or not recorded)."""
    from scheduler.render.timeline import timeline_svg
    from scheduler.render.timeline_layout import chain_occurrences, lay_out, window_around

    occs = chain_occurrences(resolved, milestone_id, now)
    start, end = window_around(occs, now)
    layout = lay_out(occs, start=start, end=end, now=now, zone=ZoneInfo(config.timezone))
    svg = timeline_svg(layout, {}, heading=f"{milestone_id} and its after chain")
    try:
        Path(target).write_text(svg, encoding="utf-8")
    except OSError as exc:
        raise TminusError(f"cannot write {target}: {exc.strerror}") from exc


# -- export-ics ------------------------------------------------------------------------
def export_ics(args: argparse.Namespace, settings: Settings) -> int:
    """Write the RFC 5545 calendar to ``-o FILE`` or stdout."""
    from scheduler.ics import to_ics  # icalendar is only worth importing here

    config, resolved = _load(settings)
    data = to_ics(config, now=datetime.now(UTC), resolved=resolved)
    if args.output and args.output != "-":
        target = Path(args.output)
        try:
            target.write_bytes(data)
        except OSError as exc:
            raise TminusError(f"cannot write {args.output}: {exc.strerror}") from exc
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0
