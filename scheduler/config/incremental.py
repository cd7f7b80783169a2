"""Reloading a config by validating only what changed since the previous load.

A reload of a large config mostly repeats work: parsing and validating 100,000
milestone entries of which one changed. :class:`IncrementalLoader` keeps, per file,
the text of the previous successful load cut into its ``milestones`` items (one text
chunk per item, split at the items' indentation) with each item's validated entry.
On a reload, a file's text is cut again; an item whose chunk is unchanged reuses its
entry (the very ``Milestone`` object, so later stages spot unchanged ones by
identity), a changed one is parsed and validated alone, and the rest of the file
(``version``, ``defaults``, ``channels``, ``digests``, …) is validated again as a
small document without its items. The cross-file checks run on the result.

The result must be exactly the ``Config`` of a full load, so anything unusual takes
the full load (:func:`scheduler.config.loader.load_details`), which also reports
every problem at ``FILE:LINE:COL``: a first load, other files, a text that cannot be
cut (flow style, tabs, anchors and aliases, merge keys, tags, ``${VAR}`` in the items,
no items), changed defaults or time zone, a chunk that is not exactly one item, a
chunk the fast parser cannot be trusted with, and any problem at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar

from scheduler.config.checker import Checker
from scheduler.config.crosscheck import cross_check
from scheduler.config.loader import Loaded, config_files, load_details, merge, read_text
from scheduler.config.parse import needs_pyyaml, numbers_need_pyyaml, parse_fast
from scheduler.config.schema import (
    Defaults,
    FileConfig,
    MilestoneEntry,
    add_entry,
    check_document,
    milestone_entry,
)
from scheduler.gc_pause import gc_paused
from scheduler.model import Config

T = TypeVar("T")

_MILESTONES_KEY = re.compile(r"^milestones:[ \t]*(?:#[^\n]*)?\n", re.MULTILINE)
_FIRST_ITEM = re.compile(r"^(?:[ \t]*(?:#[^\n]*)?\n)*( *)-(?=[ \n])", re.MULTILINE)
# In the items: an anchor, an alias or a merge key makes one item depend on another.
_SHARED = re.compile(r"(?:^|[\s\[{,:-])[&*][^\s,\[\]{}]|<<")


@dataclass(frozen=True, slots=True)
class Cut:
    """A file's text around its ``milestones`` items: ``head + "".join(items) + tail``."""

    head: str
    items: list[str]
    tail: str


def cut(text: str) -> Cut | None:
    """The text cut at its top-level ``milestones`` items, or ``None`` when it cannot be
    cut safely (then the whole file is read again)."""
    keys = _MILESTONES_KEY.findall(text)
    if len(keys) != 1:
        return None
    key = _MILESTONES_KEY.search(text)
    assert key is not None
    first = _FIRST_ITEM.match(text, key.end())
    if first is None:
        return None
    indent = first.group(1)
    start = first.end() - len(indent) - 1
    if indent:
        end_rx = re.compile(rf"^ {{0,{len(indent) - 1}}}[^ \n#]", re.MULTILINE)
    else:
        end_rx = re.compile(r"^(?:[^ \n#-]|-(?![ \n]))", re.MULTILINE)
    end_match = end_rx.search(text, start)
    end = end_match.start() if end_match else len(text)
    block = text[start:end]
    if "\t" in block or "$" in block or _SHARED.search(block) or needs_pyyaml(block):
        return None
    starts = [m.start() for m in re.finditer(rf"^{indent}-(?=[ \n])", block, re.MULTILINE)]
    if not starts or starts[0] != 0:
        return None
    bounds = [*starts, len(block)]
    items = [block[a:b] for a, b in pairwise(bounds)]
    return Cut(text[:start], items, text[end:])


@dataclass(slots=True)
class _FileState:
    """One file as last loaded: its text, its items' chunks and what each gave."""

    path: Path
    name: str
    text: str
    timezone: str
    defaults: Defaults | None
    entries: dict[str, MilestoneEntry]  # by item chunk


@dataclass(slots=True)
class _Attempt:
    results: list[FileConfig]
    states: list[_FileState]
    reused: int = 0


