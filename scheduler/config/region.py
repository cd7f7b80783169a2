"""Where a reloaded file changed, as whole items: the region between the segments
that still match at its start and at its end (:mod:`scheduler.config.blocks`), cut at
the items' first lines, and the segments of the new text around it.

A region is read alone only where that reads as the whole file would: it starts at an
item's first line and ends before a kept item's (or the tail's) first line, holds no
line that would end the items block, and a changed head or tail is cut again with the
items next to it. Anything else answers ``None``: the full load.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

from scheduler.config.blocks import Blocks, digest, item_blocks, unchanged_ends
from scheduler.config.items import KEY, block, block_end, starts_item

_NEWLINE = ord("\n")


@dataclass(slots=True)
class Region:
    """Where a file changed: its old segments ``first:last`` (0: the head among them;
    all of them: the tail too) gave way to the items in ``raw[lo:hi]`` (text ``items``),
    in a file whose items now span ``raw[start:end]``."""

    first: int
    last: int
    lo: int
    hi: int
    items: str
    head: str  # the file without its items (head and tail)
    start: int
    end: int


def find_region(blocks: Blocks, raw: bytes) -> Region | None:
    """The changed region of ``raw`` against ``blocks``, cut at items; ``None`` when it
    cannot be read alone (see the module's docstring)."""
    lead, trail = unchanged_ends(blocks, raw)
    count, bounds, indent = blocks.count, blocks.bounds, blocks.indent
    shift = len(raw) - bounds[-1]
    if lead == count:  # the same bytes: an empty region before the tail
        lead, trail = count - 1, 1
    if lead == 0 and trail == 0:
        return None
    if lead == 0:  # the head changed: the region is cut from the file's start
        last = max(count - trail, 2)  # with one item block at least
        hi = bounds[last] + shift
        if hi < len(raw) and raw[hi - 1] != _NEWLINE:
            return None
        text = raw[:hi].decode()
        found = block(text)
        if found is None or found[1] != len(text) or found[2] != indent:
            return None
        start, end = len(text[: found[0]].encode()), bounds[-2] + shift
        head = text[: found[0]] + raw[end:].decode()
        return Region(0, last, start, hi, text[found[0] :], head, start, end)
    if trail == 0:  # the tail changed: the region runs to the file's end
        first = min(lead, count - 2)  # with one item block at least
        lo = bounds[first]
        text = raw[lo:].decode()
        if not starts_item(text, indent):
            return None
        found_end = block_end(indent).search(text)
        cut_at = found_end.start() + 1 if found_end else len(text)
        tail = text[cut_at:]
        if tail.startswith(KEY) or "\n" + KEY in tail:
            return None  # the key written twice
        end = lo + len(text[:cut_at].encode())
        head = raw[: bounds[1]].decode() + tail
        return Region(first, count, lo, end, text[:cut_at], head, bounds[1], end)
    first, last = lead, count - trail
    lo, hi = bounds[first], bounds[last] + shift
    text = raw[lo:hi].decode()
    if text and (not starts_item(text, indent) or block_end(indent).search(text)):
        return None
    if hi < len(raw) and raw[hi - 1] != _NEWLINE:
        return None  # the kept segment after the region no longer starts a line
    end = bounds[-2] + shift
    head = raw[: bounds[1]].decode() + raw[end:].decode()
    return Region(first, last, lo, hi, text, head, bounds[1], end)


def relaid(
    blocks: Blocks, raw: bytes, region: Region, first_item: int, more: int, size: int
) -> Blocks:
    """The new text's segments: the kept ones (those after the region shifted by the
    change in length and in items) around the region's new blocks."""
    bounds, digests, firsts, count = blocks.bounds, blocks.digests, blocks.firsts, blocks.count
    shift = len(raw) - bounds[-1]
    mid_b, mid_d, mid_f = item_blocks(
        raw, region.lo, region.hi, indent=blocks.indent, first=first_item, size=size
    )
    if region.first == 0:  # a new head
        pre_b, pre_d, pre_f = [0], digest(raw, 0, region.start), [0]
    else:
        pre_b = list(bounds[: region.first])
        pre_d, pre_f = digests[: 32 * region.first], list(firsts[: region.first])
    if region.last == count:  # a new tail
        suf_b = [region.end, len(raw)]
        suf_d, suf_f = digest(raw, region.end, len(raw)), [mid_f[-1], mid_f[-1]]
    else:
        suf_b = [b + shift for b in bounds[region.last :]]
        suf_d = digests[32 * region.last :]
        suf_f = [f + more for f in firsts[region.last :]]
    return Blocks(
        array("q", [*pre_b, *mid_b, *suf_b]),
        b"".join([pre_d, *mid_d, suf_d]),
        array("q", [*pre_f, *mid_f[:-1], *suf_f]),
        blocks.indent,
    )
