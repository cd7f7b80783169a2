"""Reloading a config by validating only what changed since the previous load.

A reload of a large config mostly repeats work: parsing and validating 100,000
milestone entries of which one changed. :class:`IncrementalLoader` keeps, per file, no
text but digests of its segments (:mod:`scheduler.config.blocks`) and the milestones it
gave. On a reload, the bytes the digests still match at the start and at the end are
taken as they were; the region between them is cut into items (:mod:`scheduler.config.
items`), parsed and validated alone, and the rest of the file (``version``,
``defaults``, ``channels``, ``digests``, …) is validated again as a small document
without its items. An unchanged milestone is the very ``Milestone`` object of the last
load, so later stages spot unchanged ones by identity. The cross-file checks see what an
edit can have made wrong (:mod:`scheduler.config.recheck`).

The result must be exactly the ``Config`` of a full load, so anything unusual takes
the full load (:func:`scheduler.config.loader.load_details`), which also reports
every problem at ``FILE:LINE:COL``: a first load, other files, a byte-order mark, a text
that cannot be cut (flow style, tabs, anchors and aliases, merge keys, tags, ``${VAR}``
in the items, no items), changed defaults, channels or time zone, a head and a tail
changed at once, a region that does not start at an item or ends the items block, a
region the fast parser cannot be trusted with, and any problem at all.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from scheduler.config.blocks import BLOCK_BYTES, Blocks, layout
from scheduler.config.checker import Checker
from scheduler.config.items import Cut, block, cut, item_split, standalone
from scheduler.config.loader import Loaded, config_files, load_details, merge
from scheduler.config.parse import numbers_need_pyyaml, parse_fast
from scheduler.config.recheck import FileChange, consistent
from scheduler.config.region import find_region, relaid
from scheduler.config.schema import (
    Defaults,
    FileConfig,
    MilestoneEntry,
    check_document,
    milestone_entry,
)
from scheduler.gc_pause import gc_paused
from scheduler.model import Config, Milestone

__all__ = ["Cut", "IncrementalLoader", "cut", "standalone"]

T = TypeVar("T")

_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(slots=True)
class _FileState:
    """One file as last loaded: its segments' digests, its milestones and its settings."""

    path: Path
    name: str
    timezone: str
    defaults: Defaults | None
    channel_names: frozenset[str]
    blocks: Blocks | None  # None: its items cannot be read alone (the full load it is)
    milestones: tuple[Milestone, ...]


class IncrementalLoader:
    """Loads a config, reusing the previous successful load's work for what did not change.

    ``load`` gives the ``Config`` that :func:`scheduler.config.load_config` gives (and
    raises the same :class:`ConfigError`); a failed load leaves the previous state in
    place. ``reused`` tells how many milestones the last load took over unchanged.
    ``block_bytes``: the size of the segments a file is held as (tests make it small).
    """

    def __init__(self, *, block_bytes: int = BLOCK_BYTES) -> None:
        self._states: list[_FileState] | None = None
        self._env: dict[str, str] | None = None
        self._block_bytes = block_bytes
        self.reused = 0

    def load(self, path: str | Path, *, env: Mapping[str, str]) -> Config:
        environ = dict(env)
        with gc_paused():
            try:
                config = self._incremental(Path(path), environ)
            except (ValueError, TypeError, LookupError, ArithmeticError, RecursionError):
                config = None  # a value no check foresaw: the full load reports it
            if config is not None:
                return config
        loaded = load_details(path, env=environ)
        with gc_paused():
            self._states = _states_of(loaded, self._block_bytes)
            self._env, self.reused = environ, 0
        return loaded.config

    def _incremental(self, target: Path, environ: dict[str, str]) -> Config | None:
        previous = self._states
        if previous is None or environ != self._env:
            return None
        files = config_files(target)
        if files is None or [(s.path, s.name) for s in previous] != files:
            return None
        reloads: list[_FileReload] = []
        for state in previous:
            try:
                raw = state.path.read_bytes()
            except OSError:
                return None
            reload = _reload_file(state, raw, environ, self._block_bytes)
            if reload is None:
                return None
            reloads.append(reload)
        if not consistent([r.change for r in reloads]):
            return None  # the full load locates every problem
        self._states = [r.state for r in reloads]
        self.reused = sum(len(r.state.milestones) - len(r.change.added) for r in reloads)
        merged = merge([r.change.head for r in reloads], [r.state.name for r in reloads])
        listed = reloads[0].state.milestones
        for r in reloads[1:]:
            listed += r.state.milestones
        return replace(merged, milestones=listed)


@dataclass(slots=True)
class _FileReload:
    change: FileChange
    state: _FileState


