"""Idle CPU of ``tminus run`` with many milestones loaded and nothing due.

Starts a real ``tminus run`` with N milestones (four reminders each, the first of them
beyond the two-day horizon: nothing is materialised, nothing falls due), waits until it
is ready and settled, then reads the process's CPU time (``utime + stime`` of
``/proc/PID/stat``, all threads) over a window and prints it as a percentage of one core
against the target. Context switches of all its threads are counted too: each is a
wake-up, the thing an idle daemon should not have.

    python -m benchmarks.idle                              # SQLite and PostgreSQL, 10k and 100k
    python -m benchmarks.idle --db sqlite --sizes 10000 --seconds 30

The machine is shared: another process's load shows as noise in the figures (mostly
upward, through cache and scheduler contention), so compare runs made side by side.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.databases import DEFAULT_SERVER
from benchmarks.scenarios import Database
from tests.support.daemon import DaemonProcess

TARGET_PERCENT = 0.2  # of one core, with 100,000 milestones loaded
FIRST_AT = timedelta(days=60)  # the first milestone: its 30d reminder is past the horizon
SPREAD = timedelta(days=365)  # milestones are spread over this


@dataclass(frozen=True)
class Usage:
    """CPU seconds and voluntary + involuntary context switches of a process so far."""

    cpu: float
    switches: int


def usage(pid: int) -> Usage:
    """Read ``/proc`` for ``pid``: CPU time of all its threads and their switches."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    after_name = stat[stat.rindex(")") + 2 :].split()
    ticks = int(after_name[11]) + int(after_name[12])  # utime, stime (fields 14, 15)
    switches = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            lines = (task / "status").read_text().splitlines()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        for line in lines:
            if line.split(":")[0].endswith("ctxt_switches"):
                switches += int(line.split()[1])
    return Usage(ticks / os.sysconf("SC_CLK_TCK"), switches)


def write_config(path: Path, count: int) -> None:
    """``count`` milestones far in the future, written as text (a YAML dump of 100,000
    milestones takes longer than the measurement)."""
    first = datetime.now(UTC).replace(microsecond=0) + FIRST_AT
    step = SPREAD / count
    lines = [
        "version: 1",
        "timezone: UTC",
        "defaults:",
        "  remind: [30d, 7d, 1d, '0']",
        "  notify: [hook]",
        "channels:",
        "  hook: {type: webhook, url: 'http://127.0.0.1:9/unused'}",
        "milestones:",
    ]
    for i in range(count):
        at = (first + step * i).replace(microsecond=0).isoformat()
        lines.append(f"  - {{id: m{i:07d}, title: Deadline {i}, at: '{at}'}}")
    path.write_text("\n".join(lines) + "\n")


def measure(db: Database, count: int, *, seconds: float, settle: float) -> tuple[float, float]:
    """CPU % of one core and context switches per second of an idle daemon."""
    with tempfile.TemporaryDirectory(prefix="tminus-idle-") as tmp, db.url(Path(tmp)) as url:
        workdir = Path(tmp)
        config = workdir / "milestones.yaml"
        write_config(config, count)
        daemon = DaemonProcess(workdir=workdir, config=config, database_url=url)
        try:
            daemon.start(timeout=600)
            time.sleep(settle)  # the start's tail (a first refill, GC) is not idling
            assert daemon.proc is not None
            pid = daemon.proc.pid
            before, t0 = usage(pid), time.monotonic()
            time.sleep(seconds)
            after, elapsed = usage(pid), time.monotonic() - t0
            if daemon.proc.poll() is not None:
                raise SystemExit(f"tminus run exited during the window:\n{daemon.log()}")
        finally:
            daemon.stop(timeout=60)
    percent = (after.cpu - before.cpu) / elapsed * 100
    return percent, (after.switches - before.switches) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.idle", description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--sizes", default="10000,100000", help="milestone counts, commas")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window")
    parser.add_argument("--settle", type=float, default=10.0, help="wait after ready")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL server URL")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"idle CPU over {args.seconds:g} s after ready (+{args.settle:g} s), {os.cpu_count()} cores"
    )
    print(f"{'store':<9} {'milestones':>10} {'cpu % core':>10} {'switches/s':>10}  target")
    for kind in kinds:
        for count in sizes:
            percent, switches = measure(
                Database(kind, args.server), count, seconds=args.seconds, settle=args.settle
            )
            verdict = "met" if percent < TARGET_PERCENT else "missed"
            print(
                f"{kind:<9} {count:>10,} {percent:>10.3f} {switches:>10.1f}"
                f"  < {TARGET_PERCENT:g} % {verdict}",
                flush=True,
            )


if __name__ == "__main__":
    main()
