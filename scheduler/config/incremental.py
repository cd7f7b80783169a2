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
from dataclasses import dataclass, replace
from functools import partial
from operator import attrgetter
from pathlib import Path
from typing import Any, TypeVar, cast

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
from scheduler.model import Config, Milestone

T = TypeVar("T")

_KEY = "milestones:"
_KEY_REST = re.compile(r"[ \t]*(?:#[^\n]*)?\n")
_FIRST_ITEM = re.compile(r"(?:[ \t]*(?:#[^\n]*)?\n)*( *)-(?=[ \n])")
# In an item: an anchor, an alias or a merge key makes one item depend on another.
_SHARED = re.compile(r"(?:^|[\s\[{,:-])[&*][^\s,\[\]{}]|<<")


@dataclass(frozen=True, slots=True)
class Cut:
    """A file's text around its ``milestones`` items: ``head + "".join(items) + tail``."""

    head: str
    items: list[str]
    tail: str


def cut(text: str) -> Cut | None:
    """The text cut at its top-level ``milestones`` block items (each item's lines, with
    the blank and comment lines after it), or ``None`` when there is no such block.
    Whether an item may be read alone is :func:`standalone`'s question."""
    if text.startswith(_KEY):
        key = 0
    else:
        key = text.find("\n" + _KEY) + 1
        if key == 0:
            return None
    if text.find("\n" + _KEY, key) != -1:
        return None
    rest = _KEY_REST.match(text, key + len(_KEY))
    if rest is None:
        return None
    first = _FIRST_ITEM.match(text, rest.end())
    if first is None:
        return None
    indent = first.group(1)
    start = first.end() - len(indent) - 1
    if indent:
        end_rx = re.compile(rf"\n {{0,{len(indent) - 1}}}[^ \n#]")
    else:
        end_rx = re.compile(r"\n(?:[^ \n#-]|-(?![ \n]))")
    end_match = end_rx.search(text, start - 1)
    end = end_match.start() + 1 if end_match else len(text)
    # Each item without the line break that ends it (the last one keeps its own).
    items = re.split(rf"\n(?={indent}-[ \n])", text[start:end])
    return Cut(text[:start], items, text[end:])


def standalone(item: str) -> bool:
    """Whether an item's text reads the same alone as in its file: no tabs, no ``${VAR}``,
    no anchors, aliases or merge keys, nothing the fast parser cannot be trusted with."""
    if "\t" in item or "$" in item or "<<" in item:
        return False
    if ("&" in item or "*" in item) and _SHARED.search(item):
        return False
    return not needs_pyyaml(item)


@dataclass(slots=True)
class _FileState:
    """One file as last loaded: its text's items, what each gave, and its settings."""

    path: Path
    name: str
    timezone: str
    defaults: Defaults | None
    channel_names: frozenset[str]
    items: list[str]  # each item's text, in file order
    entries: list[MilestoneEntry]  # what each gave


@dataclass(slots=True)
class _Graph:
    """Every milestone of the config by id, and who names each in ``after``."""

    by_id: dict[str, tuple[int, MilestoneEntry]]  # (file index, entry)
    children: dict[str, list[str]]


class IncrementalLoader:
    """Loads a config, reusing the previous successful load's work for what did not change.

    ``load`` gives the ``Config`` that :func:`scheduler.config.load_config` gives (and
    raises the same :class:`ConfigError`); a failed load leaves the previous state in
    place. ``reused`` tells how many milestone entries the last load took over.
    """

    def __init__(self) -> None:
        self._states: list[_FileState] | None = None
        self._graph = _Graph({}, {})
        self._env: dict[str, str] | None = None
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
            self._states, self._graph = _states_of(loaded)
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
            text = read_text(state.path)
            reload = None if text is None else _reload_file(state, text, environ)
            if reload is None:
                return None
            reloads.append(reload)
        graph = _updated_graph(self._graph, reloads)
        if graph is None or cross_check(_to_check(reloads, graph)):
            return None  # the full load locates every problem
        self._states = [r.state for r in reloads]
        self._graph, self.reused = graph, sum(len(r.state.items) - len(r.added) for r in reloads)
        merged = merge([r.head for r in reloads], [r.state.name for r in reloads])
        milestone_of = attrgetter("milestone")
        listed = [m for r in reloads for m in map(milestone_of, r.state.entries)]
        return replace(merged, milestones=tuple(listed))


@dataclass(slots=True)
class _FileReload:
    head: FileConfig  # everything but the milestones
    state: _FileState
    added: list[MilestoneEntry]
    removed: list[MilestoneEntry]


