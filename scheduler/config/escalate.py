"""Validation of ``escalate`` lists, at ``defaults`` and milestone level (SPEC "Escalate").

Each entry is ``{at: OFFSET, notify: [channels]}``: the offset in the ``remind``
grammar (``1d`` before the occurrence, ``-2h`` after it, ``0`` at it) and the
channels alerted then if the occurrence is not acknowledged. Whether the channels
exist is checked across files, like ``notify``: the located names are returned.

Choices where SPEC.md is silent:

* a milestone's ``escalate`` replaces the file's ``defaults.escalate`` (as ``remind``
  does); ``escalate: []`` turns the defaults off for one milestone;
* two entries at the same offset are an error (say it once, with both channel lists);
* an entry must name at least one channel: an escalation to nobody is a mistake.
"""

from __future__ import annotations

from typing import Any

from scheduler.config.checker import Checker, DocPath
from scheduler.config.fields import notify_list
from scheduler.durations import Duration
from scheduler.model import Escalation

ENTRY_KEYS = frozenset({"at", "notify"})
# The escalations and the channel names they notify, each name with its document path.
Escalations = tuple[tuple[Escalation, ...], tuple[tuple[str, DocPath], ...]]


def escalate_list(checker: Checker, value: Any, path: DocPath) -> Escalations | None:
    """The escalations written at ``path`` (``None`` when the list itself is invalid)."""
    items = checker.sequence(value, path, "escalate")
    if items is None:
        return None
    out: list[Escalation] = []
    refs: list[tuple[str, DocPath]] = []
    seen: dict[Duration, int] = {}
    for i, item in enumerate(items):
        where: DocPath = (*path, i)
        body = checker.mapping(
            item, where, "escalate entry", allowed=ENTRY_KEYS, required=["at", "notify"]
        )
        if body is None or "at" not in body or "notify" not in body:
            continue
        at = checker.duration(body["at"], (*where, "at"), "escalate at", signed=True)
        names = notify_list(checker, body["notify"], (*where, "notify"))
        if names is not None:
            refs.extend(names)
            if not names:
                checker.fail((*where, "notify"), "escalate notify must name at least one channel")
                continue
        if at is None or names is None:
            continue
        if at in seen:
            checker.fail(
                (*where, "at"), f"duplicate escalation offset {at} (same as {path[-1]}[{seen[at]}])"
            )
            continue
        seen[at] = i
        out.append(Escalation(at=at, notify=tuple(name for name, _ in names)))
    return tuple(out), tuple(refs)
