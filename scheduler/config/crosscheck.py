"""Checks that need every file at once: unique ids and channel names, channel
references in ``notify``, ``after`` targets and ``after`` cycles.

Each problem is returned as ``(file, Issue)``; an issue whose message holds
``{ref}`` names another place, filled in once positions are known.
"""

from __future__ import annotations

import difflib

from scheduler.config.checker import DocPath, Issue
from scheduler.config.schema import FileConfig
from scheduler.config.values import MAX_YEAR, MIN_YEAR
from scheduler.durations import Duration
from scheduler.model import Milestone

FileIssue = tuple[str, Issue]


def cross_check(files: list[FileConfig]) -> list[FileIssue]:
    """Every cross-file problem, in file order."""
    out: list[FileIssue] = []
    out += _unique_channels(files)
    out += _unique_ids(files)
    out += _unique_digests(files)
    out += _notify_targets(files)
    out += _after_targets(files)
    out += _after_cycles(files)
    out += _after_reach(files)
    return out


def _unique_channels(files: list[FileConfig]) -> list[FileIssue]:
    out: list[FileIssue] = []
    first: dict[str, tuple[str, DocPath]] = {}
    for fc in files:
        for channel, path in fc.channels:
            if channel.name in first:
                message = f"duplicate channel name '{channel.name}' (first defined at {{ref}})"
                out.append((fc.file, Issue(path, message, on_key=True, ref=first[channel.name])))
            else:
                first[channel.name] = (fc.file, path)
    return out


def _unique_ids(files: list[FileConfig]) -> list[FileIssue]:
    ids = {m.id for fc in files for m, _ in fc.milestones}
    if len(ids) == sum(len(fc.milestones) for fc in files):
        return []  # the usual case, checked without holding a place per id
    del ids
    out: list[FileIssue] = []
    first: dict[str, tuple[str, DocPath]] = {}
    for fc in files:
        for milestone, path in fc.milestones:
            where = (*path, "id")
            if milestone.id in first:
                message = f"duplicate milestone id '{milestone.id}' (first defined at {{ref}})"
                out.append((fc.file, Issue(where, message, ref=first[milestone.id])))
            else:
                first[milestone.id] = (fc.file, where)
    return out


def _unique_digests(files: list[FileConfig]) -> list[FileIssue]:
    out: list[FileIssue] = []
    first: dict[str, tuple[str, DocPath]] = {}
    for fc in files:
        for digest, path in fc.digests:
            where = (*path, "id")
            if digest.id in first:
                message = f"duplicate digest id '{digest.id}' (first defined at {{ref}})"
                out.append((fc.file, Issue(where, message, ref=first[digest.id])))
            else:
                first[digest.id] = (fc.file, where)
    return out


def _notify_targets(files: list[FileConfig]) -> list[FileIssue]:
    known = {channel.name for fc in files for channel, _ in fc.channels}
    seen = set().union(*(fc.channels_seen for fc in files)) if files else set()
    out: list[FileIssue] = []
    reported: set[tuple[str, DocPath]] = set()
    checked: set[int] = set()  # most milestones share their file's defaults.notify tuple
    for fc in files:
        for group in [fc.default_notify, *fc.notify_refs, *fc.escalate_refs]:
            if id(group) in checked:
                continue
            checked.add(id(group))
            for name, path in group:
                if name in known or name in seen or (fc.file, path) in reported:
                    continue
                reported.add((fc.file, path))
                message = f"unknown channel '{name}'" + _hint(name, known | seen, "channels")
                out.append((fc.file, Issue(path, message)))
    return out


def _after_targets(files: list[FileConfig]) -> list[FileIssue]:
    if not any(fc.after_refs for fc in files):
        return []
    ids = {m.id for fc in files for m, _ in fc.milestones}
    seen = set().union(*(fc.ids_seen for fc in files)) if files else set()
    out: list[FileIssue] = []
    for fc in files:
        for target, path in fc.after_refs:
            if target in ids or target in seen:
                continue
            message = f"'after' names an unknown milestone '{target}'" + _hint(
                target, ids | seen, "milestones"
            )
            out.append((fc.file, Issue(path, message)))
    return out


