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
never exists whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from itertools import pairwise
from typing import Any

MIN_ITEMS = 20_000
SLICE_ITEMS = 5_000

_KEY = re.compile(r"^milestones:[ \t]*(?:#[^\n]*)?$", re.MULTILINE)
_BLOCK_END = re.compile(r"^[^\s#-]", re.MULTILINE)
_FIRST_ITEM = re.compile(r"^( *)-(?: |$)", re.MULTILINE)
_CONTENT = re.compile(r"^[ \t]*[^\s#]", re.MULTILINE)


class SlicedList:
    """A milestone list checked to parse slice by slice, parsed again as it is walked.

    Iterating gives the items in order while holding one slice at a time, so the
    validator never has the whole raw list in memory beside the milestones it builds.
    """

    __slots__ = ("_bounds", "_loads", "_text", "count")

    def __init__(self, text: str, bounds: list[int], loads: Callable[[str], Any], count: int):
        self._text = text
        self._bounds = bounds
        self._loads = loads
        self.count = count

    def __iter__(self) -> Iterator[Any]:
        for lo, hi in pairwise(self._bounds):
            yield from self._loads(self._text[lo:hi])


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

    ``lazy``: the list is a :class:`SlicedList`, each slice checked here and parsed
    again when walked (a second parse, for a fraction of the memory).
    """
    min_items = MIN_ITEMS if min_items is None else min_items
    slice_items = SLICE_ITEMS if slice_items is None else slice_items
    keys = _KEY.findall(text)
    if len(keys) != 1:
        return None
    key = _KEY.search(text)
    assert key is not None
    start = key.end() + 1
    end_match = _BLOCK_END.search(text, start)
    end = end_match.start() if end_match else len(text)
    first = _CONTENT.search(text, start, end)
    if first is None:
        return None
    indent = _FIRST_ITEM.match(text, first.start())
    if indent is None:
        return None
    item = re.compile(rf"^{indent.group(1)}-(?: |$)", re.MULTILINE)
    cuts = [m.start() for m in item.finditer(text, start, end)]
    if len(cuts) < min_items:
        return None
    bounds = [start, *cuts[slice_items::slice_items], end]
    try:
        head = loads(text[:start] + text[end:])
        if not isinstance(head, dict) or head.get("milestones", ...) is not None:
            return None
        items: list[Any] = []
        done = 0
        for lo, hi in pairwise(bounds):
            part = loads(text[lo:hi])
            expected = min(slice_items, len(cuts) - done)
            if not isinstance(part, list) or len(part) != expected:
                return None
            done += expected
            if not lazy:
                items.extend(part)
    except Exception:  # any refusal (syntax, duplicate key, unknown alias): one parse
        return None
    head["milestones"] = SlicedList(text, bounds, loads, len(cuts)) if lazy else items
    return head
