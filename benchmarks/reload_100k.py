"""What a one-milestone edit costs a reload of a large config, incremental against full.

Usage: ``python -m benchmarks.reload_100k [--incremental-only] [N ...]`` (default 10000
100000; ``--incremental-only`` leaves out the full loads and the full reload, which take
minutes at 1,000,000). For each N:

* in this process, side by side on the same files: the full load
  (:func:`scheduler.config.load_config`) against the incremental one
  (:class:`scheduler.config.incremental.IncrementalLoader`) of a config where one
  milestone's ``at`` changed; then, on a SQLite store, a full reconcile against one of
  the changed milestones only (:class:`scheduler.reconciler.Reconciler`);
* end to end, a real ``tminus run``: the time from writing the edited file (and a
  SIGHUP) to the ``config reloaded`` log line, with the ``ms`` the daemon logs for its
  reload and its reconcile; once for a one-milestone edit (incremental), once for an
  edit that also adds a channel (channels changed: a full load and a full reconcile);
  then once written without a SIGHUP, as an editor saves it: the file watcher's share
  (from the write to its ``reloading config``, its debounce included) is printed apart.

Milestones are spread over the next year, four reminders each, two channels.
"""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scheduler.config import load_config
from scheduler.config.incremental import IncrementalLoader
from scheduler.reconciler import Reconciler
from scheduler.store import Store
from tests.delivery.helpers import direct
from tests.support.daemon import DaemonProcess
from tests.support.reconciling import FakeDispatcher

HEADER = """\
version: 1
defaults:
  remind: [30d, 7d, 1d, 0]
  notify: [hook, audit]
channels:
  hook:
    type: webhook
    url: http://127.0.0.1:9/unused
  audit:
    type: webhook
    url: http://127.0.0.1:9/audit
{extra}milestones:
"""
SPARE = "  spare:\n    type: webhook\n    url: http://127.0.0.1:9/spare\n"


