"""What noticing moved deadlines costs a reload of 100,000 milestones.

Usage: ``python -m benchmarks.moves_100k [N] [MOVED]``. Builds the config of
:mod:`benchmarks.plan_100k` (``N`` milestones), then a second one where ``MOVED``
plain milestones moved by a day, and times what a reload adds: finding the milestones
whose instants changed (:func:`scheduler.moves.changed_instants`, over all of them) and
pairing what their channels were told (every reminder sent, 4 × 2 channels each) with
their new instants (:func:`scheduler.moves.detect_moves`). Also planning the year with
a two-entry ``escalate`` on every milestone, beside planning without it.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from benchmarks.plan_100k import build
from scheduler.durations import Duration
from scheduler.gc_pause import gc_paused
from scheduler.model import AlertKind, Config, Escalation
from scheduler.moves import Told, changed_instants, detect_moves
from scheduler.planning import plan, resolve

ESCALATE = (
    Escalation(Duration.parse("1d"), ("phones",)),
    Escalation(Duration.parse("-2h"), ("phones", "audit")),
)
YEAR = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))


def _timed(label: str, work: object) -> object:
    started, cpu = time.perf_counter(), time.process_time()
    result = work() if callable(work) else work
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"{label}: {wall:.3f} s wall, {cpu:.3f} s CPU")
    return result


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    moved_count = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000
    config = build(n)
    plain = [m for m in config.milestones if m.after is None and m.rrule is None]
    chosen = {m.id for m in plain[:moved_count]}
    edited = Config(
        milestones=tuple(
            replace(m, at=m.at + timedelta(days=1)) if m.id in chosen and m.at else m
            for m in config.milestones
        ),
        channels={},
    )
    with gc_paused():
        old = resolve(config)
        new = resolve(edited)
        changed = _timed("changed_instants", lambda: changed_instants(old, new))
        assert isinstance(changed, set)
        told = [
            Told(mid, channel, old[mid].at, AlertKind.REMINDER, at=old[mid].at)
            for mid in changed
            for channel in ("newsroom", "audit")
            for _ in range(4)
        ]
        moves = _timed(
            f"detect_moves ({len(changed)} milestones changed, {len(told)} sent deliveries)",
            lambda: detect_moves(
                told, new, channels=("newsroom", "audit"), since=datetime(2026, 12, 1, tzinfo=UTC)
            ),
        )
        assert isinstance(moves, list)
        print(f"  {len(moves)} notices")
        _timed("plan a year, reminders only", lambda: plan(config, *YEAR, resolved=old))
        escalating = Config(
            milestones=tuple(replace(m, escalate=ESCALATE) for m in config.milestones),
            channels={},
        )
        alerts = _timed(
            "plan a year, reminders and 2 escalations each",
            lambda: plan(escalating, *YEAR, resolved=resolve(escalating)),
        )
        assert isinstance(alerts, list)
        print(f"  {len(alerts)} alerts")


if __name__ == "__main__":
    main()
