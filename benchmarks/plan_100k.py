"""How long planning takes: 100,000 milestones, 4 reminders each, over one year.

Usage: ``python -m benchmarks.plan_100k [N]``. Builds the config in memory (no
YAML: the loader has its own benchmark), then times :func:`scheduler.planning.resolve`
and :func:`scheduler.planning.plan` over a window that holds every reminder.
Milestones are spread over a year, across four zones, some of them chained
(``after:``), some recurring yearly. The target: a few seconds on a 2-core machine.

Both calls run inside :func:`scheduler.gc_pause.gc_paused`, as the commands and
the daemon call them (planning itself leaves the garbage collector alone).
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime, timedelta

from scheduler.durations import Duration
from scheduler.gc_pause import gc_paused
from scheduler.model import Config, Milestone
from scheduler.planning import plan, resolve

ZONES = ("Europe/Brussels", "America/New_York", "UTC", "Asia/Tokyo")
REMIND = tuple(Duration.parse(x) for x in ("30d", "7d", "1d", "0"))


def build(n: int, *, seed: int = 1) -> Config:
    rng = random.Random(seed)
    start = datetime(2027, 1, 1)
    milestones = []
    for i in range(n):
        kind = i % 20
        common = {
            "id": f"m{i}",
            "title": f"Milestone {i}",
            "timezone": ZONES[i % 4],
            "remind": REMIND,
            "notify": ("newsroom", "audit"),
        }
        if kind == 0 and i:
            milestones.append(Milestone(after=f"m{i - 1}", offset=Duration(days=3), **common))
        elif kind == 1:
            at = start + timedelta(days=rng.randrange(28))
            milestones.append(Milestone(at=at, rrule="FREQ=YEARLY", **common))
        else:
            at = start + timedelta(minutes=rng.randrange(330 * 24 * 60))
            milestones.append(Milestone(at=at, **common))
    return Config(milestones=tuple(milestones), channels={})


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    config = build(n)
    with gc_paused():
        c0, t0 = time.process_time(), time.perf_counter()
        resolved = resolve(config)
        c1, t1 = time.process_time(), time.perf_counter()
        reminders = plan(
            config,
            datetime(2026, 12, 1, tzinfo=UTC),
            datetime(2028, 1, 1, tzinfo=UTC),
            resolved=resolved,
        )
        c2, t2 = time.process_time(), time.perf_counter()
    print(
        f"{n} milestones: resolve {t1 - t0:.2f} s, plan {t2 - t1:.2f} s "
        f"({len(reminders)} reminders), total {t2 - t0:.2f} s wall, "
        f"{c2 - c0:.2f} s CPU (resolve {c1 - c0:.2f}, plan {c2 - c1:.2f})"
    )


if __name__ == "__main__":
    main()
