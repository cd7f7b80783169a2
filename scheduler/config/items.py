"""A file's ``milestones`` items as text: where the block starts and ends, and where
each item starts (a line at the items' indentation that begins with ``-``).

The incremental loader (:mod:`scheduler.config.incremental`) reads items alone, so the
rules here are those under which an item's text reads the same alone as in its file:
:func:`cut` finds the block, :func:`standalone` says whether items may be read alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scheduler.config.parse import needs_pyyaml

KEY = "milestones:"
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
    indent: str = ""


def block_end(indent: str) -> re.Pattern[str]:
    """A line break followed by a line that ends the items block (less indented, or at
    column 0 anything but an item, a comment or a blank line)."""
    if indent:
        return re.compile(rf"\n {{0,{len(indent) - 1}}}[^ \n#]")
    return re.compile(r"\n(?:[^ \n#-]|-(?![ \n]))")


def item_split(indent: str) -> re.Pattern[str]:
    """The line break before each item but the first."""
    return re.compile(rf"\n(?={indent}-[ \n])")


def item_start(indent: str) -> re.Pattern[bytes]:
    """The same as :func:`item_split`, on the file's bytes."""
    return re.compile(rb"\n(?=" + indent.encode() + rb"-[ \n])")


def starts_item(text: str, indent: str) -> bool:
    """Whether ``text`` begins with an item's first line."""
    return text.startswith(f"{indent}-") and text[len(indent) + 1 : len(indent) + 2] in (" ", "\n")


def cut(text: str) -> Cut | None:
    """The text cut at its top-level ``milestones`` block items (each item's lines, with
    the blank and comment lines after it), or ``None`` when there is no such block.
    Whether an item may be read alone is :func:`standalone`'s question."""
    found = block(text)
    if found is None:
        return None
    start, end, indent = found
    # Each item without the line break that ends it (the last one keeps its own).
    items = item_split(indent).split(text[start:end])
    return Cut(text[:start], items, text[end:], indent)


def block(text: str) -> tuple[int, int, str] | None:
    """Where the items of the top-level ``milestones`` block start and end, and their
    indentation; ``None`` when there is no such block (or the key is written twice)."""
    if text.startswith(KEY):
        key = 0
    else:
        key = text.find("\n" + KEY) + 1
        if key == 0:
            return None
    if text.find("\n" + KEY, key) != -1:
        return None
    rest = _KEY_REST.match(text, key + len(KEY))
    if rest is None:
        return None
    first = _FIRST_ITEM.match(text, rest.end())
    if first is None:
        return None
    indent = first.group(1)
    start = first.end() - len(indent) - 1
    end_match = block_end(indent).search(text, start - 1)
    end = end_match.start() + 1 if end_match else len(text)
    return start, end, indent


def standalone(item: str, *, in_fast_text: bool = False) -> bool:
    """Whether an item's text reads the same alone as in its file: no tabs, no ``${VAR}``,
    no anchors, aliases or merge keys, nothing the fast parser cannot be trusted with.

    ``in_fast_text``: ``item`` is the items block of a text the fast route read, so
    :func:`needs_pyyaml` passed on the whole text and would on the block (each of its
    checks finds in the block only what it finds in the text: the block starts with an
    item's first line and ends at a line's end), and is not asked again (0.2 s at a
    million items)."""
    if "\t" in item or "$" in item or "<<" in item:
        return False
    if ("&" in item or "*" in item) and _SHARED.search(item):
        return False
    return in_fast_text or not needs_pyyaml(item)