def _reload_file(state: _FileState, text: str, environ: dict[str, str]) -> _FileReload | None:
    """Validate one file again from its previous state; None when it needs a full load."""
    if not state.entries or state.defaults is None:
        return None
    pieces = cut(text)
    if pieces is None:
        return None
    head_text = pieces.head + pieces.tail
    head = _checked(head_text, partial(_head, file=state.name), state, environ)
    if head is None or head.defaults != state.defaults or head.timezone != state.timezone:
        return None
    names = frozenset(head.channels_seen)
    if names != state.channel_names:
        return None  # every reference to a channel would need checking again
    items = pieces.items
    if len(items) == len(state.items):  # an edit in place: compare item by item
        differ = [i for i, (a, b) in enumerate(zip(state.items, items, strict=True)) if a != b]
        entries: list[MilestoneEntry | None] = list(state.entries)
        for i in differ:
            entries[i] = None
        removed = [state.entries[i] for i in differ]
    else:  # items added or removed: match them by text
        old = dict(zip(state.items, state.entries, strict=True))
        if len(set(items)) != len(items):
            return None  # two items alike: a duplicate id
        entries = [old.get(chunk) for chunk in items]
        differ = [i for i, entry in enumerate(entries) if entry is None]
        removed = [old[chunk] for chunk in old.keys() - set(items)]
    added: list[MilestoneEntry] = []
    for index in differ:
        chunk = items[index]
        if not standalone(chunk):
            return None
        entry = _checked(chunk, partial(_one_item, index=index, head=head), state, environ)
        if entry is None:
            return None
        entries[index] = entry
        added.append(entry)
    complete = cast(list[MilestoneEntry], entries)  # every item has its entry now
    new_state = _FileState(
        state.path, state.name, head.timezone, head.defaults, names, items, complete
    )
    return _FileReload(head, new_state, added, removed)


def _head(checker: Checker, data: Any, *, file: str) -> FileConfig | None:
    """The file without its milestone items (``milestones:`` left empty)."""
    result = check_document(checker, data, file=file)
    return None if result.milestones or result.ids_seen else result


def _one_item(
    checker: Checker, data: Any, *, index: int, head: FileConfig
) -> MilestoneEntry | None:
    """The entry of a chunk that must hold exactly one milestone item."""
    defaults = head.defaults
    assert defaults is not None
    if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict):
        return None
    entry = milestone_entry(checker, data[0], index, head.timezone, defaults, head.file)
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


def _valid(entry: MilestoneEntry) -> Milestone:
    assert entry.milestone is not None  # only valid entries are kept
    return entry.milestone


def _id(entry: MilestoneEntry) -> str:
    return _valid(entry).id


def _updated_graph(graph: _Graph, reloads: list[_FileReload]) -> _Graph | None:
    """The graph with the removed entries taken out and the added ones in; ``None`` on a
    duplicate id (the full load reports it)."""
    removed = [e for r in reloads for e in r.removed]
    added = [(index, e) for index, r in enumerate(reloads) for e in r.added]
    if not removed and not added:
        return graph
    by_id, children = dict(graph.by_id), dict(graph.children)
    for entry in removed:
        del by_id[_id(entry)]
        target = entry.milestone.after if entry.milestone else None
        if target is not None:
            children[target] = [c for c in children[target] if c != _id(entry)]
    for index, entry in added:
        if _id(entry) in by_id:
            return None
        by_id[_id(entry)] = (index, entry)
        target = entry.milestone.after if entry.milestone else None
        if target is not None:
            children[target] = [*children.get(target, ()), _id(entry)]
    return _Graph(by_id, children)


def _to_check(reloads: list[_FileReload], graph: _Graph) -> list[FileConfig]:
    """Per file, what the cross-file checks must see again: the added milestones, what
    their ``after`` chains reach, and everything that follows an added or removed one
    (a new cycle or an unknown target passes through them)."""
    wanted: set[str] = set()
    todo: list[str] = []
    for r in reloads:
        for entry in r.added:
            node: str | None = _id(entry)
            while node is not None and node not in wanted and node in graph.by_id:
                wanted.add(node)
                milestone = graph.by_id[node][1].milestone
                node = milestone.after if milestone else None
        todo += [_id(e) for e in [*r.added, *r.removed]]
    while todo:
        for child in graph.children.get(todo.pop(), ()):
            if child not in wanted:
                wanted.add(child)
                todo.append(child)
    heads = [replace(r.head, notify_refs=list(r.head.notify_refs), after_refs=[]) for r in reloads]
    if wanted:
        heads[0].ids_seen = set(graph.by_id)
    for mid in wanted:
        index, entry = graph.by_id[mid]
        add_entry(heads[index], entry)
    return heads


def _states_of(loaded: Loaded) -> tuple[list[_FileState], _Graph]:
    """Each file of a full load cut into its items, with the entries validation gave (none
    for a file whose items cannot be read alone: its next change takes the full load)."""
    states: list[_FileState] = []
    graph = _Graph({}, {})
    for file in loaded.files:
        fc = file.result
        pieces = cut(file.text)
        items: list[str] = []
        entries: list[MilestoneEntry] = []
        count = len(fc.milestones)
        block = "".join(pieces.items) if pieces is not None else ""
        if pieces is not None and len(pieces.items) == count and count and standalone(block):
            afters = {ref[1][1]: ref for ref in fc.after_refs}
            refs = fc.notify_refs[len(fc.notify_refs) - count :]
            items = pieces.items
            entries = [
                MilestoneEntry(where, milestone, refs[index], milestone.id, afters.get(index))
                for index, (milestone, where) in enumerate(fc.milestones)
            ]
        for entry in entries:
            valid = _valid(entry)
            graph.by_id[valid.id] = (len(states), entry)
            if valid.after is not None:
                graph.children.setdefault(valid.after, []).append(valid.id)
        names = frozenset(fc.channels_seen)
        states.append(
            _FileState(file.path, file.name, fc.timezone, fc.defaults, names, items, entries)
        )
    return states, graph
