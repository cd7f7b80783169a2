"""What a reload changed, and planning only that (pure: configs in, values out).

A reload that edits one milestone of 100,000 need not plan the others again: their
reminders are the same. :func:`changes` compares the previous config with the new one
(milestones by identity first, which the incremental loader keeps for unchanged ones,
then by equality), adds every milestone that follows a changed one through ``after``,
and resolves only those on top of the previous instants. :func:`plan_changed` plans
them and every digest (a fire lists milestones by window and tags: any edit may change
a listing, and digests are few). Anything broader (channels, time zone, digests) is
``None``: the caller reconciles everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from scheduler.digests import AckLookup, digest_milestone_id, plan_digests
from scheduler.gc_pause import gc_paused
from scheduler.model import Config, Milestone, Reminder
from scheduler.planning import Resolved, plan, resolve_into


@dataclass(frozen=True, slots=True)
class Changes:
    """The milestones a reload touched, with every milestone's instants after it."""

    affected: frozenset[str]  # changed, added or removed, and whatever follows them
    resolved: dict[str, Resolved]  # every milestone of the new config

    def reconciled_ids(self, config: Config) -> frozenset[str]:
        """The milestone ids whose deliveries are reconciled again (digests' included)."""
        return self.affected | {digest_milestone_id(d.id) for d in config.digests}


def changes(old: Config, new: Config, resolved: Mapping[str, Resolved]) -> Changes | None:
    """What changed from ``old`` (whose instants are ``resolved``) to ``new``; ``None``
    when more than milestones changed."""
    if (
        old.channels != new.channels
        or old.timezone != new.timezone
        or old.digests != new.digests
        or old.sources != new.sources
    ):
        return None
    with gc_paused():
        changed = _changed_ids(old.milestones, new.milestones)
        affected = _with_followers(changed, new.milestones)
        done = dict(resolved)
        for mid in affected:
            done.pop(mid, None)
        if not affected:
            return Changes(frozenset(), done)
        now = {m.id: m for m in new.milestones}
        roots = [now[mid] for mid in affected if mid in now]
        return Changes(frozenset(affected), resolve_into(done, roots, now))


def _changed_ids(old: tuple[Milestone, ...], new: tuple[Milestone, ...]) -> set[str]:
    """The ids of the milestones added, removed or changed (identity first: the
    incremental loader hands unchanged milestones over as the same objects)."""
    if len(old) == len(new):
        differ = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a is not b]
        if all(old[i].id == new[i].id for i in differ):  # the same ids in the same places
            return {new[i].id for i in differ if old[i] != new[i]}
    before = {m.id: m for m in old}
    after = {m.id: m for m in new}
    changed = set(before.keys() - after.keys())
    for mid, milestone in after.items():
        was = before.get(mid)
        if was is not milestone and was != milestone:
            changed.add(mid)
    return changed


def _with_followers(changed: set[str], milestones: tuple[Milestone, ...]) -> set[str]:
    """``changed`` and every milestone whose ``after`` chain reaches one of them."""
    if not changed:
        return changed
    followers: dict[str, list[str]] = {}
    for m in milestones:
        if m.after is not None:
            followers.setdefault(m.after, []).append(m.id)
    out = set(changed)
    todo = list(changed)
    while todo:
        for child in followers.get(todo.pop(), ()):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def plan_changed(
    config: Config,
    found: Changes,
    start: datetime,
    end: datetime,
    acknowledged: AckLookup,
) -> list[Reminder]:
    """The reminders of the affected milestones and every digest fire, ``start <= due < end``."""
    with gc_paused():
        subset = [m for m in config.milestones if m.id in found.affected]
        reminders = plan(
            replace(config, milestones=tuple(subset)), start, end, resolved=found.resolved
        )
        fires = plan_digests(config, start, end, resolved=found.resolved, acknowledged=acknowledged)
        return reminders + fires
