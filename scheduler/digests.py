"""Digests: each fire of a digest's schedule as a planned delivery, with what it lists.

Pure: values in, values out, no clock. The daemon's reconcile, ``simulate``,
``upcoming`` and ``explain`` call :func:`plan_digests` beside
:func:`scheduler.planning.plan`.

A digest is not a milestone, but its fires travel the same road as reminders: each
is a :class:`~scheduler.model.Reminder` of kind ``digest`` whose milestone is the
digest under its own id space (``digest:weekly``), whose occurrence and due time
are the fire instant and whose offset is zero. So its identity is (digest id, fire
instant) and its delivery id adds the channel, as SPEC asks; the store, retries,
``catch_up``, claims across replicas and history need nothing new. The ``digest:``
prefix cannot clash with a milestone id (a slug has no colon), and the API and the
status page list milestones from the config, where digests are not milestones.

What a fire lists is decided here, at plan time, and kept in the delivery's
snapshot (``extra``): ``{"digest": {"id", "fired_at", "within"}, "milestones":
[...]}``, the webhook body's own keys. Each reconcile (every reload, and the hourly
refill) plans it again and refreshes a changed list. It is not recomputed at send
time: the list depends only on the config and the fire instant, which a reload
already covers, and the delivery pipeline renders from the snapshot alone (a
redelivery shows what was sent). Countdowns are worked out when the message is
rendered, from each item's instant.

Rules:

* a fire lists every active milestone occurrence ``fired_at <= at < fired_at +
  within``, soonest first (then by id), those with one of the digest's ``tags`` when
  it names any; at most :data:`MAX_LISTED`, with ``total`` counting them all;
* ``skip_empty`` (the default): a fire with nothing to list is not planned at all, so
  it sends nothing and leaves no row (``explain`` shows it as empty). A skipped row
  per empty fire would fill ``history`` with noise every week; a fire that stops being
  empty after a reload is planned by that reconcile like any new reminder;
* ``acknowledged``: each item carries what the acknowledgement lookup answers for its
  occurrence (``None`` while nothing is acknowledged).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scheduler.cron import fire_times
from scheduler.model import ZERO, AlertKind, Config, Digest, Milestone, MilestoneStatus, Reminder
from scheduler.planning import Resolved, occurrences, resolve
from scheduler.timekeeping import iso_exact

DIGEST_PREFIX = "digest:"
# A digest is a summary: past this many entries a message is a list nobody reads.
MAX_LISTED = 100
_ACTIVE = MilestoneStatus.ACTIVE

AckLookup = Callable[[str, datetime], Mapping[str, Any] | None]
"""(milestone id, occurrence) -> ``{"by", "at", "note"}`` when acknowledged, else None."""


def no_acknowledgements(milestone_id: str, occurrence: datetime) -> None:
    """The acknowledgement lookup until acknowledgements are stored: nothing is."""
    return None


def digest_milestone_id(digest_id: str) -> str:
    """The milestone id a digest's deliveries are stored under (``digest:weekly``)."""
    return DIGEST_PREFIX + digest_id


def digest_milestone(digest: Digest) -> Milestone:
    """The stand-in milestone a digest's fires hang off (id, zone, channels, catch_up)."""
    return Milestone(
        id=digest_milestone_id(digest.id),
        title=f"Digest {digest.id}",
        timezone=digest.timezone,
        notify=digest.notify,
        catch_up=digest.catch_up,
        tags=digest.tags,
    )


@dataclass(frozen=True, slots=True)
class _Entry:
    timestamp: float
    milestone: Milestone
    at: datetime


def _entries(
    config: Config, digest: Digest, resolved: Mapping[str, Resolved], lo: datetime, hi: datetime
) -> list[_Entry]:
    wanted = set(digest.tags)
    found: list[_Entry] = []
    for m in config.milestones:
        if m.status is not _ACTIVE or (wanted and wanted.isdisjoint(m.tags)):
            continue
        for at in occurrences(resolved[m.id], lo, hi):
            found.append(_Entry(at.timestamp(), m, at))
    found.sort(key=lambda e: (e.timestamp, e.milestone.id))
    return found


def _item(entry: _Entry, acknowledged: AckLookup) -> dict[str, Any]:
    m = entry.milestone
    ack = acknowledged(m.id, entry.at)
    return {
        "id": m.id,
        "title": m.title,
        "at": iso_exact(entry.at),
        "timezone": m.timezone,
        "tags": list(m.tags),
        "links": list(m.links),
        "acknowledged": dict(ack) if ack is not None else None,
    }


def digest_fires(
    config: Config,
    digest: Digest,
    start: datetime,
    end: datetime,
    *,
    resolved: Mapping[str, Resolved],
    acknowledged: AckLookup = no_acknowledgements,
) -> list[Reminder]:
    """Every fire of ``digest`` with ``start <= fired_at < end``, empty ones included."""
    fires = list(fire_times(digest.schedule, digest.timezone, start, end))
    if not fires:
        return []
    entries = _entries(config, digest, resolved, fires[0], digest.within.add_to(fires[-1]))
    stamps = [e.timestamp for e in entries]
    milestone = digest_milestone(digest)
    within = digest.within.iso()
    out: list[Reminder] = []
    for fire in fires:
        first = bisect.bisect_left(stamps, fire.timestamp())
        last = bisect.bisect_left(stamps, digest.within.add_to(fire).timestamp())
        listed = [_item(e, acknowledged) for e in entries[first : min(last, first + MAX_LISTED)]]
        extra = {
            "digest": {"id": digest.id, "fired_at": iso_exact(fire), "within": within},
            "milestones": listed,
            "total": last - first,
        }
        out.append(
            Reminder(milestone, fire, ZERO, fire, digest.notify, AlertKind.DIGEST, extra=extra)
        )
    return out


def plan_digests(
    config: Config,
    start: datetime,
    end: datetime,
    *,
    resolved: Mapping[str, Resolved] | None = None,
    acknowledged: AckLookup = no_acknowledgements,
) -> list[Reminder]:
    """The digest fires to send with ``start <= fired_at < end``, in time order; an
    empty fire of a ``skip_empty`` digest is left out."""
    if not config.digests:
        return []
    if resolved is None:
        resolved = resolve(config)
    out: list[Reminder] = []
    for digest in config.digests:
        for fire in digest_fires(
            config, digest, start, end, resolved=resolved, acknowledged=acknowledged
        ):
            if fire.extra["total"] or not digest.skip_empty:
                out.append(fire)
    out.sort(key=lambda r: (r.due_at.astimezone(UTC), r.milestone.id))
    return out


def with_digests(reminders: list[Reminder], digests: list[Reminder]) -> list[Reminder]:
    """Reminders and digest fires in one list ordered by due time (both already sorted)."""
    if not digests:
        return reminders
    merged = [*reminders, *digests]
    merged.sort(key=lambda r: r.due_at.timestamp())  # stable: reminders' own order is kept
    return merged


def find_digest(config: Config, name: str) -> Digest | None:
    """The digest ``name`` names (``weekly`` or ``digest:weekly``), if any."""
    wanted = name.removeprefix(DIGEST_PREFIX)
    return next((d for d in config.digests if d.id == wanted), None)
