"""A process's main-thread CPU time as a function of wall time, to read lateness in CPU.

On a shared machine a daemon waiting for a core makes every wall-clock lateness longer,
whatever it does. The CPU its event loop (the main thread) spent between a reminder's
due time and its arrival is the work that went ahead of it: the figure the machine's
other load disturbs least. :class:`CpuTimeline` samples ``/proc/PID/schedstat`` (the
main thread's run time, in nanoseconds) on a thread of its own; :meth:`CpuTimeline.at`
interpolates between samples.
"""

from __future__ import annotations

import bisect
import threading
import time
from pathlib import Path
from types import TracebackType

SAMPLE_EVERY = 0.002  # seconds


class CpuTimeline:
    """Samples of (wall time, main-thread CPU seconds) of ``pid`` while in a ``with``."""

    def __init__(self, pid: int) -> None:
        self._path = Path(f"/proc/{pid}/schedstat")
        self._walls: list[float] = []
        self._cpus: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ns = int(self._path.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                return  # the process ended
            self._walls.append(time.time())
            self._cpus.append(ns / 1e9)
            time.sleep(SAMPLE_EVERY)

    def __enter__(self) -> CpuTimeline:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(5)

    def at(self, wall: float) -> float:
        """Main-thread CPU seconds used by ``wall`` (interpolated; clamped at the ends)."""
        walls, cpus = self._walls, self._cpus
        if not walls:
            return float("nan")
        i = bisect.bisect_left(walls, wall)
        if i <= 0:
            return cpus[0]
        if i >= len(walls):
            return cpus[-1]
        w0, w1, c0, c1 = walls[i - 1], walls[i], cpus[i - 1], cpus[i]
        return c0 + (c1 - c0) * (wall - w0) / (w1 - w0) if w1 > w0 else c1

    def between_ms(self, start: float, end: float) -> float:
        """Main-thread CPU milliseconds spent from wall time ``start`` to ``end``."""
        return (self.at(end) - self.at(start)) * 1000
