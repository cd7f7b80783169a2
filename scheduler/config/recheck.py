"""The cross-file checks of a reload that changed a few milestones.

:func:`scheduler.config.crosscheck.cross_check` needs every file's milestones; a reload
gives it only what an edit can have made wrong. When every changed milestone kept its
place, its id, its ``after`` and the year its chain reckons with (the usual edit: a
date, a title, reminders), nothing about ids or ``after`` chains changed, and only the
new milestones' channel references are checked. Otherwise the milestones are indexed by
id and the checks see the added milestones, what their ``after`` chains reach and
everything that follows a changed one (a new cycle or an unknown target passes through
them). Any problem at all sends the caller to the full load, which locates it: this
module only answers whether there is one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from scheduler.config.crosscheck import cross_check
from scheduler.config.schema import FileConfig, MilestoneEntry, add_entry
from scheduler.model import Milestone


@dataclass(slots=True)
class FileChange:
    """One file's edit: its new head, its milestones, and what the region replaced."""

    head: FileConfig
    milestones: tuple[Milestone, ...]
    removed: list[Milestone]  # the old milestones the new ones replaced
    added: list[MilestoneEntry]  # the new, validated again
    in_place: bool  # as many added as removed, each in the place of the one it replaced


def _same_links(old: Milestone, new: MilestoneEntry) -> bool:
    """Whether ``new`` stands where ``old`` stood for the checks of ids and chains."""
    m = new.milestone
    if m is None or m.id != old.id or m.after != old.after:
        return False
    if old.at is not None and m.at is not None:
        return old.at.year == m.at.year
    return old.at is None and m.at is None and old.offset == m.offset


def _bare(heads: list[FileConfig]) -> list[FileConfig]:
    return [replace(h, notify_refs=list(h.notify_refs), after_refs=[]) for h in heads]


def consistent(changes: list[FileChange]) -> bool:
    """Whether the reloaded files pass every cross-file check."""
    if all(c.in_place and all(map(_same_links, c.removed, c.added)) for c in changes):
        heads = _bare([c.head for c in changes])
        for head, change in zip(heads, changes, strict=True):
            for entry in change.added:  # its ``after`` target is the one checked before
                add_entry(head, replace(entry, after_ref=None))
        return not cross_check(heads)
    linked = _linked(changes)
    return linked is not None and not cross_check(linked)


def _entry(milestone: Milestone) -> MilestoneEntry:
    """An unchanged milestone as the checks see it (its channels were checked)."""
    path = ("milestones", 0)
    after = None if milestone.after is None else (milestone.after, (*path, "after"))
    return MilestoneEntry(path, milestone, (), milestone.id, after)


def _linked(changes: list[FileChange]) -> list[FileConfig] | None:
    """Per file, what the checks must see (see the module's docstring); ``None`` when
    two milestones share an id."""
    by_id: dict[str, tuple[int, Milestone]] = {}
    children: dict[str, list[str]] = {}
    total = 0
    for index, change in enumerate(changes):
        total += len(change.milestones)
        for m in change.milestones:
            by_id.setdefault(m.id, (index, m))
            if m.after is not None:
                children.setdefault(m.after, []).append(m.id)
    if len(by_id) != total:
        return None
    heads = _bare([c.head for c in changes])
    entries = {e.milestone.id: e for c in changes for e in c.added if e.milestone is not None}
    wanted: set[str] = set()
    for mid in entries:
        node: str | None = mid
        while node is not None and node not in wanted and node in by_id:
            wanted.add(node)
            node = by_id[node][1].after
    todo = [*entries, *(m.id for c in changes for m in c.removed)]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in wanted:
                wanted.add(child)
                todo.append(child)
    if wanted:
        heads[0].ids_seen = set(by_id)
    for mid in wanted:
        index, milestone = by_id[mid]
        entry = entries.get(mid)
        add_entry(heads[index], entry if entry is not None else _entry(milestone))
    return heads
