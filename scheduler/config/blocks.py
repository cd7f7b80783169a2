"""Where a config file changed since the previous load, without keeping its text.

A file is held as segments of its bytes: the head (up to the first ``milestones``
item), blocks of whole items of about :data:`BLOCK_BYTES` each, and the tail (after
the items), each kept as its SHA-256 digest with its offsets and the index of its first
item. A new text is compared segment by segment from the start (at the same offsets)
and from the end (shifted by the change in length), one hash of each byte at most: what
lies between is the changed region, and only its items are read again. A megabyte of
digests stands for 90 MB of text (a million items).
"""

from __future__ import annotations

import hashlib
from array import array
from dataclasses import dataclass

from scheduler.config.items import item_start

BLOCK_BYTES = 4096  # about fifty items: what a one-line edit validates again
_DIGEST = 32  # bytes of a SHA-256 digest


@dataclass(frozen=True, slots=True)
class Blocks:
    """A file's segments: ``bounds[j]:bounds[j + 1]`` is segment ``j`` (0 the head, the
    last the tail), ``digests[32 * j:]`` its digest, ``firsts[j]`` its first item's
    index (the tail's and the end's: the number of items)."""

    bounds: array[int]
    digests: bytes
    firsts: array[int]
    indent: str

    @property
    def count(self) -> int:
        """How many segments."""
        return len(self.bounds) - 1

    @property
    def items(self) -> int:
        return self.firsts[-1]


def _digest(view: memoryview, lo: int, hi: int) -> bytes:
    return hashlib.sha256(view[lo:hi]).digest()


def digest(raw: bytes, lo: int, hi: int) -> bytes:
    """The digest of the segment ``raw[lo:hi]``."""
    return _digest(memoryview(raw), lo, hi)


def item_blocks(
    raw: bytes, lo: int, hi: int, *, indent: str, first: int, size: int = BLOCK_BYTES
) -> tuple[list[int], list[bytes], list[int]]:
    """The items in ``raw[lo:hi]`` (which starts at an item, or is empty) in blocks of
    about ``size`` bytes: each block's start, digest and first item's index."""
    starts = item_start(indent)
    one = b"\n" + indent.encode() + b"-"
    view = memoryview(raw)
    bounds: list[int] = []
    digests: list[bytes] = []
    firsts: list[int] = []
    at = lo
    while at < hi:
        found = starts.search(raw, at + size - 1, hi) if at + size - 1 < hi else None
        end = found.start() + 1 if found else hi
        bounds.append(at)
        digests.append(_digest(view, at, end))
        firsts.append(first)
        # the items starting in the block: each one's line break is just before it
        first += raw.count(one + b" ", at - 1, end - 1) + raw.count(one + b"\n", at - 1, end - 1)
        at = end
    return bounds, digests, [*firsts, first]


def layout(
    raw: bytes, items_start: int, items_end: int, *, indent: str, size: int = BLOCK_BYTES
) -> Blocks:
    """The segments of a whole file whose items lie in ``raw[items_start:items_end]``."""
    view = memoryview(raw)
    bounds, digests, firsts = item_blocks(
        raw, items_start, items_end, indent=indent, first=0, size=size
    )
    return Blocks(
        array("q", [0, *bounds, items_end, len(raw)]),
        b"".join([_digest(view, 0, items_start), *digests, _digest(view, items_end, len(raw))]),
        array("q", [0, *firsts, firsts[-1]]),
        indent,
    )


def unchanged_ends(old: Blocks, raw: bytes) -> tuple[int, int]:
    """How many segments ``raw`` keeps from the start at their offsets, then how many
    before them it keeps from the end, shifted by the change in length (never
    overlapping the first ones, in the old text or the new)."""
    view = memoryview(raw)
    bounds, digests, count = old.bounds, old.digests, old.count
    lead = 0
    while lead < count:
        lo, hi = bounds[lead], bounds[lead + 1]
        short = hi > len(raw) or (lead == count - 1 and hi != len(raw))  # the tail ends it
        if short or _digest(view, lo, hi) != digests[lead * _DIGEST : (lead + 1) * _DIGEST]:
            break
        lead += 1
    shift = len(raw) - bounds[-1]
    floor = bounds[lead]  # where the unchanged start ends, in both texts
    trail = 0
    while trail < count - max(lead, 1):  # the head is only ever kept from the start
        j = count - 1 - trail
        lo, hi = bounds[j] + shift, bounds[j + 1] + shift
        if lo < floor or _digest(view, lo, hi) != digests[j * _DIGEST : (j + 1) * _DIGEST]:
            break
        trail += 1
    return lead, trail
