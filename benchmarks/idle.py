"""Idle CPU of ``tminus run`` with many milestones loaded and nothing due.

Starts a real ``tminus run`` with N milestones (four reminders each, the first of them
beyond the two-day horizon: nothing is materialised, nothing falls due), waits until it
is ready and settled, then reads the process's CPU time (``utime + stime`` of
``/proc/PID/stat``, all threads) over a window and prints it as a percentage of one core
against the target. Context switches of all its threads are counted too: each is a
wake-up, the thing an idle daemon should not have. ``--threads`` adds each thread's
share (``/proc/PID/task/*/schedstat``: nanoseconds on a CPU, finer than the 10 ms
ticks of ``stat``) and its switches, to see which one still wakes.

    python -m benchmarks.idle                              # SQLite and PostgreSQL, 10k and 100k
    python -m benchmarks.idle --db sqlite --sizes 10000 --seconds 30
    python -m benchmarks.idle --db postgres --sizes 100000 --threads

The machine is shared: another process's load shows as noise in the figures (mostly
upward, through cache and scheduler contention), so compare runs made side by side.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
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


@dataclass(frozen=True)
class ThreadUsage:
    """One thread's name, nanoseconds on a CPU and context switches so far."""

    name: str
    cpu_ns: int
    switches: int


def thread_usage(pid: int) -> dict[int, ThreadUsage]:
    """Per thread of ``pid`` (by thread id): its name, CPU time and switches."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            cpu_ns = int((task / "schedstat").read_text().split()[0])
            lines = (task / "status").read_text().splitlines()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        switches = sum(
            int(ln.split()[1]) for ln in lines if ln.split(":")[0].endswith("ctxt_switches")
        )
        found[int(task.name)] = ThreadUsage(name, cpu_ns, switches)
    return found


def python_thread_names(pid: int) -> dict[int, str]:
    """Python's names of the threads of ``pid``, by thread id, from ``py-spy dump`` (if
    installed beside this Python: it is not a project dependency); the kernel knows
    them all as ``tminus``."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        return {}
    out = subprocess.run(
        [str(spy), "dump", "--pid", str(pid)], capture_output=True, text=True, check=False
    ).stdout
    return {int(m[1]): m[2] for m in re.finditer(r'^Thread (\d+) .*"(.*)"$', out, re.M)}


def thread_report(
    before: dict[int, ThreadUsage],
    after: dict[int, ThreadUsage],
    elapsed: float,
    names: dict[int, str],
) -> list[str]:
    """Lines of per-thread-name CPU % of one core and switches per second, busiest first
    (threads of one name, such as the database pool's, added up)."""
    by_name: dict[str, list[float]] = {}
    for tid, now in after.items():
        then = before.get(tid, ThreadUsage(now.name, 0, 0))
        name = re.sub(r"_\d+$", "", names.get(tid, now.name))  # a pool's threads: one row
        row = by_name.setdefault(name, [0.0, 0.0, 0])
        row[0] += (now.cpu_ns - then.cpu_ns) / 1e9 / elapsed * 100
        row[1] += (now.switches - then.switches) / elapsed
        row[2] += 1
    rows = sorted(by_name.items(), key=lambda kv: -kv[1][0])
    return [f"    {name:<18} x{n:<2.0f} {cpu:8.3f} % {sw:8.2f}/s" for name, (cpu, sw, n) in rows]


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


def measure(
    db: Database, count: int, *, seconds: float, settle: float
) -> tuple[float, float, list[str]]:
    """CPU % of one core, context switches per second of an idle daemon, and the
    per-thread lines of :func:`thread_report`."""
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
            threads_before = thread_usage(pid)
            before, t0 = usage(pid), time.monotonic()
            time.sleep(seconds)
            after, elapsed = usage(pid), time.monotonic() - t0
            names = python_thread_names(pid)
            threads = thread_report(threads_before, thread_usage(pid), elapsed, names)
            if daemon.proc.poll() is not None:
                raise SystemExit(f"tminus run exited during the window:\n{daemon.log()}")
        finally:
            daemon.stop(timeout=60)
    percent = (after.cpu - before.cpu) / elapsed * 100
    return percent, (after.switches - before.switches) / elapsed, threads


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.idle", description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--sizes", default="10000,100000", help="milestone counts, commas")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window")
    parser.add_argument("--settle", type=float, default=10.0, help="wait after ready")
    parser.add_argument("--threads", action="store_true", help="print each thread's share")
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
            percent, switches, threads = measure(
                Database(kind, args.server), count, seconds=args.seconds, settle=args.settle
            )
            verdict = "met" if percent < TARGET_PERCENT else "missed"
            print(
                f"{kind:<9} {count:>10,} {percent:>10.3f} {switches:>10.1f}"
                f"  < {TARGET_PERCENT:g} % {verdict}",
                flush=True,
            )
            if args.threads:
                print("\n".join(threads), flush=True)


if __name__ == "__main__":
    main()
