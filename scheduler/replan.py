"""What a reload changed, and planning only that (pure: configs in, values out).

A reload that edits one milestone of 100,000 need not plan the others again: their
reminders are the same. :func:`changes` compares the previous config with the new one
(milestones by identity first, which the incremental loader keeps for unchanged ones,
then by equality), adds every milestone that follows a changed one through ``after``,
and resolves only those on top of the previous instants, in place: the instants of a
million milestones are not copied for one edit (:meth:`Changes.undo` puts the previous
ones back when the reload is not applied after all). :func:`plan_changed` plans
them and every digest (a fire lists milestones by window and tags: any edit may change
a listing, and digests are few). Anything broader (channels, time zone, digests) is
``None``: the caller reconciles everything.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import compress, count
from operator import is_not

from scheduler.digests import AckLookup, digest_milestone_id, plan_digests
from scheduler.gc_pause import gc_paused
from scheduler.model import Config, Milestone, Reminder
from scheduler.planning import Resolved, plan, resolve_into

Followers = dict[str, list[str]]  # milestone id -> the ids naming it in ``after``
Pair = tuple[Milestone | None, Milestone | None]  # (before, after); None: absent


@dataclass(frozen=True, slots=True)
class Changes:
    """The milestones a reload touched, with every milestone's instants after it."""

    affected: frozenset[str]  # changed, added or removed, and whatever follows them
    milestones: tuple[Milestone, ...]  # those of them still in the config
    resolved: dict[str, Resolved]  # every milestone of the new config (updated in place)
    followers: Followers  # of the new config
    previous: dict[str, Resolved]  # the affected ones' instants before, where they were
    pairs: list[Pair]  # (before, after) of each milestone added, removed or changed

    def undo(self) -> None:
        """Put the instants back as they were before :func:`changes`."""
        for mid in self.affected:
            self.resolved.pop(mid, None)
        self.resolved.update(self.previous)

    def before(self) -> Mapping[str, Resolved]:
        """The instants of the previous config."""
        return Before(self.resolved, self.previous, self.affected)

    def reconciled_ids(self, config: Config) -> frozenset[str]:
        """The milestone ids whose deliveries are reconciled again (digests' included)."""
        return self.affected | {digest_milestone_id(d.id) for d in config.digests}


def changes(
    old: Config, new: Config, resolved: dict[str, Resolved], followers: Followers | None
) -> Changes | None:
    """What changed from ``old`` (whose instants are ``resolved``, whose ``after``
    edges are ``followers`` when known) to ``new``; ``None`` when more than milestones
    changed. ``resolved`` becomes the new config's instants (see :meth:`Changes.undo`)."""
    if (
        old.channels != new.channels
        or old.timezone != new.timezone
        or old.digests != new.digests
        or old.sources != new.sources
    ):
        return None
    with gc_paused():
        pairs = _changed(old.milestones, new.milestones)
        if followers is None:
            followers = followers_of(new.milestones)
        else:
            followers = _moved_edges(followers, pairs)
        fresh = {n.id: n for _, n in pairs if n is not None}
        removed = {o.id for o, n in pairs if n is None and o is not None}
        affected = set(fresh) | {o.id for o, _ in pairs if o is not None}
        todo = list(affected)
        while todo:
            for child in followers.get(todo.pop(), ()):
                if child not in affected:
                    affected.add(child)
                    todo.append(child)
        # An unchanged follower is the milestone resolved last time (the same, or equal).
        by_id = {
            mid: fresh[mid] if mid in fresh else resolved[mid].milestone
            for mid in affected
            if mid in fresh or (mid in resolved and mid not in removed)
        }
        previous = {mid: resolved.pop(mid) for mid in affected if mid in resolved}
        found = Changes(
            frozenset(affected), tuple(by_id.values()), resolved, followers, previous, pairs
        )
        try:
            resolve_into(resolved, found.milestones, by_id)
        except BaseException:
            found.undo()
            raise
        return found


class Before(Mapping[str, Resolved]):
    """The instants before a reload, read through those after it and the few it changed."""

    def __init__(
        self,
        now: Mapping[str, Resolved],
        previous: Mapping[str, Resolved],
        affected: frozenset[str],
    ) -> None:
        self._now, self._previous, self._affected = now, previous, affected

    def __getitem__(self, mid: str) -> Resolved:
        return self._previous[mid] if mid in self._affected else self._now[mid]

    def __iter__(self) -> Iterator[str]:
        yield from (mid for mid in self._now if mid not in self._affected)
        yield from self._previous

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _changed(old: tuple[Milestone, ...], new: tuple[Milestone, ...]) -> list[Pair]:
    """The milestones added, removed or changed (identity first: the incremental loader
    hands unchanged milestones over as the same objects).

    The same objects at the start and at the end are passed over in C (a million in a
    few milliseconds); only what lies between is compared, by place or by id (ids are
    unique in a valid config, so an id between is nowhere else)."""
    shortest = min(len(old), len(new))
    lead = next(compress(count(), map(is_not, old, new)), shortest)
    trail = next(compress(count(), map(is_not, reversed(old), reversed(new))), shortest)
    trail = min(trail, shortest - lead)
    old, new = old[lead : len(old) - trail], new[lead : len(new) - trail]
    if len(old) == len(new):
        differ = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a is not b]
        if all(old[i].id == new[i].id for i in differ):  # the same ids in the same places
            return [(old[i], new[i]) for i in differ if old[i] != new[i]]
    before = {m.id: m for m in old}
    after = {m.id: m for m in new}
    pairs: list[Pair] = [(before[mid], None) for mid in before.keys() - after.keys()]
    for mid, milestone in after.items():
        was = before.get(mid)
        if was is not milestone and was != milestone:
            pairs.append((was, milestone))
    return pairs


def followers_of(milestones: tuple[Milestone, ...]) -> Followers:
    out: Followers = {}
    for m in milestones:
        if m.after is not None:
            out.setdefault(m.after, []).append(m.id)
    return out


def _moved_edges(followers: Followers, pairs: list[Pair]) -> Followers:
    """``followers`` with the ``after`` edges of the changed milestones updated."""
    out = dict(followers)
    for was, now in pairs:
        if was is not None and was.after is not None:
            out[was.after] = [c for c in out.get(was.after, ()) if c != was.id]
        if now is not None and now.after is not None:
            out[now.after] = [*out.get(now.after, ()), now.id]
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
        # plan() orders its reminders itself: the milestones' order does not matter
        subset = replace(config, milestones=found.milestones)
        reminders = plan(subset, start, end, resolved=found.resolved)
        fires = plan_digests(config, start, end, resolved=found.resolved, acknowledged=acknowledged)
        return reminders + fires
