"""The fast route for a long ``milestones:`` list: parsed in slices, not as one tree.

``yaml_rs`` builds its whole node tree in Rust before handing Python the data, so a
config of a million milestones needs the tree (about as large again as the data) on
top of the data at once. The list's items are instead cut into slices of
:data:`SLICE_ITEMS` at their ``-`` lines and each slice is parsed on its own; the rest
of the document is parsed without the list. The data is the same as one parse's:

* the list is the value of a top-level ``milestones:`` key written alone on its line
  (a flow list, or a key written twice, takes the one-parse route);
* it ends at the first line that starts at column 0 with anything but ``-``, ``#`` or
  blank; every item starts at one indentation with ``-`` followed by a space or the
  line's end, so a cut never falls inside an item's block (deeper lines);
* a cut inside a multi-line quoted or flow value, or between an anchor and its alias,
  leaves a slice that does not parse, and every slice must parse to a list of exactly
  as many items as ``-`` lines it holds: otherwise :func:`parse_sliced` answers
  ``None`` and the caller parses the whole text as before.

Only worth it for long lists: below :data:`MIN_ITEMS` the answer is ``None``. The
loader asks for the list as a :class:`SlicedList` (``lazy``), which the validator walks
one slice at a time: the raw list of a million milestones (600 MB as Python values)
never exists whole, and each slice is parsed once, as it is walked. A slice that does
not parse to its items then raises :class:`SliceRefused` in the middle of the walk, and
the caller starts again from one parse of the whole text.

The searches over the whole text look for a literal first (a line break, the key):
a pattern that starts with ``^`` is tried at every character of a 90 MB text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from itertools import pairwise
from typing import Any

MIN_ITEMS = 20_000
SLICE_ITEMS = 5_000

_KEY_WORD = "milestones:"
_KEY = re.compile(r"^milestones:[ \t]*(?:#[^\n]*)?$", re.MULTILINE)
_BLOCK_END = re.compile(r"\n[^\s#-]")  # a line that starts at column 0, not an item
_FIRST_ITEM = re.compile(r"^( *)-(?: |$)", re.MULTILINE)
_CONTENT = re.compile(r"^[ \t]*[^\s#]", re.MULTILINE)


class SliceRefused(Exception):
    """A slice of a :class:`SlicedList` did not parse to its items: parse the text whole."""


class SlicedList:
    """A milestone list cut into slices, each parsed as it is walked.

    Iterating gives the items in order while holding one slice at a time, so the
    validator never has the whole raw list in memory beside the milestones it builds.
    A slice that does not parse, or not to as many items as it has ``-`` lines, raises
    :class:`SliceRefused`: what was walked before it must then be thrown away.
    """

    __slots__ = ("_bounds", "_loads", "_per_slice", "_text", "count")

    def __init__(
        self,
        text: str,
        bounds: list[int],
        loads: Callable[[str], Any],
        count: int,
        per_slice: int,
    ):
        self._text = text
        self._bounds = bounds
        self._loads = loads
        self._per_slice = per_slice
        self.count = count

    def __iter__(self) -> Iterator[Any]:
        for index, (lo, hi) in enumerate(pairwise(self._bounds)):
            part = _slice(self._loads, self._text[lo:hi])
            expected = min(self._per_slice, self.count - index * self._per_slice)
            if not isinstance(part, list) or len(part) != expected:
                raise SliceRefused(f"slice {index} holds other than its {expected} items")
            yield from part


def _slice(loads: Callable[[str], Any], text: str) -> Any:
    try:
        return loads(text)
    except Exception as exc:  # any refusal (syntax, duplicate key, unknown alias)
        raise SliceRefused(f"a slice does not parse: {type(exc).__name__}") from exc


def _key_lines(text: str) -> list[re.Match[str]]:
    """Each line that is the top-level key ``milestones:`` alone (found by the word)."""
    found = []
    at = text.find(_KEY_WORD)
    while at != -1:
        if (line := _KEY.match(text, at)) is not None:
            found.append(line)
        at = text.find(_KEY_WORD, at + 1)
    return found


def parse_sliced(
    text: str,
    loads: Callable[[str], Any],
    *,
    lazy: bool = False,
    min_items: int | None = None,
    slice_items: int | None = None,
) -> Any | None:
    """The document parsed with ``loads``, its milestone list in slices; ``None`` when
    the text is not of that shape, the list is short, or any part refuses to parse.

    ``lazy``: the list is a :class:`SlicedList`, each slice parsed only when walked
    (where one that refuses raises :class:`SliceRefused`); only the rest of the
    document is parsed here.
    """
    min_items = MIN_ITEMS if min_items is None else min_items
    slice_items = SLICE_ITEMS if slice_items is None else slice_items
    keys = _key_lines(text)
    if len(keys) != 1:
        return None
    start = keys[0].end() + 1
    # From the line break before ``start``: a line that starts there ends the block too.
    end_match = _BLOCK_END.search(text, start - 1)
    end = end_match.start() + 1 if end_match else len(text)
    first = _CONTENT.search(text, start, end)
    if first is None:
        return None
    indent = _FIRST_ITEM.match(text, first.start())
    if indent is None:
        return None
    # Each item's ``-`` at the line's start, found from the line break before it.
    item = re.compile(rf"\n{indent.group(1)}-(?: |$)", re.MULTILINE)
    cuts = [m.start() + 1 for m in item.finditer(text, start - 1, end)]
    if len(cuts) < min_items:
        return None
    bounds = [start, *cuts[slice_items::slice_items], end]
    try:
        head = loads(text[:start] + text[end:])
        if not isinstance(head, dict) or head.get("milestones", ...) is not None:
            return None
        listed = SlicedList(text, bounds, loads, len(cuts), slice_items)
        head["milestones"] = listed if lazy else list(listed)
    except Exception:  # any refusal (syntax, duplicate key, unknown alias): one parse
        return None
    return head