def generate(n: int, now: datetime, *, moved: int | None = None, spare: bool = False) -> str:
    """``n`` milestones over the next year; ``moved`` is one hour later than the rest
    would put it; every tenth follows the one before it."""
    parts = [HEADER.format(extra=SPARE if spare else "")]
    for i in range(n):
        parts.append(f"  - id: deadline-{i:06d}\n    title: Filing deadline {i}\n")
        if i % 10 == 9:
            parts.append(f"    after: deadline-{i - 1:06d}\n    offset: 2d\n")
        else:
            at = now + timedelta(minutes=10 + i * 525_600 // n + (60 if i == moved else 0))
            parts.append(f"    at: {at.replace(tzinfo=None).isoformat()}\n")
    return "".join(parts)


def timed(work: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def in_process(n: int, tmp: Path, now: datetime, *, full_too: bool) -> None:
    path = tmp / "inproc.yaml"
    path.write_text(generate(n, now))
    loader = IncrementalLoader()
    first_s, before = timed(lambda: loader.load(path, env=os.environ))
    moved = n // 2 if (n // 2) % 10 != 9 else n // 2 + 1
    path.write_text(generate(n, now, moved=moved))
    full_s, full = timed(lambda: load_config(path)) if full_too else (float("nan"), None)
    cpu = time.process_time()
    inc_s, after = timed(lambda: loader.load(path, env=os.environ))
    cpu = time.process_time() - cpu
    assert (after == full or not full_too) and loader.reused == n - 1
    print(
        f"  load, first: {first_s:.3f} s; one edit: full {full_s:.3f} s, "
        f"incremental {inc_s:.3f} s ({cpu:.3f} s CPU)"
    )

    async def reconciles() -> tuple[float, float]:
        timings = [] if full_too else [float("nan")]
        for changed_only in (False, True) if full_too else (True,):
            store = Store.open(f"sqlite:///{tmp}/inproc-{changed_only}.db")
            store.upgrade()
            reconciler = Reconciler(store=store, db=direct, dispatcher=FakeDispatcher())  # type: ignore[arg-type]
            await reconciler.reconcile(before, now=now, acknowledged=_none, changed_only=False)
            started = time.perf_counter()
            await reconciler.reconcile(
                after, now=now, acknowledged=_none, changed_only=changed_only
            )
            timings.append(time.perf_counter() - started)
            store.close()
        return timings[0], timings[1]

    full_r, inc_r = asyncio.run(reconciles())
    print(f"  reconcile after the edit: full {full_r:.3f} s, changed only {inc_r:.3f} s")


def _none(milestone_id: str, occurrence: datetime) -> None:
    return None


def end_to_end(n: int, tmp: Path, now: datetime, *, full_too: bool) -> None:
    path = tmp / "tminus.yaml"
    path.write_text(generate(n, now))
    daemon = DaemonProcess(tmp, path, f"sqlite:///{tmp}/daemon.db")
    started = time.monotonic()
    daemon.start(timeout=600)
    print(f"  tminus run ready in {time.monotonic() - started:.2f} s")
    try:
        edits = [("one milestone (incremental)", n // 2 + 3, False)]
        if full_too:
            edits.append(("one milestone and a new channel (full)", n // 2 + 3, True))
        edits.append(("one milestone again (incremental)", n // 2 + 4, full_too))
        for label, moved, spare in edits:
            before = len(daemon._events_named("config reloaded"))
            watched = len(daemon._watcher_reloads())
            text = generate(n, now, moved=moved if moved % 10 != 9 else moved + 1, spare=spare)
            tmp_file = path.with_suffix(".tmp")
            tmp_file.write_text(text)
            written, cpu = time.monotonic(), _cpu(daemon)
            tmp_file.replace(path)
            daemon.signal(signal.SIGHUP)
            daemon.wait_log("config reloaded", count=before + 1, timeout=600)
            wall, cpu = time.monotonic() - written, _cpu(daemon) - cpu
            events = daemon.events()
            at = [i for i, e in enumerate(events) if e.get("event") == "config reloaded"][before]
            line = events[at]
            reconciled = [e for e in events[:at] if e.get("event") == "reconciled"][-1]
            print(
                f"  {label}: write to 'config reloaded' {wall:.3f} s (polled every 50 ms), "
                f"daemon CPU {cpu:.2f} s; "
                f"daemon: reload {line.get('ms')} ms, reused {line.get('reused')}, "
                f"reconcile {reconciled.get('ms')} ms scope={reconciled.get('scope')} "
                f"changed={reconciled.get('changed')}"
            )
            daemon.wait_reloads_settled(watcher_reloads=watched + 1, timeout=600)
        moved = n // 2 + 5 + (n // 2 + 5) % 10 // 9  # not a follower
        watched_write(daemon, path, generate(n, now, moved=moved, spare=full_too))
    finally:
        daemon.stop(timeout=120)


def watched_write(daemon: DaemonProcess, path: Path, text: str) -> None:
    """An edit saved without a SIGHUP: the file watcher's debounce, then the reload."""
    before = len(daemon._events_named("config reloaded"))
    tmp_file = path.with_suffix(".tmp")
    tmp_file.write_text(text)
    written_wall, written = time.time(), time.monotonic()
    tmp_file.replace(path)
    line = daemon.wait_log("config reloaded", count=before + 1, timeout=600)[before]
    wall = time.monotonic() - written
    heard = next(e for e in daemon._watcher_reloads() if _ts(e) >= written_wall - 0.01)
    print(
        f"  one milestone saved, no SIGHUP: write to 'config reloaded' {wall:.3f} s, of which "
        f"the watcher until 'reloading config' {_ts(heard) - written_wall:.3f} s; "
        f"reload {line.get('ms')} ms"
    )


def _cpu(daemon: DaemonProcess) -> float:
    """The daemon's CPU time so far (user + system, all threads; 10 ms ticks)."""
    assert daemon.proc is not None
    fields = Path(f"/proc/{daemon.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ts(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(event["ts"]).replace("Z", "+00:00")).timestamp()


def main() -> None:
    args = sys.argv[1:]
    full_too = "--incremental-only" not in args
    sizes = [int(a) for a in args if not a.startswith("--")] or [10_000, 100_000]
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    now = datetime.now(UTC).replace(microsecond=0)
    for n in sizes:
        print(f"{n} milestones:")
        with tempfile.TemporaryDirectory() as tmp:
            in_process(n, Path(tmp), now, full_too=full_too)
            end_to_end(n, Path(tmp), now, full_too=full_too)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  (this process's peak RSS so far: {peak:.0f} MiB)")


if __name__ == "__main__":
    main()