def _reload_file(
    state: _FileState, raw: bytes, environ: dict[str, str], size: int
) -> _FileReload | None:
    """Validate one file again from its previous state; None when it needs a full load."""
    blocks = state.blocks
    if blocks is None or state.defaults is None or raw.startswith(_BOMS):
        return None
    region = find_region(blocks, raw)
    if region is None or "\x00" in region.items or "\x00" in region.head:
        return None
    head = _checked(region.head, partial(_head, file=state.name), state, environ)
    if head is None or head.defaults != state.defaults or head.timezone != state.timezone:
        return None
    names = frozenset(head.channels_seen)
    if names != state.channel_names:
        return None  # every reference to a channel would need checking again
    firsts = blocks.firsts
    i0, i1 = firsts[max(region.first, 1)], firsts[min(region.last, blocks.count - 1)]
    entries: list[MilestoneEntry] = []
    if region.items:
        if not standalone(region.items):
            return None
        count = len(item_split(blocks.indent).findall(region.items)) + 1
        check = partial(_items, first=i0, count=count, head=head)
        found = _checked(region.items, check, state, environ)
        if found is None:
            return None
        entries = found
    old = state.milestones[i0:i1]
    change = _compared(head, old, entries)
    region_milestones = change.milestones
    total = len(state.milestones) - len(old) + len(region_milestones)
    if total == 0:
        return None
    milestones = state.milestones[:i0] + region_milestones + state.milestones[i1:]
    change.milestones = milestones
    new_blocks = relaid(blocks, raw, region, i0, len(region_milestones) - len(old), size)
    new_state = _FileState(
        state.path, state.name, head.timezone, head.defaults, names, new_blocks, milestones
    )
    return _FileReload(change, new_state)


def _compared(
    head: FileConfig, old: tuple[Milestone, ...], entries: list[MilestoneEntry]
) -> FileChange:
    """The region's milestones (an equal one is the old object) and what changed.
    ``milestones`` of the answer holds the region's only."""
    new = [_valid(e) for e in entries]
    in_place = len(new) == len(old) and all(a.id == b.id for a, b in zip(old, new, strict=True))
    added: list[MilestoneEntry] = []
    removed: list[Milestone] = []
    if in_place:
        for index, (was, entry) in enumerate(zip(old, entries, strict=True)):
            if was == new[index]:
                new[index] = was
            else:
                added.append(entry)
                removed.append(was)
    else:
        before = {m.id: m for m in old}
        kept: set[str] = set()
        for index, entry in enumerate(entries):
            known = before.get(new[index].id)
            if known is not None and known == new[index]:
                new[index] = known
                kept.add(known.id)
            else:
                added.append(entry)
        removed = [m for m in old if m.id not in kept]
    return FileChange(head, tuple(new), removed, added, in_place)


def _head(checker: Checker, data: Any, *, file: str) -> FileConfig | None:
    """The file without its milestone items (``milestones:`` left empty)."""
    result = check_document(checker, data, file=file)
    return None if result.milestones or result.ids_seen else result


def _items(
    checker: Checker, data: Any, *, first: int, count: int, head: FileConfig
) -> list[MilestoneEntry] | None:
    """The entries of a region that must hold exactly ``count`` milestone items."""
    defaults = head.defaults
    assert defaults is not None
    if not isinstance(data, list) or len(data) != count:
        return None
    entries: list[MilestoneEntry] = []
    for index, item in enumerate(data, first):
        if not isinstance(item, dict):
            return None
        entry = milestone_entry(checker, item, index, head.timezone, defaults, head.file)
        if entry.milestone is None:
            return None
        entries.append(entry)
    return entries


def _checked(
    text: str,
    check: Callable[[Checker, Any], T | None],
    state: _FileState,
    environ: dict[str, str],
) -> T | None:
    """``check(checker, data)`` on the fast-parsed ``text``; ``None`` when it found a
    problem or a value the fast route may read otherwise (the full load decides)."""
    data = parse_fast(text)
    if data is None:
        return None
    checker = Checker(env=environ, base_dir=state.path.parent)
    result = check(checker, data)
    if checker.issues or checker.suspect or (checker.numbers and numbers_need_pyyaml(text)):
        return None
    return result


def _valid(entry: MilestoneEntry) -> Milestone:
    assert entry.milestone is not None  # only valid entries are kept
    return entry.milestone


def _states_of(loaded: Loaded, size: int) -> list[_FileState]:
    """Each file of a full load as segments, with its milestones (no segments for a file
    whose items cannot be read alone: its next change takes the full load)."""
    states: list[_FileState] = []
    offset = 0
    for file in loaded.files:
        fc = file.result
        count = len(fc.milestones)
        milestones = loaded.config.milestones[offset : offset + count]
        offset += count
        found = block(file.text) if count else None
        blocks = None
        if found is not None and standalone(file.text[found[0] : found[1]], in_fast_text=file.fast):
            start, end, indent = found
            raw = file.text.encode()
            items_start = len(file.text[:start].encode())
            items_end = len(raw) - len(file.text[end:].encode())
            blocks = layout(raw, items_start, items_end, indent=indent, size=size)
            if blocks.items != count:
                blocks = None
        names = frozenset(fc.channels_seen)
        states.append(
            _FileState(file.path, file.name, fc.timezone, fc.defaults, names, blocks, milestones)
        )
    return states