def _after_cycles(files: list[FileConfig]) -> list[FileIssue]:
    """Each cycle once, reported at the member that comes first in file order."""
    # Only milestones with ``after`` can be on a cycle: a chain stops at one without.
    order: dict[str, int] = {}
    where: dict[str, tuple[str, DocPath]] = {}
    after: dict[str, str] = {}
    listed: set[str] = set()
    for fc in files:
        for milestone, path in fc.milestones:
            if milestone.id in listed:
                continue  # a duplicate id, reported elsewhere
            listed.add(milestone.id)
            if milestone.after is not None:
                order[milestone.id] = len(order)
                where[milestone.id] = (fc.file, path)
                after[milestone.id] = milestone.after
    state: dict[str, int] = {}  # 1: on the current chain, 2: finished
    cycles: list[list[str]] = []
    for start in order:
        chain: list[str] = []
        node: str | None = start
        while node is not None and node in order and state.get(node) is None:
            state[node] = 1
            chain.append(node)
            node = after.get(node)
        if node is not None and state.get(node) == 1:
            cycles.append(chain[chain.index(node) :])
        for member in chain:
            state[member] = 2
    out: list[FileIssue] = []
    for cycle in cycles:
        first = min(range(len(cycle)), key=lambda i: order[cycle[i]])
        ordered = cycle[first:] + cycle[:first]
        file, path = where[ordered[0]]
        names = " -> ".join([*ordered, ordered[0]])
        out.append((file, Issue((*path, "after"), f"after cycle: {names}")))
    return out


def _after_reach(files: list[FileConfig]) -> list[FileIssue]:
    """A chain of offsets that carries a milestone outside the years a config may hold.

    Each date and each offset is bounded on its own, but a chain of ``after`` adds
    them up. Years are reckoned roughly (a year as 365.2425 days): the bounds leave
    centuries of room, so only the order of magnitude matters.
    """
    if not any(m.after is not None for fc in files for m, _ in fc.milestones):
        return []
    found: dict[str, tuple[Milestone, str, DocPath]] = {}
    for fc in files:
        for milestone, path in fc.milestones:
            found.setdefault(milestone.id, (milestone, fc.file, path))
    years: dict[str, float] = {}
    out: list[FileIssue] = []
    for start in found:
        chain: list[str] = []
        node: str | None = start
        while node is not None and node in found and node not in years and node not in chain:
            chain.append(node)
            node = found[node][0].after
        if node is not None and node not in years:
            continue  # an unknown target or a cycle: reported elsewhere
        for mid in reversed(chain):
            milestone, file, path = found[mid]
            if milestone.at is not None:
                years[mid] = milestone.at.year
                continue
            year = years[milestone.after or ""] + _years(milestone.offset)
            years[mid] = min(max(year, MIN_YEAR), MAX_YEAR)  # report each overflow once
            if not MIN_YEAR <= year <= MAX_YEAR:
                message = (
                    f"offset: with 'after', this milestone falls in the year {int(year)}, "
                    f"out of range: dates must stay in the years {MIN_YEAR}-{MAX_YEAR}"
                )
                out.append((file, Issue((*path, "offset"), message)))
    return out


def _years(span: Duration) -> float:
    return span.months / 12 + span.days / 365.2425 + span.seconds / (365.2425 * 86400)


def _hint(name: str, options: set[str], what: str) -> str:
    close = difflib.get_close_matches(name, sorted(options), n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    if not options:
        return f" (no {what} are defined)"
    listed = ", ".join(sorted(options)[:10])
    return f" ({what}: {listed}{', …' if len(options) > 10 else ''})"