class IncrementalLoader:
    """Loads a config, reusing the previous successful load's work for what did not change.

    ``load`` gives the ``Config`` that :func:`scheduler.config.load_config` gives (and
    raises the same :class:`ConfigError`); a failed load leaves the previous state in
    place. ``reused`` tells how many milestone entries the last load took over.
    """

    def __init__(self) -> None:
        self._states: list[_FileState] | None = None
        self._env: dict[str, str] | None = None
        self.reused = 0

    def load(self, path: str | Path, *, env: Mapping[str, str]) -> Config:
        environ = dict(env)
        with gc_paused():
            attempt = self._incremental(Path(path), environ)
            if attempt is not None:
                self._states, self._env, self.reused = attempt.states, environ, attempt.reused
                return merge(attempt.results, [state.name for state in attempt.states])
        loaded = load_details(path, env=environ)
        with gc_paused():
            self._states, self._env, self.reused = _states_of(loaded), environ, 0
        return loaded.config

    def _incremental(self, target: Path, environ: dict[str, str]) -> _Attempt | None:
        previous = self._states
        if previous is None or environ != self._env:
            return None
        files = config_files(target)
        if files is None or [(s.path, s.name) for s in previous] != files:
            return None
        attempt = _Attempt([], [])
        for state in previous:
            text = read_text(state.path)
            if text is None:
                return None
            if not _reload_file(state, text, environ, attempt):
                return None
        if cross_check(attempt.results):
            return None  # the full load locates every problem
        return attempt


def _reload_file(state: _FileState, text: str, environ: dict[str, str], into: _Attempt) -> bool:
    """Validate one file again from its previous state; False when it needs a full load."""
    if not state.entries or state.defaults is None:
        return False
    pieces = cut(text)
    if pieces is None:
        return False
    head_text = pieces.head + pieces.tail
    head = _checked(
        head_text,
        lambda checker, data: check_document(checker, data, file=state.name),
        state,
        environ,
    )
    if head is None or head.defaults != state.defaults or head.timezone != state.timezone:
        return False
    if head.milestones or head.ids_seen:
        return False
    entries: dict[str, MilestoneEntry] = {}
    for index, chunk in enumerate(pieces.items):
        entry = state.entries.get(chunk)
        if entry is None:
            entry = _checked(
                chunk, partial(_one_item, index=index, head=head, state=state), state, environ
            )
            if entry is None or chunk in entries:
                return False
        else:
            into.reused += 1
        entries[chunk] = entry
        add_entry(head, entry)
    into.results.append(head)
    into.states.append(
        _FileState(state.path, state.name, text, head.timezone, head.defaults, entries)
    )
    return True


def _one_item(
    checker: Checker, data: Any, *, index: int, head: FileConfig, state: _FileState
) -> MilestoneEntry | None:
    """The entry of a chunk that must hold exactly one milestone item."""
    defaults = head.defaults
    assert defaults is not None
    if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict):
        return None
    entry = milestone_entry(checker, data[0], index, head.timezone, defaults, state.name)
    return entry if entry.milestone is not None else None


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


def _states_of(loaded: Loaded) -> list[_FileState]:
    """Each file of a full load cut into its items, with the entries validation gave."""
    states: list[_FileState] = []
    for file in loaded.files:
        fc = file.result
        pieces = cut(file.text)
        entries: dict[str, MilestoneEntry] = {}
        count = len(fc.milestones)
        if pieces is not None and len(pieces.items) == count and count:
            afters = {ref[1][1]: ref for ref in fc.after_refs}
            refs = fc.notify_refs[len(fc.notify_refs) - count :]
            for index, (chunk, (milestone, where)) in enumerate(
                zip(pieces.items, fc.milestones, strict=True)
            ):
                entries[chunk] = MilestoneEntry(
                    where, milestone, refs[index], milestone.id, afters.get(index)
                )
            if len(entries) != count:
                entries = {}
        states.append(
            _FileState(file.path, file.name, file.text, fc.timezone, fc.defaults, entries)
        )
    return states
